// MCP conformance, configuration mcpmux-dual: a real mcpmux stack (control plane + proxy via the CLI) in
// front of the dual-era fixture (docs/conformance.md).
import { conformanceTest } from './configuration-test.ts';

conformanceTest('mcpmux-dual');
