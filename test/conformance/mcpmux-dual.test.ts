// MCP conformance (@modelcontextprotocol/conformance, pinned), configuration mcpmux-dual: a real mcpmux stack (control plane + proxy via the CLI) in front of the dual-era fixture.
// Runs test/conformance/run.ts --config mcpmux-dual as `npm run conformance` would, for both requirement
// sets (2025-11-25 and 2026-07-28), and holds it to its contract: what fails is exactly what expected-failures.mcpmux-dual.yaml lists
// (no unexpected failure, no stale entry). docs/conformance.md explains the configurations.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runConformance, SETS, summaries } from './run.ts';

const CONFIG = 'mcpmux-dual';
/** Inside run-tests' 180 s per file; a run takes well under 30 s on 2 cores. */
const TIMEOUT_MS = 170_000;

test(`${CONFIG}: every requirement set fails exactly as expected-failures.${CONFIG}.yaml says`, async () => {
  const { code, output, ms } = await runConformance(['--config', CONFIG], TIMEOUT_MS - 5_000);
  // The runner prints each line when the set finishes and again at the end: the last one counts.
  const bySet = new Map(summaries(output).filter((s) => s.config === CONFIG).map((s) => [s.set, s] as const));
  assert.equal([...bySet.keys()].sort(), [...SETS], `a summary line per requirement set expected:\n${output}`);
  for (const s of bySet.values()) {
    console.log(`${CONFIG} ${s.set}: checks ${s.passed} passed, ${s.failed} failed, ${s.warnings} warnings; scenarios ${s.scenariosPassed}/${s.scenarios}`);
    assert.not.ok(s.error, `${s.set}: ${s.error}`);
    assert.ok(s.scenarios > 0, `${s.set}: no scenario ran:\n${output}`);
    assert.is(s.unexpected, 0, `${s.set}: unexpected failures:\n${output}`);
    assert.is(s.stale, 0, `${s.set}: stale expected-failures entries (they pass now: remove them):\n${output}`);
  }
  assert.is(code, 0, `the runner exited ${code} after ${ms} ms:\n${output}`);
});

test.run();
