// MCP conformance, configuration direct: the dual-era fixture (test/fixtures/dual-era-server.ts --mode dual)
// with no gateway; every scenario of both requirement sets must pass (docs/conformance.md).
import { conformanceTest } from './configuration-test.ts';

conformanceTest('direct', { clean: true });
