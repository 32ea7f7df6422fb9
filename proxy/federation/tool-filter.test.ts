import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileToolFilter, globToRegExp } from './tool-filter.ts';

const globs: Array<[string, string, boolean]> = [
  ['*', 'anything_at_all', true],
  ['a_*', 'a_echo', true],
  ['a_*', 'b_echo', false],
  ['*_echo', 'mcp-server-everything-3001_echo', true],
  ['*_echo', 'a_echo2', false],
  ['a_ech?', 'a_echo', true],
  ['a_ech?', 'a_ech', false],
  ['a.b', 'a.b', true],
  ['a.b', 'axb', false], // `.` is literal
  ['get-(sum)', 'get-(sum)', true],
  ['x[1]', 'x[1]', true],
  ['', '', true],
];
for (const [glob, name, expected] of globs) {
  test(`glob ${JSON.stringify(glob)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(name)}`, () => assert.is(globToRegExp(glob).test(name), expected));
}

const filters: Array<[string, string[], string[], Record<string, boolean>]> = [
  ['include only', ['a_*'], [], { a_echo: true, b_echo: false }],
  ['exclude only', [], ['*_get-env'], { a_echo: true, 'a_get-env': false }],
  ['exclude wins over include', ['a_*'], ['a_secret*'], { a_echo: true, a_secret: false, 'a_secret-2': false, b_echo: false }],
  ['several includes', ['a_echo', 'b_*'], [], { a_echo: true, a_other: false, b_x: true }],
  ['empty globs are ignored', [''], [''], { anything: true }],
];
for (const [name, include, exclude, expectations] of filters) {
  test(`filter: ${name}`, () => {
    const filter = compileToolFilter(include, exclude);
    for (const [tool, allowed] of Object.entries(expectations)) assert.is(filter ? filter.allows(tool) : true, allowed, tool);
  });
}

test('no globs: no filter at all', () => assert.is(compileToolFilter([], []), undefined));

test.run();
