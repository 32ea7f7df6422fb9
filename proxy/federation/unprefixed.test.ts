import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileToolFilter } from './tool-filter.ts';
import { mergeUnprefixed, ownersOf, templateMatcher, uriOwners } from './unprefixed.ts';

const pages = () => [
  { target: 'a', items: [{ name: 'echo' }, { name: 'only-a' }, { name: 'echo' }], nextCursor: undefined },
  { target: 'b', items: [{ name: 'echo' }, { name: 'only-b' }, { nope: 1 }], nextCursor: undefined },
  { target: 'c', items: [{ name: 'only-c' }], nextCursor: undefined },
];

test('never: names kept as they are; a name two targets share is left out and reported', () => {
  const merged = mergeUnprefixed('tools', pages());
  assert.equal(merged.result, { tools: [{ name: 'only-a' }, { name: 'only-b' }, { name: 'only-c' }] });
  assert.equal(merged.collisions, [{ key: 'echo', targets: ['a', 'b'] }]);
  assert.equal(merged.owners.get('only-b'), ['b']);
});

test('never: the tool filter applies to the names as clients see them', () => {
  const merged = mergeUnprefixed('tools', pages(), compileToolFilter(['only-*'], ['only-c']));
  assert.equal(merged.result, { tools: [{ name: 'only-a' }, { name: 'only-b' }] });
});

test('never: resources by URI, templates by template', () => {
  const owners = ownersOf('resources', [
    { target: 'a', items: [{ uri: 'file:///x' }], nextCursor: undefined },
    { target: 'b', items: [{ uri: 'file:///x' }, { uri: 'demo://b' }], nextCursor: undefined },
  ]);
  assert.equal([...owners], [['file:///x', ['a', 'b']], ['demo://b', ['b']]]);
});

const templates: Array<[string, string, boolean]> = [
  ['demo://resource/dynamic/text/{resourceId}', 'demo://resource/dynamic/text/7', true],
  ['demo://resource/dynamic/text/{resourceId}', 'demo://resource/dynamic/text/7/8', false],
  ['file:///{+path}', 'file:///a/b/c.txt', true],
  ['weather://{city}/now', 'weather://paris/now', true],
  ['weather://{city}/now', 'weather://paris/later', false],
  ['a.b/{x}', 'axb/1', false],
];
for (const [template, uri, expected] of templates) {
  test(`template ${template} ${expected ? 'matches' : 'does not match'} ${uri}`, () => assert.is(templateMatcher(template).test(uri), expected));
}

test('uriOwners: listed resources first, then templates that match', () => {
  const resources = new Map([['demo://listed', ['a']]]);
  const templated = new Map([['demo://t/{id}', ['b']], ['demo://{any}/{id}', ['c']]]);
  assert.equal(uriOwners('demo://listed', resources, templated), ['a']);
  assert.equal(uriOwners('demo://t/1', resources, templated), ['b', 'c']);
  assert.equal(uriOwners('demo://t/{id}', resources, templated), ['b']);
  assert.equal(uriOwners('other://x', resources, templated), []);
});

test.run();
