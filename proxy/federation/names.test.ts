import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exposeName, namesArePrefixed, prefixName, resolveName, splitPrefixedName } from './names.ts';
import { unwrapUri, wrapContentUris, wrapUri } from './resource-uris.ts';

const splits: Array<[string, { target: string; name: string } | undefined]> = [
  ['mcp-server-everything-3001_echo', { target: 'mcp-server-everything-3001', name: 'echo' }],
  ['mcp-server-everything-3001_get-sum', { target: 'mcp-server-everything-3001', name: 'get-sum' }],
  // the split is on the FIRST `_`: tool names keep theirs
  ['fetcher_fetch_all_pages', { target: 'fetcher', name: 'fetch_all_pages' }],
  ['a__b', { target: 'a', name: '_b' }],
  ['noseparator', undefined],
  ['_leading', undefined],
  ['trailing_', undefined],
  ['', undefined],
];
for (const [exposed, expected] of splits) {
  test(`split ${JSON.stringify(exposed)}`, () => assert.equal(splitPrefixedName(exposed), expected));
}

test('prefixName and split round-trip', () => {
  for (const [target, name] of [['t', 'x'], ['mcp-website-fetcher-80', 'fetch'], ['t-1', 'a_b_c']] as const) {
    assert.equal(splitPrefixedName(prefixName(target, name)), { target, name });
  }
});

test('prefix modes: always prefixes; conditional only with more than one target; never does not', () => {
  assert.is(namesArePrefixed('always', 1), true);
  assert.is(namesArePrefixed('always', 3), true);
  assert.is(namesArePrefixed('conditional', 1), false);
  assert.is(namesArePrefixed('conditional', 2), true);
  assert.is(namesArePrefixed('never', 1), false);
  assert.is(namesArePrefixed('never', 2), false);
  assert.is(exposeName(true, 't', 'echo'), 't_echo');
  assert.is(exposeName(false, 't', 'echo'), 'echo');
});

test('resolveName: unprefixed names belong to the only target', () => {
  assert.equal(resolveName(false, 'only', 'my_tool'), { target: 'only', name: 'my_tool' });
  assert.is(resolveName(false, undefined, 'x'), undefined);
  assert.is(resolveName(false, 'only', ''), undefined);
  assert.equal(resolveName(true, undefined, 'b_x_y'), { target: 'b', name: 'x_y' });
  assert.is(resolveName(true, 'a', 'plain'), undefined);
});

const uris: Array<[string, string, string]> = [
  ['mcp-server-everything-3001', 'demo://resource/static/document/architecture.md', 'mcp-server-everything-3001+demo://resource/static/document/architecture.md'],
  ['t', 'demo://resource/dynamic/text/{resourceId}', 't+demo://resource/dynamic/text/{resourceId}'],
  // a `+` in the upstream URI survives: the first `+` is ours
  ['t', 'git+ssh://host/repo', 't+git+ssh://host/repo'],
  ['t', 'file:///a+b.txt', 't+file:///a+b.txt'],
];
for (const [target, uri, wrapped] of uris) {
  test(`uri ${uri} round-trips`, () => {
    assert.is(wrapUri(true, target, uri), wrapped);
    assert.equal(unwrapUri(true, undefined, wrapped), { target, uri });
  });
}

test('uris are left alone when names are not prefixed', () => {
  assert.is(wrapUri(false, 't', 'demo://x'), 'demo://x');
  assert.equal(unwrapUri(false, 't', 'demo://x'), { target: 't', uri: 'demo://x' });
  assert.is(unwrapUri(false, undefined, 'demo://x'), undefined);
  assert.is(unwrapUri(true, 't', 'demo://x'), undefined);
  assert.is(unwrapUri(true, 't', '+demo://x'), undefined);
});

test('wrapContentUris wraps resource links and embedded resources only', () => {
  const blocks = [
    { type: 'text', text: 'hi' },
    { type: 'resource_link', uri: 'demo://a', name: 'a' },
    { type: 'resource', resource: { uri: 'demo://b', text: 'b' } },
    null,
  ];
  wrapContentUris(true, 't', blocks);
  assert.equal(blocks, [
    { type: 'text', text: 'hi' },
    { type: 'resource_link', uri: 't+demo://a', name: 'a' },
    { type: 'resource', resource: { uri: 't+demo://b', text: 'b' } },
    null,
  ]);
  const untouched = [{ type: 'resource_link', uri: 'demo://a' }];
  wrapContentUris(false, 't', untouched);
  assert.is(untouched[0]!.uri, 'demo://a');
});

test.run();
