// npm run fuzz [-- --cases N] [--seed N] [--only translator|yaml|discovery|http|modern|request-state|mcp-param|listen|hosts|tls-secret|https|pki]
// Runs every fuzz target (test/fuzz/targets.ts), bounded, and prints cases and time per target.
// The default counts add up to 100,000 cases; a failure prints fast-check's counterexample and the
// seed to reproduce it. Exits 1 on any failure.
import { parseArgs } from 'node:util';
import { discoveryTarget, httpTarget, listenTarget, mcpParamTarget, modernTarget, requestStateTarget, translatorTarget, yamlTarget, type FuzzRun, type TargetResult } from './targets.ts';
import { hostsTarget, httpsTarget, tlsSecretTarget } from './listener-targets.ts';
import { pkiTarget } from './pki-targets.ts';

const { values } = parseArgs({
  options: {
    cases: { type: 'string' },
    seed: { type: 'string' },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    'Usage: npm run fuzz [-- --cases N] [--seed N] [--only translator|yaml|discovery|http|modern|request-state|mcp-param|listen|hosts|tls-secret|https|pki]\n\n' +
      'Default: 100,000 cases in all (translator 18k, yaml 14k, discovery 14k, http 8k, modern 12k, request-state 8k, mcp-param 8k, listen 4k,\n' +
      'hosts 6k, tls-secret 3k, https 3k, pki 2k), a random seed (printed).',
  );
  process.exit(0);
}
const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const scale = values.cases ? Number(values.cases) / 100_000 : 1;
const plan: Array<[string, (run: FuzzRun) => Promise<TargetResult>, number]> = [
  ['translator', translatorTarget, 18_000],
  ['yaml', yamlTarget, 14_000],
  ['discovery', discoveryTarget, 14_000],
  ['http', httpTarget, 8_000],
  // MCP 2026-07-28: envelopes + standard headers, requestState tokens, x-mcp-header schemas and values.
  ['modern', modernTarget, 12_000],
  ['request-state', requestStateTarget, 8_000],
  ['mcp-param', mcpParamTarget, 8_000],
  ['listen', listenTarget, 4_000],
  // HTTPS and multi-listener Gateways (issue 16 §5): Host/SNI → listener and routes, certificate Secrets, live TLS.
  ['hosts', hostsTarget, 6_000],
  ['tls-secret', tlsSecretTarget, 3_000],
  ['https', httpsTarget, 3_000],
  // The control plane's CA (issue 16 §1): CSRs from callers not yet trusted, CA Secrets as operators may write them.
  ['pki', pkiTarget, 2_000],
];
console.log(`fuzz seed ${seed}`);
let total = 0;
let failed = false;
for (const [name, target, cases] of plan) {
  if (values.only && values.only !== name) continue;
  const count = Math.max(1, Math.round(cases * scale));
  const started = performance.now();
  try {
    await target({ seed, cases: count });
    console.log(`ok   ${name.padEnd(13)} ${String(count).padStart(7)} cases  ${Math.round(performance.now() - started)} ms`);
    total += count;
  } catch (error) {
    failed = true;
    console.log(`FAIL ${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
console.log(`${total} cases, ${failed ? 'failures above' : '0 crashes, 0 hangs'} (seed ${seed})`);
process.exit(failed ? 1 : 0);
