// Convergence (mcpmux_convergence_seconds) at fleet size: every ACK asks whether all connected
// proxies of its Gateway now run the version, and that must cost O(1) (counts kept per group), not a
// copy of the whole proxy registry: with N proxies that was O(N) per ACK, O(N²) per push.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { createLogger } from '../shared/log.ts';
import { serviceClient } from '../shared/proto/load.ts';
import type { DiscoveryRequest, DiscoveryResponse } from '../shared/proto/messages.ts';
import { startControlPlane } from '../control-plane/control-plane.ts';
import { ProxyRegistry } from '../control-plane/discovery/proxies.ts';
import { FilesSource } from '../control-plane/sources/files.ts';
import { ROOT, until } from './support/processes.ts';

const logger = createLogger('test', { level: process.env.MCPMUX_LOG_LEVEL ?? 'silent' });
const GROUP = 'agentgateway-system/mcp-gateway';
const PROXIES = Number(process.env.MCPMUX_CONVERGENCE_PROXIES ?? 300);

type RawStream = grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
const request = (nodeId: string, fields: Partial<DiscoveryRequest> = {}): DiscoveryRequest => ({
  node: { id: nodeId, metadata: {} }, group: GROUP, versionInfo: '', responseNonce: '', errorDetail: null, ...fields,
});

async function convergenceCount(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('mcpmux_convergence_seconds_count') && l.includes(`group="${GROUP}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

test(`${PROXIES} proxies ACK a version: the registry is never copied, convergence is observed once, at the last ACK`, async () => {
  // Every copy of the registry (list(): one object per proxy) is counted.
  let copies = 0;
  const list = ProxyRegistry.prototype.list;
  ProxyRegistry.prototype.list = function (this: ProxyRegistry) {
    copies++;
    return list.call(this);
  };
  const cp = await startControlPlane({
    source: new FilesSource({ dir: join(ROOT, 'deploy/examples/tutorial'), logger }),
    gatewayClasses: ['agentgateway'], address: '127.0.0.1', grpcPort: 0, httpPort: 0, eventLogRetention: 1000, logger,
  });
  const Client = serviceClient('DiscoveryService');
  const client = new Client(`127.0.0.1:${cp.grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { StreamSnapshots(): RawStream };
  const streams: Array<{ stream: RawStream; responses: DiscoveryResponse[] }> = [];
  try {
    const version = cp.cache.get(GROUP)!.version;
    for (let i = 0; i < PROXIES; i++) {
      const stream = client.StreamSnapshots();
      const responses: DiscoveryResponse[] = [];
      stream.on('data', (r: DiscoveryResponse) => responses.push(r));
      stream.on('error', () => {});
      stream.write(request(`proxy-${i}`));
      streams.push({ stream, responses });
    }
    await until(() => streams.every((s) => s.responses.length === 1), 'every proxy pushed', 20_000);
    copies = 0;
    const started = performance.now();
    for (const [i, s] of streams.slice(0, -1).entries()) s.stream.write(request(`proxy-${i}`, { versionInfo: version, responseNonce: s.responses[0]!.nonce }));
    await until(() => countAcked(cp.proxies, version) === PROXIES - 1, 'all but one ACKed', 20_000);
    assert.is(await convergenceCount(cp.httpPort), 0, 'not converged while one proxy has not ACKed');
    const last = streams.at(-1)!;
    last.stream.write(request(`proxy-${PROXIES - 1}`, { versionInfo: version, responseNonce: last.responses[0]!.nonce }));
    await until(async () => (await convergenceCount(cp.httpPort)) === 1, 'convergence observed', 5000);
    const ms = performance.now() - started;
    console.log(`${PROXIES} ACKs handled in ${ms.toFixed(0)} ms (${((ms * 1000) / PROXIES).toFixed(0)} µs per ACK, gRPC round trips included); registry copies: ${copies}`);
    assert.is(copies, 0, `the registry was copied ${copies} times while ${PROXIES} proxies ACKed`);
  } finally {
    ProxyRegistry.prototype.list = list;
    for (const s of streams) s.stream.cancel();
    client.close();
    await cp.close();
  }
});

/** How many connected proxies ACKed `version` (by their records: for waiting only). */
function countAcked(proxies: ProxyRegistry, version: string): number {
  let n = 0;
  for (let i = 0; i < PROXIES; i++) if (proxies.get(`proxy-${i}`)?.ackedVersion === version) n++;
  return n;
}

test.run();
