// Owns one latency series of MetricsCollector (an operation, or a statement text): counts, errors,
// rows and changes, and queue-wait and execution histograms, with their summaries in milliseconds.
// Runs on the JS thread.

import { BucketHistogram } from './histogram.ts';
import type { QueryEvent } from './types.ts';

/** Latency summary of one series, in milliseconds. */
export interface LatencySummary {
  count: number;
  sumMs: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

export interface SeriesSnapshot {
  count: number;
  errors: number;
  rows: number;
  changes: number;
  queued: LatencySummary;
  exec: LatencySummary;
}

export class Series {
  count = 0;
  errors = 0;
  rows = 0;
  changes = 0;
  readonly queued: BucketHistogram;
  readonly exec: BucketHistogram;
  constructor(buckets: readonly number[]) {
    this.queued = new BucketHistogram(buckets);
    this.exec = new BucketHistogram(buckets);
  }
  /** Records `e`, whose queue wait and run time fall in these buckets (bucketOf() with the series' bounds). */
  record(e: QueryEvent, queuedBucket: number, execBucket: number): void {
    this.count++;
    if (e.error) this.errors++;
    this.rows += e.rows;
    this.changes += e.changes;
    this.queued.add(queuedBucket, e.queuedMs);
    this.exec.add(execBucket, e.execMs);
  }
  snapshot(): SeriesSnapshot {
    return { count: this.count, errors: this.errors, rows: this.rows, changes: this.changes, queued: summary(this.queued), exec: summary(this.exec) };
  }
}

export function summary(h: BucketHistogram): LatencySummary {
  return { count: h.count, sumMs: h.sumMs, meanMs: h.count === 0 ? 0 : h.sumMs / h.count, p50Ms: h.quantile(0.5), p99Ms: h.quantile(0.99) };
}
