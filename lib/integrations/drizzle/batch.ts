// Owns the items of db.batch() / tx.batch(): what may be an item (a query of this database,
// checked before anything runs), the statement each one becomes and how its result is read, the
// run of statements one after another, and the error a failing batch rejects with: Drizzle's
// DrizzleQueryError, as for a single query, with litepool's error as its `cause`.
// Runs on the JS thread.

import { DrizzleQueryError, fillPlaceholders, type Logger, type Query } from 'drizzle-orm';
import type { SqlValue } from '../../index.ts';
import { describe, invalidArgument, misuse, outOfRange } from '../arguments.ts';
import type { Statements } from '../statements.ts';
import { LitepoolPreparedQuery } from './prepared-query.ts';

/** One statement of a batch: what Drizzle built and how its result is read. */
export interface BatchStep {
  sql: string;
  params: SqlValue[];
  method: 'run' | 'all' | 'get' | 'values';
  arrays: boolean;
}

/** What an item's `_prepare()` gives: Drizzle's prepared query, or a raw `db.run(sql...)` item. */
export interface Prepared {
  getQuery(): Query & { method?: string };
  mapResult(result: unknown, isFromBatch?: boolean): unknown;
}

/**
 * The prepared items of a batch and their statements (logged), or a TypeError
 * (`LITEPOOL_INVALID_ARGUMENT`) for what is not an array of queries, a RangeError
 * (`LITEPOOL_OUT_OF_RANGE`, as the pool's db.batch([])) for an empty one, and `LITEPOOL_MISUSE` for a
 * query of a kind litepool does not know (one made by another driver's database).
 */
export function prepareBatch(queries: unknown, logger: Logger): { prepared: Prepared[]; steps: BatchStep[] } {
  if (!Array.isArray(queries)) throw invalidArgument(`batch() takes an array of queries, got ${describe(queries)}`);
  // As db.batch([]) of the pool (Drizzle's types ask for at least one query too).
  if (queries.length === 0) throw outOfRange('batch() needs at least one query');
  const prepared = queries.map((query: unknown, index) => {
    const prepare = typeof query === 'object' && query !== null ? (query as { _prepare?: unknown })._prepare : undefined;
    if (typeof prepare !== 'function') {
      throw invalidArgument(
        `batch() item ${index} is not a query of this database (a select, insert, update, delete or db.run/all/get/values), got ${describe(query)}`,
      );
    }
    const made: unknown = prepare.call(query);
    if (typeof (made as Partial<Prepared>)?.getQuery !== 'function' || typeof (made as Partial<Prepared>).mapResult !== 'function') {
      throw misuse(`batch() item ${index} is a query of a kind litepool does not know`);
    }
    return made as Prepared;
  });
  return { prepared, steps: prepared.map((p, index) => stepOf(p, index, logger)) };
}

/** Which step of a batch failed, and with what error. */
export interface FailedStep {
  step?: BatchStep;
  error?: unknown;
}

/** Runs the steps one after another on `statements`; `failed` learns the step that failed. */
export async function runSteps(statements: Statements, steps: readonly BatchStep[], failed: FailedStep): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const step of steps) {
    try {
      out.push(await runStep(statements, step));
    } catch (error) {
      failed.step = step;
      failed.error = error;
      throw error;
    }
  }
  return out;
}

/**
 * The error a failed batch rejects with: a DrizzleQueryError naming the failing statement when it
 * is known, else the whole batch (its statements joined with `;`, their parameters in order).
 */
export function batchError(error: unknown, steps: readonly BatchStep[], failed: FailedStep): DrizzleQueryError {
  if (error instanceof DrizzleQueryError) return error;
  const step = failed.step !== undefined && failed.error === error ? failed.step : undefined;
  if (step) return new DrizzleQueryError(step.sql, step.params, error as Error);
  return new DrizzleQueryError(steps.map((step) => step.sql).join('; '), steps.flatMap((step) => step.params), error as Error);
}

function stepOf(prepared: Prepared, index: number, logger: Logger): BatchStep {
  const query = prepared.getQuery();
  const params = fillPlaceholders(query.params, {}) as SqlValue[];
  logger.logQuery(query.sql, params);
  if (prepared instanceof LitepoolPreparedQuery) {
    return { sql: query.sql, params, method: prepared.method, arrays: prepared.wantsArrays };
  }
  // db.run/all/get/values(sql`...`): Drizzle names the method on the query.
  const method = query.method;
  if (method !== 'run' && method !== 'all' && method !== 'get' && method !== 'values') {
    throw misuse(`batch() item ${index} is a query of a kind litepool does not know (${String(method)})`);
  }
  return { sql: query.sql, params, method, arrays: method === 'values' };
}

function runStep(statements: Statements, step: BatchStep): Promise<unknown> {
  switch (step.method) {
    case 'run':
      return statements.run(step.sql, step.params);
    case 'all':
      return step.arrays ? statements.all(step.sql, step.params, { rowMode: 'array' }) : statements.all(step.sql, step.params);
    case 'get':
      return step.arrays ? statements.get(step.sql, step.params, { rowMode: 'array' }) : statements.get(step.sql, step.params);
    case 'values':
      return statements.all(step.sql, step.params, { rowMode: 'array' });
  }
}
