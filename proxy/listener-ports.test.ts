import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { McpmuxError } from '../shared/errors.ts';
import { parseListenerPorts } from './listener-ports.ts';

test('GATEWAY_PORT=PORT pairs, comma-separated; empty means none given', () => {
  assert.equal(parseListenerPorts('80=8080, 443=8443'), new Map([[80, 8080], [443, 8443]]));
  assert.equal(parseListenerPorts('443=443,8443=0,9443=0'), new Map([[443, 443], [8443, 0], [9443, 0]]));
  assert.is(parseListenerPorts(''), undefined);
  assert.is(parseListenerPorts(' , '), undefined);
});

test('malformed entries, a Gateway port twice, two Gateway ports on one port: usage errors naming them', () => {
  const cases: Array<[string, RegExp]> = [
    ['80', /"80" is not GATEWAY_PORT=PORT/],
    ['80:8080', /"80:8080" is not GATEWAY_PORT=PORT/],
    ['0=8080', /"0=8080" is not/],
    ['80=70000', /"80=70000" is not/],
    ['80=8080,80=9090', /Gateway port 80 is given twice/],
    ['80=8080,443=8080', /port 8080 would serve two Gateway ports/],
  ];
  for (const [value, message] of cases) {
    try {
      parseListenerPorts(value);
      assert.unreachable(`${value} parsed`);
    } catch (error) {
      assert.instance(error, McpmuxError);
      assert.is((error as McpmuxError).code, 'MCPMUX_USAGE');
      assert.match((error as Error).message, message);
    }
  }
});

test.run();
