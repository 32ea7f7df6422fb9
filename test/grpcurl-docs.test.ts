// Every grpcurl command in docs/grpcurl.md, run with a real grpcurl against a control plane serving
// the secured example (API keys and an upstream credential from Secrets): each succeeds, and no
// Secret value appears in any answer.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, type Managed } from './support/processes.ts';
import { startFolderControlPlane } from './support/stack.ts';
import { ensureTool } from './support/tools.ts';

const run = promisify(execFile);
const SECRET_VALUES = ['reader-key-change-me', 'admin-key-change-me', 'upstream-token-change-me'];
let grpcurl = '';
let controlPlane: Managed;
let address = '';

test.before(async () => {
  grpcurl = await ensureTool('grpcurl');
  ({ process: controlPlane, grpcAddress: address } = await startFolderControlPlane(`${ROOT}deploy/examples/secured`));
});

test.after(async () => {
  await controlPlane?.stop();
});

/** The grpcurl lines of the doc's sh blocks, split into arguments (single-quoted JSON kept whole). */
function documentedCommands(): string[][] {
  const doc = readFileSync(`${ROOT}docs/grpcurl.md`, 'utf8');
  const commands: string[][] = [];
  for (const block of doc.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').split('\n')) {
      if (!line.startsWith('grpcurl ')) continue;
      commands.push([...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '').slice(1));
    }
  }
  return commands;
}

test('every documented grpcurl command works and shows no secret', async () => {
  const commands = documentedCommands();
  assert.ok(commands.length >= 10, `the doc has the recipes (${commands.length})`);
  const versions = JSON.parse((await run(grpcurl, ['-plaintext', address, 'mcpmux.v1.AdminService/ListVersions'])).stdout) as { versions: Array<{ version: string }> };
  const version = versions.versions[0]?.version ?? '';
  assert.match(version, /^[0-9a-f]{16}$/);
  // The token the doc's first ListEvents page answers, for its next page.
  const firstPage = JSON.parse((await run(grpcurl, ['-plaintext', '-d', '{"from_seq": 1, "page_size": 2}', address, 'mcpmux.v1.AdminService/ListEvents'])).stdout) as { events: Array<{ seq: string }>; nextPageToken?: string };
  assert.equal(firstPage.events.map((e) => e.seq), ['1', '2']);
  const pageToken = firstPage.nextPageToken ?? '';
  assert.ok(pageToken, 'a first page of 2 events has a next page');
  const seen: string[] = [];
  for (const args of commands) {
    const resolved = args.map((a) => a.replace('127.0.0.1:18000', address).replace('NEXT_PAGE_TOKEN', pageToken).replace('VERSION', version));
    const streaming = resolved.includes('-max-time');
    const outcome = await run(grpcurl, resolved, { timeout: 20_000 }).then(
      (r) => ({ ok: true, out: r.stdout + r.stderr }),
      (e: { stdout: string; stderr: string }) => ({ ok: false, out: e.stdout + e.stderr }),
    );
    // A watch ended by -max-time reports DeadlineExceeded after streaming what it had.
    assert.ok(outcome.ok || (streaming && /DeadlineExceeded/.test(outcome.out)), `grpcurl ${resolved.join(' ')}\n${outcome.out}`);
    assert.ok(outcome.out.trim().length > 0, `grpcurl ${resolved.join(' ')} printed something`);
    for (const secret of SECRET_VALUES) assert.not.ok(outcome.out.includes(secret), `grpcurl ${resolved.join(' ')} shows ${secret}`);
    if (args.some((a) => a.includes('NEXT_PAGE_TOKEN'))) assert.match(outcome.out, /^\{\s*"events": \[\s*\{\s*"seq": "3"/, 'the next page goes on after the first');
    seen.push(outcome.out);
  }
  const all = seen.join('\n');
  // grpcurl's JSON escapes < and > as \u003c and \u003e.
  assert.match(all, /(<|\\u003c)redacted(>|\\u003e)/, 'Secrets are there, redacted');
  assert.match(all, /"sha256"/, 'API keys only as their hash');
  assert.match(all, /mcpmux\.v1\.AdminService/);
  assert.match(all, /"seq": "1"/, 'WatchEvents replayed from the first event');
});

test.run();
