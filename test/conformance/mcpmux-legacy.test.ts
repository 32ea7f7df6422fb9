// MCP conformance, configuration mcpmux-legacy: mcpmux in front of the fixture in --mode legacy (2025-11-25
// only), so 2026-07-28 clients are bridged by the gateway (docs/conformance.md).
import { conformanceTest } from './configuration-test.ts';

conformanceTest('mcpmux-legacy');
