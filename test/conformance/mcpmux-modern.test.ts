// MCP conformance, configuration mcpmux-modern: mcpmux in front of the fixture in --mode modern (2026-07-28
// only), so 2025 clients are bridged by the gateway (docs/conformance.md).
import { conformanceTest } from './configuration-test.ts';

conformanceTest('mcpmux-modern');
