// Latency histograms (HDR, 3 significant digits) recorded in nanoseconds and read in milliseconds.
import { build, type Histogram } from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export class Latencies {
  private readonly histogram: Histogram = build({
    bitBucketSize: 'packed',
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120e9, // two minutes, in ns
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });

  /** Records one duration given in nanoseconds (from process.hrtime.bigint differences). */
  recordNs(ns: bigint | number): void {
    this.histogram.recordValue(Math.max(1, Number(ns)));
  }

  recordMs(ms: number): void {
    this.recordNs(Math.round(ms * 1e6));
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** Percentile in milliseconds. */
  percentile(p: number): number {
    return this.histogram.getValueAtPercentile(p) / 1e6;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      max: this.histogram.maxValue / 1e6,
      mean: this.histogram.mean / 1e6,
    };
  }
}
