import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { McpmuxError } from '../errors.ts';
import { natsConnectionOptions } from './nats-connect.ts';

test('credentials are lifted out of the URLs; several servers; TLS from tls:// or a CA', () => {
  const plain = natsConnectionOptions({ servers: 'nats://127.0.0.1:4222, nats-2:4222' }, 'n');
  assert.equal(plain.servers, ['nats://127.0.0.1:4222', 'nats://nats-2:4222']);
  assert.is(plain.user, undefined);
  assert.is(plain.tls, undefined);
  const user = natsConnectionOptions({ servers: 'nats://mcp%40mux:p%3Ass@nats:4222' }, 'n');
  assert.equal([user.servers, user.user, user.pass], [['nats://nats:4222'], 'mcp@mux', 'p:ss']);
  const token = natsConnectionOptions({ servers: 'tls://s3cret@nats:4222', caFile: '/etc/nats/ca.pem' }, 'n');
  assert.equal([token.servers, token.token, token.tls], [['tls://nats:4222'], 's3cret', { caFile: '/etc/nats/ca.pem' }]);
});

test('bad input is a usage error naming the flag', () => {
  for (const [access, flag] of [
    [{ servers: ' , ' }, '--nats'],
    [{ servers: 'nats://[bad' }, '--nats'],
    [{ servers: 'nats://n:4222', credsFile: '/nonexistent/x.creds' }, '--nats-creds'],
  ] as const) {
    try {
      natsConnectionOptions(access, 'n');
      assert.unreachable(`${JSON.stringify(access)} was accepted`);
    } catch (error) {
      assert.instance(error, McpmuxError);
      assert.is((error as McpmuxError).code, 'MCPMUX_USAGE');
      assert.match((error as Error).message, flag);
    }
  }
});

test.run();
