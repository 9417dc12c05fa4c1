// Owns the latency histograms of the built-in observers: fixed buckets for Prometheus (exact
// counts per bound) and log-scale buckets for quantiles (p50, p99 within about 4.5%), and the check
// of the bucket bounds a user gives.
// Runs on the JS thread; recording allocates nothing.

import { describeType, invalidArgument, outOfRange, unreadable } from '../errors.ts';

/** Default bucket bounds, in seconds, of the Prometheus histograms (50 µs to 10 s). */
export const DEFAULT_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/**
 * The `buckets` option: an array of numbers (else a TypeError), non-empty, positive, finite and
 * increasing (else a RangeError). Returns a copy, read once.
 */
export function checkBuckets(value: unknown): readonly number[] {
  let buckets: unknown[];
  try {
    if (!Array.isArray(value)) throw invalidArgument(`buckets must be an array of numbers (seconds), got ${describeType(value)}`);
    buckets = [...(value as unknown[])];
  } catch (error) {
    throw unreadable('buckets', error);
  }
  const wrong = buckets.findIndex((b) => typeof b !== 'number');
  if (wrong !== -1) throw invalidArgument(`buckets[${wrong}] must be a number (seconds), got ${describeType(buckets[wrong])}`);
  const bounds = buckets as number[];
  if (bounds.length === 0 || bounds.some((b, i) => !(b > 0) || !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!))) {
    throw outOfRange('buckets must be a non-empty array of increasing positive finite numbers (seconds)');
  }
  return bounds;
}

/** The bucket of `ms` among bounds in seconds: the first bound it does not exceed, or `bounds.length` above them all. */
export function bucketOf(boundsSeconds: ArrayLike<number>, ms: number): number {
  const seconds = ms / 1000;
  let i = 0;
  while (i < boundsSeconds.length && seconds > boundsSeconds[i]!) i++;
  return i;
}

/** A cumulative-bucket histogram as Prometheus exposes it. Values are recorded in milliseconds. */
export class BucketHistogram {
  readonly bounds: readonly number[];
  /** counts[i]: values <= bounds[i] and > bounds[i - 1]; counts[bounds.length]: above every bound. */
  readonly counts: Float64Array;
  count = 0;
  /** Sum of the recorded values, in milliseconds. */
  sumMs = 0;

  constructor(boundsSeconds: readonly number[] = DEFAULT_BUCKETS_SECONDS) {
    this.bounds = boundsSeconds;
    this.counts = new Float64Array(boundsSeconds.length + 1);
  }

  record(ms: number): void {
    this.add(bucketOf(this.bounds, ms), ms);
  }

  /** Records `ms` in bucket `index`: what bucketOf() gave for these bounds (saves the search when several histograms share them). */
  add(index: number, ms: number): void {
    this.counts[index]!++;
    this.count++;
    this.sumMs += ms;
  }

  /**
   * An estimate of the value at quantile `q` (0..1) in milliseconds, interpolated linearly inside
   * the bucket that holds it (the last bound when it lies above every bound).
   */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const inBucket = this.counts[i]!;
      if (inBucket > 0 && seen + inBucket >= rank) {
        if (i === this.bounds.length) return this.bounds[i - 1]! * 1000;
        const lower = i === 0 ? 0 : this.bounds[i - 1]!;
        const upper = this.bounds[i]!;
        return (lower + ((upper - lower) * (rank - seen)) / inBucket) * 1000;
      }
      seen += inBucket;
    }
    return this.bounds[this.bounds.length - 1]! * 1000;
  }

  /** Cumulative counts per bound (`le`), the last one being `+Inf`. */
  cumulative(): number[] {
    const out: number[] = [];
    let running = 0;
    for (const c of this.counts) {
      running += c;
      out.push(running);
    }
    return out;
  }
}

/** Buckets per doubling of the log-scale histogram: 2^(1/16) apart, so about 4.4% wide. */
const SUB_BUCKETS = 16;
/** The smallest value told apart, in ms (1 µs); smaller values share the first bucket. */
const MIN_MS = 0.001;
/** Doublings covered above MIN_MS: up to about 19 hours. */
const DOUBLINGS = 36;

/** A log-scale histogram for quantiles of values in milliseconds. */
export class QuantileHistogram {
  readonly #counts = new Uint32Array(SUB_BUCKETS * DOUBLINGS + 1);
  count = 0;
  sumMs = 0;
  maxMs = 0;

  record(ms: number): void {
    const index = ms <= MIN_MS ? 0 : Math.min(this.#counts.length - 1, Math.ceil(Math.log2(ms / MIN_MS) * SUB_BUCKETS));
    this.#counts[index]!++;
    this.count++;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  get meanMs(): number {
    return this.count === 0 ? 0 : this.sumMs / this.count;
  }

  /**
   * The value at quantile `q` (0..1): the upper bound of the bucket that holds it, capped at the
   * largest value seen. 0 when nothing was recorded.
   */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    const counts = this.#counts;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i]!;
      if (seen >= rank) return Math.min(this.maxMs, MIN_MS * 2 ** (i / SUB_BUCKETS));
    }
    return this.maxMs;
  }

  reset(): void {
    this.#counts.fill(0);
    this.count = 0;
    this.sumMs = 0;
    this.maxMs = 0;
  }
}
