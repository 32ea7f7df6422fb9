// `npm run bench`: runs the benchmark scenarios (all by default), prints a table per scenario and
// its checks against DESIGN.md's targets, writes the results as JSON under test/bench/results/,
// and with --update-docs rewrites the figures in BENCHMARKS.md. Loopback only; every scenario is
// bounded and stops by itself. Exits 1 when a target was missed.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { markdownReport, replaceGenerated, runInfo, textReport } from './lib/report.ts';
import type { Scenario, ScenarioResult } from './lib/result.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Scenario ids in the order they run; each module is loaded only when its scenario runs. */
const SCENARIOS: Record<string, () => Promise<Scenario>> = {
  overhead: async () => (await import('./scenarios/overhead.ts')).overhead,
  eras: async () => (await import('./scenarios/eras.ts')).eras,
  peers: async () => (await import('./scenarios/peers.ts')).peers,
  fanout: async () => (await import('./scenarios/fanout.ts')).fanout,
  convergence: async () => (await import('./scenarios/convergence.ts')).convergence,
  translation: async () => (await import('./scenarios/translation.ts')).translation,
  memory: async () => (await import('./scenarios/memory.ts')).memory,
  pushes: async () => (await import('./scenarios/pushes.ts')).pushes,
  workers: async () => (await import('./scenarios/workers.ts')).workers,
};

const HELP = `Usage: npm run bench -- [SCENARIO ...] [--quick] [--update-docs] [--json FILE]

Runs mcpmux's benchmarks on loopback and prints the figures with the targets of DESIGN.md.

Scenarios (all by default, in this order): ${Object.keys(SCENARIOS).join(', ')}

Flags:
  --quick         smaller counts (a quick look; the targets are still checked)
  --update-docs   write the figures into BENCHMARKS.md
  --json FILE     where to write the results (default test/bench/results/latest.json)
  --help          this text

Environment:
  MCPMUX_BENCH_PROFILE=DIR   write a CPU profile of the proxy into DIR (read it with
                             node test/bench/profile-summary.ts DIR/*.cpuprofile)
  MCPMUX_CACHE=DIR           where peer gateways are installed (default ~/.cache/mcpmux)
`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        quick: { type: 'boolean', default: false },
        'update-docs': { type: 'boolean', default: false },
        json: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const unknown = positionals.filter((id) => !(id in SCENARIOS));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}\n`);
    return 2;
  }
  const ids = positionals.length > 0 ? positionals : Object.keys(SCENARIOS);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const info = runInfo(command, values.quick);
  process.stdout.write(`mcpmux bench: ${ids.join(', ')} (Node ${info.node}, ${info.cpus}, ${info.memory})\n\n`);
  const results: ScenarioResult[] = [];
  let crashed = false;
  for (const id of ids) {
    const load = SCENARIOS[id];
    if (!load) continue;
    const started = Date.now();
    try {
      const result = await (await load())({ quick: values.quick });
      results.push(result);
      process.stdout.write(`${textReport(result)}(${((Date.now() - started) / 1000).toFixed(1)} s)\n\n`);
    } catch (error) {
      crashed = true;
      process.stderr.write(`scenario ${id} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n\n`);
    }
  }
  const jsonPath = values.json ?? join(ROOT, 'test/bench/results/latest.json');
  mkdirSync(join(jsonPath, '..'), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify({ info, results }, null, 2) + '\n');
  process.stdout.write(`results written to ${jsonPath}\n`);
  if (values['update-docs']) {
    const path = join(ROOT, 'BENCHMARKS.md');
    writeFileSync(path, replaceGenerated(readFileSync(path, 'utf8'), markdownReport(info, results)));
    process.stdout.write(`figures written to ${path}\n`);
  }
  const missed = results.flatMap((r) => r.checks.filter((c) => !c.pass).map((c) => `${r.id}: ${c.name} ${c.actual} (target ${c.target})`));
  if (missed.length > 0) process.stdout.write(`\ntargets missed:\n${missed.map((m) => `  ${m}`).join('\n')}\n`);
  return crashed || missed.length > 0 ? 1 : 0;
}

process.exitCode = await main();
