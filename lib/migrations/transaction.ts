// Owns what a JS migration's up(tx) / down(tx) receives: the migration lease's query methods,
// refusing any statement that would begin, commit or roll back a transaction (the runner holds
// the migration and its ledger row in one transaction of its own) or set PRAGMA foreign_keys (a
// no-op inside one), and the same check of SQL migrations' statements; carrying the run's abort
// signal into every call, waiting for the calls still running once up/down has settled (a call
// the migration did not await runs before its ledger row and COMMIT, and fails the migration when
// it fails), and refusing every call once the migration's step is over.

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
  /**
   * Once up/down has settled: waits until no call is running (calls those calls' continuations
   * make count too), then refuses every later call. Resolves with the error for the first call
   * that failed without the migration taking its outcome (await, then, catch), if one did.
   */
  settle(): Promise<MigrationError | undefined>;
  /** Refuses every later call (ScopeEndedError) and cancels the calls still running. */
  end(): void;
}

/** A call's promise, noting whether the migration took its outcome (await, then, catch and finally call then). */
class CallPromise<T> extends Promise<T> {
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }
  taken = false;
  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.taken = true;
    return super.then(onFulfilled, onRejected);
  }
}

/** The error of a call the migration did not await that failed. */
function unawaitedError(item: SourceItem, error: unknown, sql: unknown): MigrationError {
  const message = error instanceof Error ? error.message : String(error);
  const statement = typeof sql === 'string' ? sql : undefined;
  const flat = statement?.replace(/\s+/g, ' ');
  const shown = flat === undefined ? '' : `\n  ${flat.length > 200 ? `${flat.slice(0, 200)}…` : flat}`;
  return new MigrationError('LITEPOOL_MIGRATION_FAILED', `${item.file} failed: a call on tx it did not await failed: ${message}${shown}`, {
    file: item.file,
    version: item.version,
    ...(statement === undefined ? {} : { statement }),
    cause: error,
  });
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
  if (typeof options !== 'object' || options === null || isArrayOrRevoked(options)) return { options, release: nothing };
  const own = (options as { signal?: unknown }).signal;
  if (own !== undefined && !isAbortSignal(own)) return { options, release: nothing };
  const joined = own ? joinSignals(own, signal) : { signal, release: nothing };
  return { options: { timeout: NO_TIMEOUT, ...options, signal: joined.signal }, release: joined.release };
}

function nothing(): void {}

/** Array.isArray, true too for a revoked proxy (which it throws on): the lease refuses either, typed. */
function isArrayOrRevoked(value: unknown): boolean {
  try {
    return Array.isArray(value);
  } catch {
    return true;
  }
}

/** A revoked proxy: looking at it throws (the lease refuses it, typed). */
function isRevoked(value: unknown): boolean {
  try {
    Array.isArray(value);
    return false;
  } catch {
    return true;
  }
}

/** The `tx` of a JS migration step, on `lease`; `signal` aborts the run. */
export function migrationTransaction(lease: Lease, item: SourceItem, signal: AbortSignal | undefined): MigrationScope {
  const ending = new AbortController();
  // The run's signal joined with the step's end, let go of when the step ends.
  const cancelJoin = signal ? joinSignals(signal, ending.signal) : { signal: ending.signal, release: nothing };
  const cancel = cancelJoin.signal;
  let ended = false;
  /** The calls still running (each of these settles once its call has, and never rejects). */
  const running = new Set<Promise<void>>();
  /** The calls that failed, to tell whether the migration took their outcome once it has settled. */
  const failures: { call: CallPromise<unknown>; error: unknown; sql: unknown }[] = [];
  /** `result` as the migration gets it, watched: its failure is never an unhandled rejection. */
  const watch = <R>(result: Promise<R>, sql: unknown): Promise<R> => {
    const call = new CallPromise<R>((resolve, reject) => void result.then(resolve, reject));
    const failed = (error: unknown): void => void failures.push({ call, error, sql });
    // Promise.prototype.then, not the call's own: watching it is not the migration taking it.
    const done = Promise.prototype.then.call(call, nothing, failed) as Promise<void>;
    running.add(done);
    void done.then(() => running.delete(done));
    return call;
  };
  const check = (sqls: unknown[]): void => {
    if (ended) throw new ScopeEndedError('migration transaction');
    for (const sql of sqls) refuseInCall(item, sql);
  };
  /** `call` with the SQL of its arguments checked and the cancel signal added to its options (argument `at`). */
  const guard =
    <R>(at: number, sqlOf: (args: unknown[]) => unknown[], call: (...args: unknown[]) => Promise<R>) =>
    (...args: unknown[]): Promise<R> => {
      if (ended) return Promise.reject(new ScopeEndedError('migration transaction'));
      const sql = sqlOf === first ? args[0] : undefined; // a batch's failing statement is not known here
      try {
        check(sqlOf(args));
      } catch (error) {
        return watch(Promise.reject(error), sql);
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
      return watch(result.finally(release), sql);
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
      (args) => (isArrayOrRevoked(args[0]) && !isRevoked(args[0]) ? (args[0] as unknown[]).map((entry) => (entry as { sql?: unknown } | null)?.sql) : []),
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
    async settle() {
      // A turn of the event loop first: a call made by a continuation of the migration's promises
      // (tx.run(a).then(() => tx.run(b))) is running by then.
      for (;;) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (running.size === 0) break;
        await Promise.all(running);
      }
      ended = true;
      const failure = failures.find((entry) => !entry.call.taken);
      return failure && unawaitedError(item, failure.error, failure.sql);
    },
    end() {
      ended = true;
      ending.abort(new ScopeEndedError('migration transaction'));
      cancelJoin.release();
    },
  };
}
