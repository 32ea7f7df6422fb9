import { fileURLToPath } from 'node:url';
import { startNode as startNodeIn, type Managed } from '../../shared/testing/processes.ts';

export { freePort, until, waitForHttpOk, type Managed } from '../../shared/testing/processes.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../shared/cli/mcpmux.ts', import.meta.url));
export const EVERYTHING = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url));
export const FETCHER = fileURLToPath(new URL('../../deploy/examples/website-fetcher/server.ts', import.meta.url));

/** Starts `node args...` from the repository root. */
export function startNode(name: string, args: string[], env: Record<string, string> = {}): Managed {
  return startNodeIn(name, args, env, ROOT);
}
