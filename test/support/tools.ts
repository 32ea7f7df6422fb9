import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const CACHE_DIR = process.env.MCPMUX_CACHE ?? join(homedir(), '.cache', 'mcpmux');
export const TOOLS_BIN = join(CACHE_DIR, 'bin');

export const GO_TOOLS = {
  grpcurl: 'github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3',
  // The session store's server (issue 8): JetStream KV and request/reply, pinned to 2.14.x.
  'nats-server': 'github.com/nats-io/nats-server/v2@v2.14.9',
  // The chart's lint, template and install checks (issue 9).
  helm: 'helm.sh/helm/v3/cmd/helm@v3.22.0',
} as const;

export type ToolName = keyof typeof GO_TOOLS;

/** Path of a Go-built tool, installing it with `go install` into the cache the first time. */
export async function ensureTool(name: ToolName): Promise<string> {
  const path = join(TOOLS_BIN, name);
  if (existsSync(path)) return path;
  mkdirSync(TOOLS_BIN, { recursive: true });
  const started = Date.now();
  try {
    await run('go', ['install', GO_TOOLS[name]], { env: { ...process.env, GOBIN: TOOLS_BIN, GOFLAGS: '-mod=mod' }, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    throw new Error(`go install ${GO_TOOLS[name]} failed (is Go installed?): ${(error as Error).message}`);
  }
  process.stderr.write(`installed ${name} in ${Math.round((Date.now() - started) / 1000)} s\n`);
  return path;
}
