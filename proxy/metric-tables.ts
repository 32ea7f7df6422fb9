// Counts and latency buckets kept in plain tables on the request path, and handed to prom-client
// only when /metrics is scraped. prom-client's own inc() and observe() build a key string from the
// labels and look it up on every call (measured: ~0.1 µs and ~0.3 µs here, three to four times per
// tools/call, plus the garbage); a table keyed by label values that are already interned strings
// (target names from the config, method labels from a fixed set, outcome literals) costs a few
// Map lookups and an add.
import { Counter, type Registry, type RegistryContentType } from 'prom-client';

/** Numbers by a fixed list of label values, nested one Map per label. */
export class CountTable {
  readonly #labelNames: readonly string[];
  readonly #root = new Map<string, unknown>();

  constructor(labelNames: readonly string[]) {
    this.#labelNames = labelNames;
  }

  /** The slot for these label values (in labelNames order), created on first use. */
  slot<T>(values: readonly string[], create: () => T): T {
    let map = this.#root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      const key = values[i] as string;
      let next = map.get(key) as Map<string, unknown> | undefined;
      if (!next) {
        next = new Map();
        map.set(key, next);
      }
      map = next;
    }
    const key = values[last] as string;
    let found = map.get(key) as T | undefined;
    if (found === undefined) {
      found = create();
      map.set(key, found);
    }
    return found;
  }

  /** Every slot with its labels. */
  *entries<T>(): Generator<[Record<string, string>, T]> {
    const walk = function* (map: Map<string, unknown>, depth: number, names: readonly string[], labels: Record<string, string>): Generator<[Record<string, string>, T]> {
      for (const [value, child] of map) {
        const here = { ...labels, [names[depth] as string]: value };
        if (depth === names.length - 1) yield [here, child as T];
        else yield* walk(child as Map<string, unknown>, depth + 1, names, here);
      }
    };
    yield* walk(this.#root, 0, this.#labelNames, {});
  }
}

/** A prom-client Counter whose values come from a table of plain counts when it is scraped. */
export class TableCounter {
  readonly #table: CountTable;

  constructor(registry: Registry<RegistryContentType>, options: { name: string; help: string; labelNames: readonly string[] }) {
    const table = new CountTable(options.labelNames);
    this.#table = table;
    new Counter({
      name: options.name,
      help: options.help,
      labelNames: [...options.labelNames],
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, slot] of table.entries<{ n: number }>()) this.inc(labels, slot.n);
      },
    });
  }

  /** One more for these label values, in labelNames order. */
  inc(values: readonly string[]): void {
    this.#table.slot(values, () => ({ n: 0 })).n++;
  }
}

interface Buckets {
  counts: Float64Array;
  sum: number;
  count: number;
}

/** One value line of a metric as prom-client's registry formats it. */
interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * A histogram kept as bucket counts in a table, registered as a metric of its own: the registry
 * reads it through get(), as it reads prom-client's (same output, same aggregation across
 * processes). No exemplars: with tracing on, the proxy uses prom-client's Histogram instead.
 */
export class TableHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  #table: CountTable;
  readonly #labelNames: readonly string[];

  constructor(registry: Registry<RegistryContentType>, options: { name: string; help: string; labelNames: readonly string[]; buckets: readonly number[] }) {
    this.name = options.name;
    this.help = options.help;
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
    this.#labelNames = options.labelNames;
    this.#table = new CountTable(options.labelNames);
    registry.registerMetric(this as unknown as Parameters<typeof registry.registerMetric>[0]);
  }

  observe(values: readonly string[], seconds: number): void {
    const bounds = this.#bounds;
    const slot = this.#table.slot<Buckets>(values, () => ({ counts: new Float64Array(bounds.length), sum: 0, count: 0 }));
    slot.sum += seconds;
    slot.count++;
    // The first bucket that holds it; cumulated when scraped.
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= (bounds[i] as number)) {
        (slot.counts[i] as number)++;
        break;
      }
    }
    // Above the last bound: only in +Inf (count).
  }

  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: string }> {
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const [labels, slot] of this.#table.entries<Buckets>()) {
      let cumulated = 0;
      this.#bounds.forEach((bound, i) => {
        cumulated += slot.counts[i] as number;
        values.push({ labels: { le: bound, ...labels }, value: cumulated, metricName: bucket });
      });
      values.push({ labels: { le: '+Inf', ...labels }, value: slot.count, metricName: bucket });
      values.push({ labels, value: slot.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: slot.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    this.#table = new CountTable(this.#labelNames);
  }
}
