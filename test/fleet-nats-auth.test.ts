// A NATS that wants credentials: the replica joins with those in its --nats URL, and refuses to
// start, saying why, without them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Fleet } from '../proxy/fleet/fleet.ts';
import { McpmuxError } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import { startNatsServer, type NatsServer } from './support/nats.ts';

let nats: NatsServer;
const logger = createLogger('test', { level: 'silent' });

test.before(async () => {
  nats = await startNatsServer(['--user', 'mcpmux', '--pass', 'n4ts-secret']);
});

test.after(async () => {
  await nats?.destroy();
});

test('credentials in the URL let a replica join; none, or wrong ones, stop it with a clear error', async () => {
  const withCredentials = nats.url.replace('nats://', 'nats://mcpmux:n4ts-secret@');
  const fleet = await Fleet.open({ servers: withCredentials, replicaId: 'auth-a', idleTtlMs: 60_000, logger });
  try {
    await fleet.create({ id: 'auth-session', owner: fleet.owner, routePrefix: '/mcp', transport: 'streamable-http', upstreams: {} });
    assert.is((await fleet.load('auth-session', { fresh: true }))?.value.owner, fleet.owner, 'the record went through the authenticated connection');
  } finally {
    await fleet.close();
  }
  for (const servers of [nats.url, nats.url.replace('nats://', 'nats://mcpmux:wrong@')]) {
    try {
      await Fleet.open({ servers, replicaId: 'auth-b', idleTtlMs: 60_000, logger });
      assert.unreachable(`joined with ${servers}`);
    } catch (error) {
      assert.instance(error, McpmuxError);
      assert.is((error as McpmuxError).code, 'MCPMUX_FLEET_UNAVAILABLE');
      assert.match((error as Error).message, /AUTHORIZATION_VIOLATION|Authorization/i);
    }
  }
});

test.run();
