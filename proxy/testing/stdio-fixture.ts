// A small MCP server on stdio for the stdio upstream's edge cases, run as `node stdio-fixture.ts
// [--ignore-sigterm]`. It says on stderr what it saw (its start, cancellations), so tests read it
// from the proxy's debug log. Tools: `env` → {cwd, value of FIXTURE_VALUE}; `noise` prints a line
// that is not JSON on stdout, then answers; `hang` never answers; `exit {code}` says so on stderr
// and exits. With --ignore-sigterm it ignores SIGTERM and the end of its stdin (only SIGKILL ends it).
import { createInterface } from 'node:readline';

const ignoreSigterm = process.argv.includes('--ignore-sigterm');
if (ignoreSigterm) {
  process.on('SIGTERM', () => process.stderr.write('ignoring SIGTERM\n'));
  setInterval(() => undefined, 60_000); // stays up with its stdin closed
}

const send = (message: unknown): void => void process.stdout.write(`${JSON.stringify(message)}\n`);
const text = (t: string): unknown => ({ content: [{ type: 'text', text: t }] });
const tools = ['env', 'noise', 'hang', 'exit'].map((name) => ({ name, inputSchema: { type: 'object' } }));

process.stderr.write(`fixture started pid=${process.pid}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const message = JSON.parse(line) as { id?: number; method?: string; params?: Record<string, unknown> };
  const { id, method, params } = message;
  if (method === 'notifications/cancelled') {
    process.stderr.write(`cancelled ${String(params?.requestId)}\n`);
    return;
  }
  if (id === undefined) return;
  if (method === 'initialize') {
    send({ jsonrpc: '2.0', id, result: { protocolVersion: params?.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'stdio-fixture', version: '1.0.0' } } });
  } else if (method === 'tools/list') {
    send({ jsonrpc: '2.0', id, result: { tools } });
  } else if (method === 'tools/call') {
    const args = (params?.arguments ?? {}) as Record<string, unknown>;
    switch (params?.name) {
      case 'env':
        send({ jsonrpc: '2.0', id, result: text(JSON.stringify({ cwd: process.cwd(), value: process.env.FIXTURE_VALUE ?? null })) });
        return;
      case 'noise':
        process.stdout.write('this line is not JSON-RPC\n');
        send({ jsonrpc: '2.0', id, result: text('after the noise') });
        return;
      case 'hang':
        return;
      case 'exit':
        process.stderr.write('exiting on request\n');
        process.exit(Number(args.code ?? 3));
        return;
      default:
        send({ jsonrpc: '2.0', id, error: { code: -32602, message: `unknown tool ${String(params?.name)}` } });
    }
  } else {
    send({ jsonrpc: '2.0', id, error: { code: -32601, message: `no method ${String(method)}` } });
  }
});
lines.on('close', () => {
  if (!ignoreSigterm) process.exit(0);
});
