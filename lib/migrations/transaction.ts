// Owns what a JS migration's up(tx) / down(tx) receives: the migration lease's query methods,
// refusing any statement that would begin, commit or roll back a transaction (the runner holds
// the migration and its ledger row in one transaction of its own) or set PRAGMA foreign_keys (a
// no-op inside one), and the same check of SQL migrations' statements; carrying the run's abort
// signal into every call, and refusing every call once the migration's step is over.

import { MigrationError, ScopeEndedError } from '../errors.ts';
import type { Lease } from '../api/lease.ts';
import { NO_TIMEOUT } from './lock.ts';
import { isAbortSignal } from '../input/validate.ts';
import { joinSignals } from '../request/joined-signal.ts';
import { setsForeignKeys, splitStatements, transactionControl } from './sql-split.ts';
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

/** The error for PRAGMA foreign_keys, which SQLite ignores inside the runner's transaction. */
export function foreignKeysError(item: Pick<SourceItem, 'file' | 'version'>, statement: string, where: string): MigrationError {
  return new MigrationError(
    'LITEPOOL_MIGRATION_FAILED',
    `${item.file}: ${where} sets PRAGMA foreign_keys, which SQLite ignores inside a transaction, and this migration runs in ` +
      'one: foreign keys would stay as they are (a DROP TABLE could cascade into other tables). To rebuild tables with ' +
      'foreign keys off, make `-- litepool:no-transaction` the first line of the SQL file (SQLite\'s 12-step table ' +
      'change); to check them only at COMMIT, use PRAGMA defer_foreign_keys = ON.',
    { file: item.file, version: item.version, statement },
  );
}

/**
 * Throws when one of the statements of `sql` would begin, commit or roll back a transaction, or
 * set PRAGMA foreign_keys (a no-op inside one).
 */
export function refuseControl(item: Pick<SourceItem, 'file' | 'version'>, statements: readonly { sql: string; line?: number }[], inFile: boolean): void {
  statements.forEach((statement, index) => {
    const where = inFile ? `statement ${index + 1} (line ${statement.line})` : 'a statement it ran';
    const keyword = transactionControl(statement.sql);
    if (keyword) throw transactionControlError(item, keyword, statement.sql, where);
    if (setsForeignKeys(statement.sql)) throw foreignKeysError(item, statement.sql, where);
  });
}

function refuseInCall(item: SourceItem, sql: unknown): void {
  if (typeof sql !== 'string') return; // the lease reports the type error
  refuseControl(item, splitStatements(sql), false);
}

/** A JS migration's `tx`, and the means to end it. */
export interface MigrationScope {
  tx: MigrationTransaction;
  /** Refuses every later call (ScopeEndedError) and cancels the calls still running. */
  end(): void;
}

/**
 * Adds `signal` to a call's options (the call is cancelled when the run is aborted or the step is
 * over), and no timeout unless the call gives one: like a SQL migration's statements, a JS
 * migration's are not cut short by the pool's queryTimeout. Options that are not a plain object
 * are passed on as they are, for the lease to refuse. A signal of the call's own is joined with
 * `signal` until `release` (once the call settled or its iteration ended).
 */
function withSignal(options: unknown, signal: AbortSignal): { options: unknown; release: () => void } {
  if (options === undefined) return { options: { signal, timeout: NO_TIMEOUT }, release: nothing };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return { options, release: nothing };
  const own = (options as { signal?: unknown }).signal;
  if (own !== undefined && !isAbortSignal(own)) return { options, release: nothing };
  const joined = own ? joinSignals(own, signal) : { signal, release: nothing };
  return { options: { timeout: NO_TIMEOUT, ...options, signal: joined.signal }, release: joined.release };
}

function nothing(): void {}

/** The `tx` of a JS migration step, on `lease`; `signal` aborts the run. */
export function migrationTransaction(lease: Lease, item: SourceItem, signal: AbortSignal | undefined): MigrationScope {
  const ending = new AbortController();
  // The run's signal joined with the step's end, let go of when the step ends.
  const cancelJoin = signal ? joinSignals(signal, ending.signal) : { signal: ending.signal, release: nothing };
  const cancel = cancelJoin.signal;
  let ended = false;
  const check = (sqls: unknown[]): void => {
    if (ended) throw new ScopeEndedError('migration transaction');
    for (const sql of sqls) refuseInCall(item, sql);
  };
  /** `call` with the SQL of its arguments checked and the cancel signal added to its options (argument `at`). */
  const guard =
    <R>(at: number, sqlOf: (args: unknown[]) => unknown[], call: (...args: unknown[]) => Promise<R>) =>
    (...args: unknown[]): Promise<R> => {
      try {
        check(sqlOf(args));
      } catch (error) {
        return Promise.reject(error);
      }
      const given = [...args];
      const { options, release } = withSignal(given[at], cancel);
      given[at] = options;
      let result: Promise<R>;
      try {
        result = call(...given);
      } catch (error) {
        release();
        throw error;
      }
      return result.finally(release);
    };
  const first = (args: unknown[]) => [args[0]];
  const bound = <K extends 'get' | 'all' | 'run' | 'exec' | 'batch'>(name: K) => (lease[name] as (...args: unknown[]) => Promise<never>).bind(lease);
  const tx = {
    get: guard(2, first, bound('get')),
    all: guard(2, first, bound('all')),
    run: guard(2, first, bound('run')),
    exec: guard(1, first, bound('exec')),
    batch: guard(
      1,
      (args) => (Array.isArray(args[0]) ? (args[0] as unknown[]).map((entry) => (entry as { sql?: unknown } | null)?.sql) : []),
      bound('batch'),
    ),
    iterate: async function* (sql: unknown, params?: unknown, options?: unknown) {
      check([sql]);
      const { options: given, release } = withSignal(options, cancel);
      try {
        yield* (lease.iterate as (...args: unknown[]) => AsyncGenerator<unknown, void, undefined>)(sql, params, given);
      } finally {
        release();
      }
    },
  } as unknown as MigrationTransaction;
  return {
    tx: Object.freeze(tx),
    end() {
      ended = true;
      ending.abort(new ScopeEndedError('migration transaction'));
      cancelJoin.release();
    },
  };
}
