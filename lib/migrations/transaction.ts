// Owns what a JS migration's up(tx) / down(tx) receives: the migration lease's query methods,
// refusing any statement that would begin, commit or roll back a transaction (the runner holds
// the migration and its ledger row in one transaction of its own).

import { MigrationError } from '../errors.ts';
import type { Lease } from '../lease.ts';
import { splitStatements, transactionControl } from './sql-split.ts';
import type { SourceItem } from './source.ts';
import type { MigrationTransaction } from './types.ts';

/** The error for a statement that would end the runner's transaction. */
export function transactionControlError(item: Pick<SourceItem, 'file' | 'version'>, keyword: string, statement: string, where: string): MigrationError {
  return new MigrationError(
    'LITEPOOL_MIGRATION_FAILED',
    `${item.file}: ${where} is ${keyword}: a migration runs in one transaction together with its ledger row, so it must ` +
      'not begin, commit or roll back a transaction itself (SAVEPOINT, RELEASE and ROLLBACK TO are fine). Remove it, or ' +
      'make `-- litepool:no-transaction` the first line of a SQL file that must control its own transactions.',
    { file: item.file, version: item.version, statement },
  );
}

/** Throws when one of the statements of `sql` would begin, commit or roll back a transaction. */
function refuseControl(item: SourceItem, sql: unknown): void {
  if (typeof sql !== 'string') return; // the lease reports the type error
  for (const statement of splitStatements(sql)) {
    const keyword = transactionControl(statement.sql);
    if (keyword) throw transactionControlError(item, keyword, statement.sql, 'a statement it ran');
  }
}

/** The `tx` of a JS migration step, on `lease`. */
export function migrationTransaction(lease: Lease, item: SourceItem): MigrationTransaction {
  const guard = <A extends unknown[], R>(sqlOf: (args: A) => unknown[], call: (...args: A) => Promise<R>) => (...args: A): Promise<R> => {
    try {
      for (const sql of sqlOf(args)) refuseControl(item, sql);
    } catch (error) {
      return Promise.reject(error);
    }
    return call(...args);
  };
  const first = (args: unknown[]) => [args[0]];
  const tx: MigrationTransaction = {
    get: guard(first, lease.get.bind(lease) as Lease['get']) as Lease['get'],
    all: guard(first, lease.all.bind(lease) as Lease['all']) as Lease['all'],
    run: guard(first, lease.run.bind(lease)),
    exec: guard(first, lease.exec.bind(lease)),
    batch: guard(
      (args) => (Array.isArray(args[0]) ? (args[0] as unknown[]).map((entry) => (entry as { sql?: unknown } | null)?.sql) : []),
      lease.batch.bind(lease),
    ),
    iterate: (async function* (sql: string, ...rest: unknown[]) {
      refuseControl(item, sql);
      yield* (lease.iterate as (...args: unknown[]) => AsyncGenerator<unknown, void, undefined>)(sql, ...rest);
    }) as Lease['iterate'],
  };
  return Object.freeze(tx);
}
