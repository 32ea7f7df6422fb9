// The --listener-ports flag of `mcpmux proxy`: where each Gateway listener port is served,
// `GATEWAY_PORT=PORT` pairs separated by commas (`80=8080,443=8443`; `443=443` serves a port as
// itself, `443=0` on a free one). Pure parsing, one usage error naming the bad entry.
import { McpmuxError } from '../shared/errors.ts';

export function parseListenerPorts(value: string): Map<number, number> | undefined {
  const entries = value.split(',').map((e) => e.trim()).filter(Boolean);
  if (entries.length === 0) return undefined;
  const ports = new Map<number, number>();
  const bound = new Set<number>();
  for (const entry of entries) {
    const match = /^(\d{1,5})=(\d{1,5})$/.exec(entry);
    const gateway = Number(match?.[1]);
    const port = Number(match?.[2]);
    if (!match || gateway < 1 || gateway > 65535 || port > 65535) {
      throw usage(`"${entry}" is not GATEWAY_PORT=PORT (a listener port of the Gateway, 1-65535, and the port to serve it on, 0-65535)`);
    }
    if (ports.has(gateway)) throw usage(`Gateway port ${gateway} is given twice`);
    if (port !== 0 && bound.has(port)) throw usage(`port ${port} would serve two Gateway ports (listeners sharing a Gateway port share it already)`);
    ports.set(gateway, port);
    bound.add(port);
  }
  return ports;
}

function usage(message: string): McpmuxError {
  return new McpmuxError('MCPMUX_USAGE', `mcpmux proxy: --listener-ports: ${message}`);
}
