// Owns the built-in policies: observers whose `beforeQuery` refuses operations before they reach
// SQLite (the pool rejects them with PolicyError, code LITEPOOL_POLICY).
// Runs on the JS thread.

import { describeType, invalidArgument } from '../errors.ts';
import { checkKeys } from '../input/validate.ts';
import type { BeforeQueryEvent, Observer } from './types.ts';
import { statementKeywords } from './sql-keywords.ts';

const DDL_KEYWORDS = new Set(['CREATE', 'DROP', 'ALTER']);

/** Refuses arguments past the `max` a policy takes: an option it does not have is never ignored. */
function checkArity(policy: string, args: IArguments, max: number): void {
  if (args.length <= max) return;
  throw invalidArgument(
    `policies.${policy}() takes ${max === 0 ? 'no arguments' : `at most ${max} argument`}, got ${args.length} (the first extra one is ${describeType(args[max])})`,
  );
}

/**
 * Refuses schema changes: statements starting with CREATE, DROP or ALTER (in any statement of an
 * `exec` script).
 *
 * @example
 * const db = await open('app.db', { observers: [policies.denyDdl()] });
 */
function denyDdl(): Observer {
  checkArity('denyDdl', arguments, 0);
  return {
    beforeQuery(q: BeforeQueryEvent): void {
      for (const keyword of statementKeywords(q.sql)) {
        if (DDL_KEYWORDS.has(keyword)) throw new Error(`schema changes (${keyword}) are not allowed`);
      }
    },
  };
}

export interface DenyFullScansOptions {
  /** Tables that may be scanned in full (small lookup tables), matched case-insensitively. */
  allowTables?: readonly string[];
}

/** The table a `SCAN` plan line reads in full, or undefined when the line is no full table scan. */
function scannedTable(detail: string): string | undefined {
  const match = /^SCAN (\S+)/.exec(detail);
  if (!match) return undefined;
  const name = match[1]!;
  // Not tables: a constant row, a subquery or CTE materialisation, a virtual table's own search.
  if (name === 'CONSTANT' || name.startsWith('(')) return undefined;
  if (/ VIRTUAL TABLE INDEX /.test(detail)) return undefined;
  return name;
}

/**
 * Refuses statements whose query plan reads a whole table (`SCAN <table>` in `EXPLAIN QUERY
 * PLAN`). The plan is looked up once per SQL text and cached by the pool.
 *
 * @example
 * const db = await open('app.db', { observers: [policies.denyFullScans({ allowTables: ['settings'] })] });
 */
function denyFullScans(options: DenyFullScansOptions = {}): Observer {
  checkArity('denyFullScans', arguments, 1);
  const given = checkKeys('options', options, ['allowTables']);
  const tables = given.allowTables ?? [];
  if (!Array.isArray(tables) || !tables.every((t) => typeof t === 'string')) {
    throw invalidArgument(`allowTables must be an array of table names (strings), got ${describeType(tables)}`);
  }
  const allowed = new Set(tables.map((t: string) => t.toLowerCase()));
  return {
    wantsQueryPlan: true,
    beforeQuery(q: BeforeQueryEvent): void {
      for (const detail of q.plan ?? []) {
        const table = scannedTable(detail);
        if (table !== undefined && !allowed.has(table.toLowerCase())) throw new Error(`full scan of table ${table} (${detail})`);
      }
    },
  };
}

/**
 * Refuses every write: `run`, `exec` and `batch`, and reads (`get`, `all`, `iterate`) of
 * statements SQLite reports as writing (a reader refuses them without running them; the pool
 * asks again before sending them to the writer, and this policy refuses then).
 *
 * @example
 * const replica = await open('app.db', { observers: [policies.readOnly()] });
 */
function readOnly(): Observer {
  checkArity('readOnly', arguments, 0);
  return {
    beforeQuery(q: BeforeQueryEvent): void {
      if (q.operation === 'run' || q.operation === 'exec' || q.operation === 'batch' || q.writes === true) {
        throw new Error(`the pool is read-only (${q.operation} writes)`);
      }
    },
  };
}

export const policies = Object.freeze({ denyDdl, denyFullScans, readOnly });
