// Owns the integrity checks: db.integrityCheck() (PRAGMA integrity_check / quick_check) and
// db.foreignKeyCheck() (PRAGMA foreign_key_check). Both run on a reader of their own inside one
// read transaction whose schema is current, so writes keep flowing and tables created since the
// reader last looked are checked too. Runs on the JS thread.

import type { PoolContext } from '../api/context.ts';
import { checkBoolean, checkInteger, checkKeys } from '../input/validate.ts';
import { Op } from '../native/contract.ts';
import { WRITER, readerRoute, type Route } from '../request/route.ts';
import type { ForeignKeyViolation, IntegrityCheckResult } from '../operations-types.ts';

/**
 * Runs `fn` on a reader of its own inside a read transaction that began by reading the schema:
 * a connection whose schema was loaded before tables were created reloads it first (SQLite
 * checks its schema cookie when a statement reads the schema table). A pool without readers
 * (`:memory:`) uses the writer, in line with the writes.
 */
export async function onCurrentSchema<T>(context: PoolContext, timeout: number, fn: (route: Route) => Promise<T>): Promise<T> {
  if (context.readers.max === 0) return fn(WRITER);
  const reader = await context.readers.acquire(timeout, undefined);
  const holder = context.holders.begin('read lease', 'integrity check');
  const route = readerRoute(reader);
  try {
    await context.requests.run({ op: Op.Exec, route, sql: 'BEGIN DEFERRED; SELECT 1 FROM sqlite_schema LIMIT 1', keepTransaction: true, internal: true });
    return await fn(route);
  } finally {
    context.holders.end(holder);
    await context.readers.release(reader);
  }
}

function rows(context: PoolContext, route: Route, sql: string, values?: unknown[]): Promise<unknown[][]> {
  // The pool's own request: stats().operations counts the call (toolkit.ts).
  return context.requests.run({ op: Op.All, route, sql, values, names: undefined, rowMode: 'array', keepTransaction: true, internal: true }) as Promise<unknown[][]>;
}

/** The options of integrityCheck(), checked. */
export function checkIntegrityOptions(options: unknown): { quick: boolean; maxErrors: number } {
  const given = checkKeys('options', options, ['quick', 'maxErrors']);
  return {
    quick: given.quick === undefined ? false : checkBoolean('quick', given.quick),
    maxErrors: given.maxErrors === undefined ? 100 : checkInteger('maxErrors', given.maxErrors, 1, 1_000_000),
  };
}

export async function integrityCheck(context: PoolContext, timeout: number, options: { quick: boolean; maxErrors: number }): Promise<IntegrityCheckResult> {
  // The PRAGMA verifies the schema cookie when it runs: a statement prepared on an older schema
  // is prepared again. (Its argument is a literal: bound, it would name a table.)
  const sql = `PRAGMA ${options.quick ? 'quick' : 'integrity'}_check(${options.maxErrors})`;
  // The table-valued form prepares the PRAGMA afresh each time it runs, on the schema just read
  // (a cached PRAGMA foreign_key_check would keep checking the tables it was prepared with).
  const found = await onCurrentSchema(context, timeout, (route) => rows(context, route, sql));
  const problems = found.map((row) => String(row[0]));
  const ok = problems.length === 1 && problems[0] === 'ok';
  return { ok, problems: ok ? [] : problems };
}

export async function foreignKeyCheck(context: PoolContext, timeout: number): Promise<ForeignKeyViolation[]> {
  // The table-valued form prepares the PRAGMA afresh each time it runs, on the schema just read
  // (a cached PRAGMA foreign_key_check would keep checking the tables it was prepared with).
  const found = await onCurrentSchema(context, timeout, (route) =>
    rows(context, route, 'SELECT "table", rowid, parent, fkid FROM pragma_foreign_key_check()'),
  );
  return found.map(([table, rowid, parent, fkid]) => ({
    table: table as string,
    rowid: rowid as number | bigint | null,
    parent: parent as string,
    fkid: Number(fkid),
  }));
}
