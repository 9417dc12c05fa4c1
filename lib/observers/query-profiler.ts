// Owns QueryProfiler: an observer that ranks statements by the time they cost, with calls, mean
// and p99, rows, and SQLite's own counters (full-scan steps, sorts, automatic indexes, VM steps),
// and captures the query plan once for statements slower than a threshold, on the pool the
// statement ran on (one profiler may watch several pools; it holds none of them).
// Runs on the JS thread (the pool calls its hooks there).

import { describeType, invalidArgument, outOfRange } from '../errors.ts';
import { checkKeys } from '../input/validate.ts';
import { QuantileHistogram } from './histogram.ts';
import { deliveringPool } from './hub.ts';
import type { ObservedPool, Observer, QueryEvent } from './types.ts';

export interface QueryProfilerOptions {
  /** Statements whose execution takes at least this many ms get their plan captured (default 50). */
  explainOverMs?: number;
  /** Distinct statement texts tracked at most (default 1000); later ones are not profiled. */
  maxStatements?: number;
}

/** What the profiler knows about one statement text. */
export interface StatementProfile {
  sql: string;
  calls: number;
  errors: number;
  /** Execution time summed over every call, in ms. */
  totalMs: number;
  meanMs: number;
  p99Ms: number;
  maxMs: number;
  /** Queue wait summed over every call, in ms. */
  queuedMs: number;
  rows: number;
  /** SQLite's counters, summed over every call. */
  fullScanSteps: number;
  sorts: number;
  autoIndexes: number;
  vmSteps: number;
  /** `EXPLAIN QUERY PLAN` details, once captured. */
  plan?: readonly string[];
}

class Entry {
  calls = 0;
  errors = 0;
  queuedMs = 0;
  rows = 0;
  fullScanSteps = 0;
  sorts = 0;
  autoIndexes = 0;
  vmSteps = 0;
  readonly exec = new QuantileHistogram();
  plan: readonly string[] | undefined;
  planRequested = false;
}

const QUERY_PROFILER_OPTIONS = ['explainOverMs', 'maxStatements'] as const;

/**
 * Ranks statements by cost.
 *
 * @example
 * const profiler = new QueryProfiler({ explainOverMs: 20 });
 * db.observe(profiler);
 * // ... later
 * for (const s of profiler.top(10)) console.log(s.totalMs, s.calls, s.fullScanSteps, s.sql, s.plan);
 */
export class QueryProfiler implements Observer {
  readonly wantsStatementCounters = true;
  readonly #explainOverMs: number;
  readonly #maxStatements: number;
  readonly #entries = new Map<string, Entry>();
  readonly #pending = new Set<Promise<void>>();
  /**
   * The pool it was attached to while there is only one (held weakly), null once attached to a
   * second: the fallback for an event whose pool the hub does not name (a pool of another copy
   * of litepool).
   */
  #only: WeakRef<ObservedPool> | null | undefined;

  constructor(options: QueryProfilerOptions = {}) {
    checkKeys('options', options, QUERY_PROFILER_OPTIONS);
    const explain = options.explainOverMs ?? 50;
    if (typeof explain !== 'number') throw invalidArgument(`explainOverMs must be a number, got ${describeType(explain)}`);
    if (!Number.isFinite(explain) || explain < 0) {
      throw outOfRange(`explainOverMs must be a finite number of at least 0, got ${String(explain)}`);
    }
    const max = options.maxStatements ?? 1000;
    if (typeof max !== 'number') throw invalidArgument(`maxStatements must be a number, got ${describeType(max)}`);
    if (!Number.isInteger(max) || max < 1) {
      throw outOfRange(`maxStatements must be an integer of at least 1, got ${String(max)}`);
    }
    this.#explainOverMs = explain;
    this.#maxStatements = max;
  }

  onAttach(pool: ObservedPool): void {
    if (this.#only === null) return;
    const known = this.#only?.deref();
    this.#only = known === undefined || known === pool ? new WeakRef(pool) : null;
  }

  onQuery(e: QueryEvent): void {
    let entry = this.#entries.get(e.sql);
    if (!entry) {
      if (this.#entries.size >= this.#maxStatements) return;
      this.#entries.set(e.sql, (entry = new Entry()));
    }
    entry.calls++;
    if (e.error) entry.errors++;
    entry.queuedMs += e.queuedMs;
    entry.rows += e.rows;
    entry.exec.record(e.execMs);
    const c = e.counters;
    if (c) {
      entry.fullScanSteps += c.fullScanSteps;
      entry.sorts += c.sorts;
      entry.autoIndexes += c.autoIndexes;
      entry.vmSteps += c.vmSteps;
    }
    if (!entry.planRequested && e.execMs >= this.#explainOverMs && (e.operation === 'get' || e.operation === 'all' || e.operation === 'run' || e.operation === 'iterate')) {
      this.#explain(e.sql, entry);
    }
  }

  /** The `n` statements that cost the most execution time, costliest first. */
  top(n = 10): StatementProfile[] {
    const out: StatementProfile[] = [];
    for (const [sql, entry] of this.#entries) {
      const profile: StatementProfile = {
        sql,
        calls: entry.calls,
        errors: entry.errors,
        totalMs: entry.exec.sumMs,
        meanMs: entry.exec.meanMs,
        p99Ms: entry.exec.quantile(0.99),
        maxMs: entry.exec.maxMs,
        queuedMs: entry.queuedMs,
        rows: entry.rows,
        fullScanSteps: entry.fullScanSteps,
        sorts: entry.sorts,
        autoIndexes: entry.autoIndexes,
        vmSteps: entry.vmSteps,
      };
      if (entry.plan) profile.plan = entry.plan;
      out.push(profile);
    }
    out.sort((a, b) => b.totalMs - a.totalMs);
    return out.slice(0, Math.max(0, n));
  }

  /** Resolves once every plan lookup started so far has finished. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Forgets every statement. */
  reset(): void {
    this.#entries.clear();
  }

  /** Looks the plan of `sql` up on the pool it ran on (the one delivering its event). */
  #explain(sql: string, entry: Entry): void {
    const pool = deliveringPool() ?? this.#only?.deref();
    if (!pool || pool.closed) return;
    entry.planRequested = true;
    const lookup = pool
      .all(`EXPLAIN QUERY PLAN ${sql}`)
      .then((rows) => {
        entry.plan = Object.freeze(rows.map((row) => String(row['detail'])));
      })
      .catch(() => {
        // Several statements, or a statement EXPLAIN cannot take: no plan. The pool closed
        // meanwhile: a later call, maybe on another pool, asks again.
        if (pool.closed) entry.planRequested = false;
      })
      .finally(() => this.#pending.delete(lookup));
    this.#pending.add(lookup);
  }
}
