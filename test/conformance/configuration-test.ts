// The one uvu test each configuration's file runs (one file per configuration, so each fits the
// runner's per-file limit): test/conformance/run.ts --config NAME for both requirement sets, as
// `npm run conformance` would, held to its contract: what fails is exactly what
// expected-failures.NAME.yaml lists (no unexpected failure, no stale entry).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runConformance, SETS, summaries } from './run.ts';

/** Inside run-tests' 180 s per file; a run takes well under 30 s on 2 cores. */
const TIMEOUT_MS = 170_000;

/** `clean`: nothing may fail at all (the fixture directly: if it fails, the fixture is wrong, not the gateway). */
export function conformanceTest(config: string, options: { clean?: boolean } = {}): void {
  test(`${config}: every requirement set fails exactly as expected-failures.${config}.yaml says`, async () => {
    const { code, output, ms } = await runConformance(['--config', config], TIMEOUT_MS - 5_000);
    // The runner prints each line when the set finishes and again at the end: the last one counts.
    const bySet = new Map(summaries(output).filter((s) => s.config === config).map((s) => [s.set, s] as const));
    assert.equal([...bySet.keys()].sort(), [...SETS], `a summary line per requirement set expected:\n${output}`);
    for (const s of bySet.values()) {
      console.log(`${config} ${s.set}: checks ${s.passed} passed, ${s.failed} failed, ${s.warnings} warnings; scenarios ${s.scenariosPassed}/${s.scenarios}`);
      assert.not.ok(s.error, `${s.set}: ${s.error}`);
      assert.ok(s.scenarios > 0, `${s.set}: no scenario ran:\n${output}`);
      assert.is(s.unexpected, 0, `${s.set}: unexpected failures:\n${output}`);
      assert.is(s.stale, 0, `${s.set}: stale expected-failures entries (they pass now: remove them):\n${output}`);
      if (options.clean) {
        assert.is(s.failed, 0, `${s.set}: the fixture fails ${s.failed} check(s) directly:\n${output}`);
        assert.is(s.warnings, 0, `${s.set}: the fixture has ${s.warnings} warning(s) directly:\n${output}`);
        assert.is(s.scenariosPassed, s.scenarios, `${s.set}: the fixture fails a scenario directly:\n${output}`);
      }
    }
    assert.is(code, 0, `the runner exited ${code} after ${ms} ms:\n${output}`);
  });
  test.run();
}
