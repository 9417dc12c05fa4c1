// Owns the measurement primitives of the benchmark suite: closed-loop worker harnesses for async
// and sync drivers, the event-loop lateness monitor, the steady-rate request scheduler and the
// latency statistics (percentiles) every workload reports.

import { performance } from 'node:perf_hooks';

export const now = () => performance.now();

/** Resolves on the next check phase of the event loop (one event-loop turn). */
export const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A random integer in [1, n]. */
export const randomId = (n) => 1 + Math.floor(Math.random() * n);

/** Grows as needed; keeps latency samples without boxing them. */
export class Samples {
  #data = new Float64Array(1 << 16);
  length = 0;
  push(value) {
    if (this.length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.length++] = value;
  }
  /** mean, median, p90, p99, max (same unit as the samples). */
  summary() {
    const n = this.length;
    if (n === 0) return { count: 0, mean: NaN, median: NaN, p90: NaN, p99: NaN, max: NaN };
    const sorted = this.#data.slice(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i];
    const at = (q) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
    return { count: n, mean: sum / n, median: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[n - 1] };
  }
}

/**
 * Closed loop over an async driver: `concurrency` workers, each with one request outstanding,
 * issuing the next one as soon as the previous resolves, until `durationMs` has passed.
 * Latency of a request = issue to resolution.
 */
export async function asyncWorkers({ concurrency, durationMs, fn, latencies = false }) {
  const samples = latencies ? new Samples() : undefined;
  const start = now();
  const deadline = start + durationMs;
  let ops = 0;
  const worker = async () => {
    while (now() < deadline) {
      const t0 = now();
      await fn();
      if (samples) samples.push(now() - t0);
      ops++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = now() - start;
  return { ops, elapsedMs, opsPerSec: (ops * 1000) / elapsedMs, latency: samples?.summary() };
}

/** Closed loop over an async driver for a fixed number of requests. */
export async function asyncWorkersCount({ concurrency, total, fn }) {
  const start = now();
  let issued = 0;
  const worker = async () => {
    while (issued < total) {
      issued++;
      await fn();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = now() - start;
  return { ops: total, elapsedMs, opsPerSec: (total * 1000) / elapsedMs };
}

/** A synchronous driver in a plain loop (concurrency means nothing to it). */
export function syncLoop({ durationMs, fn }) {
  const start = now();
  const deadline = start + durationMs;
  let ops = 0;
  for (;;) {
    for (let i = 0; i < 64; i++) fn();
    ops += 64;
    if (now() >= deadline) break;
  }
  const elapsedMs = now() - start;
  return { ops, elapsedMs, opsPerSec: (ops * 1000) / elapsedMs };
}

/** A synchronous driver in a plain loop for a fixed number of calls. */
export function syncLoopCount({ total, fn }) {
  const start = now();
  for (let i = 0; i < total; i++) fn();
  const elapsedMs = now() - start;
  return { ops: total, elapsedMs, opsPerSec: (total * 1000) / elapsedMs };
}

/**
 * `concurrency` simulated clients over a synchronous driver, the way a server serves them: a
 * client's next request arrives as soon as its previous one is answered, and is served on a later
 * turn of the event loop (setImmediate), so other clients' requests and timers interleave.
 * Latency = arrival to answer, so it includes the time spent waiting behind other clients'
 * queries on the one JS thread, just as an async driver's latency includes its queueing.
 */
export async function syncClients({ concurrency, durationMs, fn, latencies = false }) {
  const samples = latencies ? new Samples() : undefined;
  const start = now();
  const deadline = start + durationMs;
  let ops = 0;
  const client = async () => {
    while (now() < deadline) {
      const arrived = now();
      await nextTurn();
      fn();
      if (samples) samples.push(now() - arrived);
      ops++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsedMs = now() - start;
  return { ops, elapsedMs, opsPerSec: (ops * 1000) / elapsedMs, latency: samples?.summary() };
}

/**
 * Lateness of a 1 ms setInterval timer: each tick's actual interval minus 1 ms.
 * start() returns a stop() that yields the samples' summary (ms).
 */
export function lagMonitor() {
  const samples = new Samples();
  let last = now();
  const timer = setInterval(() => {
    const t = now();
    samples.push(Math.max(0, t - last - 1));
    last = t;
  }, 1);
  return () => {
    clearInterval(timer);
    // The last partial interval counts too: a timer that never fired is the worst lateness.
    samples.push(Math.max(0, now() - last - 1));
    return samples.summary();
  };
}

/**
 * Issues `fn()` at a steady `ratePerSec` for `durationMs` (a 1 ms ticker catches up on every
 * request that is due). Latency is measured from the request's scheduled time, not from when the
 * ticker got to run, so a blocked event loop shows up in the figures (no coordinated omission).
 */
export async function steadyRate({ ratePerSec, durationMs, fn }) {
  const samples = new Samples();
  const interval = 1000 / ratePerSec;
  const start = now();
  const total = Math.floor((durationMs * ratePerSec) / 1000);
  let issued = 0;
  const pending = new Set();
  await new Promise((resolve) => {
    const tick = () => {
      const t = now();
      while (issued < total && start + issued * interval <= t) {
        const scheduled = start + issued * interval;
        issued++;
        const p = Promise.resolve(fn()).then(() => {
          samples.push(now() - scheduled);
          pending.delete(p);
        });
        pending.add(p);
      }
      if (issued >= total) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
    tick();
  });
  await Promise.all(pending);
  return { requests: total, latency: samples.summary() };
}
