import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { TableCounter, TableHistogram } from './metric-tables.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const observations: Array<[string, string, string, number]> = [
  ['a', 'tools/call', 'ok', 0.0004],
  ['b', 'tools/call', 'error', 0.05],
  ['a', 'tools/list', 'ok', 0.001],
  ['a', 'tools/call', 'ok', 3],
  ['b', 'tools/call', 'ok', 0.2],
];

function sortedLines(text: string): string[] {
  return text.split('\n').filter(Boolean).sort();
}

test('scraped, the tables read exactly as prom-client’s own counter and histogram fed the same observations', async () => {
  const own = new Registry();
  const tables = new Registry();
  const counter = new Counter({ name: 'calls_total', help: 'h', labelNames: ['target', 'method', 'outcome'], registers: [own] });
  const histogram = new Histogram({ name: 'latency_seconds', help: 'h', labelNames: ['target', 'method'], buckets: BUCKETS, registers: [own] });
  const tableCounter = new TableCounter(tables, { name: 'calls_total', help: 'h', labelNames: ['target', 'method', 'outcome'] });
  const tableHistogram = new TableHistogram(tables, { name: 'latency_seconds', help: 'h', labelNames: ['target', 'method'], buckets: BUCKETS });
  for (const [target, method, outcome, seconds] of observations) {
    counter.inc({ target, method, outcome });
    histogram.observe({ target, method }, seconds);
    tableCounter.inc([target, method, outcome]);
    tableHistogram.observe([target, method], seconds);
  }
  assert.equal(sortedLines(await tables.metrics()), sortedLines(await own.metrics()));
  // Several processes' registries (a pod's workers) aggregate the same way.
  const merged = await AggregatorRegistry.aggregate([await tables.getMetricsAsJSON(), await tables.getMetricsAsJSON()]).metrics();
  assert.match(merged, /latency_seconds_count\{target="a",method="tools\/call"\} 4/);
  assert.match(merged, /calls_total\{target="a",method="tools\/call",outcome="ok"\} 4/);
  tables.resetMetrics();
  assert.not.match(await tables.metrics(), /latency_seconds_count/);
});

test.run();
