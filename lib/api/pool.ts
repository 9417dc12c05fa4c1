// Owns the public Pool: the operations users call, stats() and the close protocol. Runs on the
// JS thread. Reads go to the reader threads, writes to the writer thread; a read whose statement
// SQLite reports as not read-only is rerouted to the writer by the dispatcher.

import { PoolClosedError, describeType, invalidArgument } from '../errors.ts';
import { insertRows } from '../input/insert-many.ts';
import { MAX_MS } from '../input/validate.ts';
import type { ResolvedOptions } from '../input/options.ts';
import { binding } from '../native/binding.ts';
import { Op } from '../native/contract.ts';
import { traceMigration, traceTransaction } from '../observers/scope-trace.ts';
import type {
  AcquireOptions,
  ArrayQueryOptions,
  BatchStatement,
  IterateOptions,
  Observer,
  OperationOptions,
  Params,
  PoolStats,
  QueryOptions,
  ReadOptions,
  Row,
  RunResult,
  SqlOutputValue,
  SqlValue,
  TransactionOptions,
} from '../types.ts';
import type { PoolContext } from './context.ts';
import { migrateWith, migrationsOf } from '../migrations/index.ts';
import type { MigrateOptions, MigrateReport, Migrations } from '../migrations/types.ts';
import type { MigrationHost } from '../migrations/lock.ts';
import type { Replica } from '../replication/litefs.ts';
import { acquireLease, routeOf, type Lease } from './lease.ts';
import { MigrationRuns } from './migration-runs.ts';
import { Pending } from './pending.ts';
import { PoolIterations } from './pool-iteration.ts';
import { Operations, checkAcquireOptions, checkCallback, checkInsertManyOptions, checkTransactionOptions, rejectOnThrow } from './operations.ts';
import { replicaOf } from './replication.ts';
import { readSnapshot } from './snapshot.ts';
import type { WriteQueueOptions, WriteResult } from '../write-queue-types.ts';
import { PoolMaintenance } from './pool-maintenance.ts';
import { poolStats, type PoolParts } from './stats.ts';
import { runTransaction, type Transaction } from './transaction.ts';
import { shutDown } from './close.ts';
import { WriteQueue, newWriteQueue } from './write-queue.ts';
import { POOL_ITSELF, checkOpenedParts } from './pool-itself.ts';

/** A pool of SQLite connections: one writer thread and N reader threads. */
export class Pool extends PoolMaintenance {
  readonly #parts: PoolParts;
  readonly #context: PoolContext;
  readonly #options: ResolvedOptions;
  /** get, all, run, exec and batch: options, requests, retries. */
  readonly #ops: Operations;
  #closing: Promise<void> | undefined;
  /** Transactions, snapshots and lease acquisitions still running: close() waits for them. */
  readonly #scopes = new Pending();
  /** Callers' leases not yet released: close() releases them once in-flight work has drained. */
  readonly #leases = new Set<Lease>();
  /** Migration runs and their leases: close() waits for those (unless called from inside a run). */
  readonly #runs = new MigrationRuns();
  /** Write queues not yet shut down: close() drains them first. */
  readonly #queues = new Set<WriteQueue>();
  /** db.iterate(): close() ends the open ones. */
  readonly #iterations: PoolIterations;

  /** @internal Use `open()`. */
  #migrations: Migrations | undefined;
  constructor(parts: PoolParts) {
    super(checkOpenedParts(parts).toolkit);
    this.#parts = parts;
    this.#context = parts.context;
    this.#options = parts.options;
    this.#ops = Operations.forPool(parts.context.requests, parts.context.defaults, parts.options.retry, parts.context.observers, parts.replica, parts.gate, this.#scopes);
    this.#iterations = new PoolIterations(parts.context, this.#ops, parts.options.acquireTimeout, parts.options.maxReadDuration);
  }

  /**
   * Attaches an observer (docs/observability.md); returns the function that removes it.
   * @example
   * const stop = db.observe({ onQuery: (e) => console.log(e.sql, e.queuedMs, e.execMs) }); // later: stop()
   */
  observe(observer: Observer): () => void {
    return Pool.#of(this).#context.observers.add(observer);
  }

  /** The database path (`:memory:` for an in-memory database). */
  get path(): string {
    return Pool.#of(this).#options.path;
  }

  /**
   * The LiteFS node this pool runs on (`replication: 'litefs'` only; a TypeError otherwise):
   * whether it is the primary, its replication position, and waiting for a position.
   *
   * @example
   * if (!db.replica.isPrimary) return reply.redirect(`https://${db.replica.primary}${req.url}`);
   */
  get replica(): Replica {
    return replicaOf(Pool.#of(this).#parts.replica);
  }

  /** @internal The pool itself, also when read through a view of it (see pool-itself.ts). */
  get [POOL_ITSELF](): Pool { return Pool.#of(this); } // prettier-ignore

  /** True once close() has been called. */
  get closed(): boolean {
    return Pool.#of(this).#closing !== undefined;
  }

  /** The version of the bundled SQLite library. */
  static get sqliteVersion(): string {
    return binding().sqliteVersion;
  }

  /** The first row of the result, or undefined. Runs on a reader. */
  get<T = Row>(sql: string, params?: Params, options?: QueryOptions & { rowMode?: 'object' }): Promise<T | undefined>;
  get(sql: string, params: Params | undefined, options: ArrayQueryOptions): Promise<SqlOutputValue[] | undefined>;
  get(sql: string, params?: Params, options?: QueryOptions): Promise<unknown> {
    return Pool.#is(this) ? this.#ops.start(Op.Get, sql, params, options) : Pool.#refuse(this);
  }

  /** Every row of the result. Runs on a reader. */
  all<T = Row>(sql: string, params?: Params, options?: QueryOptions & { rowMode?: 'object' }): Promise<T[]>;
  all(sql: string, params: Params | undefined, options: ArrayQueryOptions): Promise<SqlOutputValue[][]>;
  all(sql: string, params?: Params, options?: QueryOptions): Promise<unknown> {
    return Pool.#is(this) ? this.#ops.start(Op.All, sql, params, options) : Pool.#refuse(this);
  }

  /**
   * Streams the rows of a read statement in chunks: the first (256 rows, or `chunkSize`) comes
   * with the first round trip, later ones grow while you pull (docs/leases.md); a longer result
   * holds one reader, one chunk ahead of you at most. break, return or throw free it at once.
   * One that holds its reader longer than `maxReadDuration` is ended: the reader is freed and the
   * next chunk rejects with TransactionTimeoutError.
   *
   * @example
   * for await (const row of db.iterate('SELECT * FROM events ORDER BY id')) {
   *   if (done(row)) break;
   * }
   */
  iterate<T = Row>(sql: string, params?: Params, options?: IterateOptions & { rowMode?: 'object' }): AsyncGenerator<T, void, undefined>;
  iterate(sql: string, params: Params | undefined, options: IterateOptions & { rowMode: 'array' }): AsyncGenerator<SqlOutputValue[], void, undefined>;
  iterate(sql: string, params?: Params, options?: IterateOptions): AsyncGenerator<unknown, void, undefined> {
    const pool: unknown = this;
    return Pool.#is(pool) ? pool.#iterations.iterate(sql, params, options) : (async function* refused() { Pool.#of(pool); })();
  }

  /**
   * A bounded queue of writes in front of the writer, with an overflow policy ('block',
   * { blockTimeout }, 'reject', 'drop-oldest'). See docs/write-path.md.
   *
   * @example
   * const events = db.writeQueue(WriteQueue.forMetrics());
   * events.push('INSERT INTO events (kind) VALUES (?)', ['click']);       // fire and forget
   * const { lastInsertRowid } = await critical.enqueue('INSERT INTO orders …', [...]);
   */
  writeQueue(options?: WriteQueueOptions): WriteQueue {
    Pool.#of(this).#ops.checkUsable();
    const queue = newWriteQueue(
      (sql, params, encoded, groupable, onGroup, place, acceptedAt, turn) => this.#ops.write(sql, params, encoded, groupable, onGroup, place, acceptedAt, turn),
      options,
      (done) => this.#queues.delete(done),
      this.#parts.gate,
      this.#context.observers.queueEvent,
    );
    this.#queues.add(queue);
    return queue;
  }

  /**
   * Runs several statements atomically on the writer, in one native round trip: every one of them
   * or none (a failure rolls the others back and names the failing statement).
   *
   * @example
   * const [debit, credit] = await db.batch([
   *   { sql: 'UPDATE accounts SET balance = balance - ? WHERE id = ?', params: [100, 1] },
   *   { sql: 'UPDATE accounts SET balance = balance + ? WHERE id = ?', params: [100, 2] },
   * ]);
   */
  batch(statements: readonly BatchStatement[], options?: OperationOptions): Promise<RunResult[]> {
    return Pool.#is(this) ? (this.#ops.start(Op.Batch, statements, undefined, options) as Promise<RunResult[]>) : Pool.#refuse(this);
  }

  /**
   * Inserts `rows` (objects with the first row's keys) into `table` in one transaction: all or
   * none. Packed on the JS thread in blocks of `chunkSize` rows (default 8192); the writer binds
   * and steps one prepared INSERT per row. Values bind as in db.run; errors name `rows[i]`. Its
   * transaction has no time limit (a large import may run for long); `signal` cancels it.
   * @example const inserted = await db.insertMany('events', [{ kind: 'click', at: Date.now() }]);
   */
  async insertMany(table: string, rows: readonly Record<string, SqlValue>[], options?: { chunkSize?: number; signal?: AbortSignal }): Promise<number> {
    const ops = Pool.#of(this).#ops;
    ops.checkUsable();
    const { chunkSize, signal } = checkInsertManyOptions(options);
    return insertRows(table, rows, chunkSize, ops, (fn) => this.transaction(fn, { timeout: MAX_MS, ...(signal ? { signal } : {}) }), signal);
  }

  /** Runs one statement on the writer; reports the changes and the last inserted rowid. */
  run(sql: string, params?: Params, options?: OperationOptions): Promise<RunResult> {
    return Pool.#is(this) ? (this.#ops.start(Op.Run, sql, params, options) as Promise<RunResult>) : Pool.#refuse(this);
  }

  /** Runs one or more statements without parameters on the writer. */
  exec(sql: string, options?: OperationOptions): Promise<void> {
    return Pool.#is(this) ? (this.#ops.start(Op.Exec, sql, undefined, options) as Promise<void>) : Pool.#refuse(this);
  }

  /**
   * Runs `fn` in a transaction on the writer: BEGIN IMMEDIATE (by default), COMMIT when `fn`
   * resolves, ROLLBACK when it throws. Writes from outside wait and never interleave into it.
   * Past `timeout` (default 30 s) it is rolled back and rejects with TransactionTimeoutError.
   *
   * @example
   * await db.transaction(async (tx) => {
   *   await tx.run('UPDATE accounts SET balance = balance - 100 WHERE id = ?', [1]);
   *   await tx.run('UPDATE accounts SET balance = balance + 100 WHERE id = ?', [2]);
   * });
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    return rejectOnThrow(() => {
      Pool.#of(this).#ops.checkUsable(true);
      checkCallback('transaction', fn);
      const settings = checkTransactionOptions(options);
      const run = () => runTransaction(this.#context, fn, { ...settings, acquireTimeout: this.#options.acquireTimeout, retry: this.#options.retry });
      return this.#scopes.track(traceTransaction(this.#context.observers, settings.behavior, run));
    });
  }

  /**
   * Runs `fn` on one reader inside one read transaction: all its queries see one consistent
   * snapshot. Ends after `maxReadDuration` at the latest.
   *
   * @example
   * const { orders, total } = await db.read(async (conn) => ({
   *   orders: await conn.all('SELECT * FROM orders WHERE customer = ?', [id]),
   *   total: await conn.get('SELECT sum(amount) AS total FROM orders WHERE customer = ?', [id]),
   * }));
   */
  read<T>(fn: (conn: Lease) => Promise<T> | T, options?: ReadOptions): Promise<T> {
    return rejectOnThrow(() => {
      Pool.#of(this).#ops.checkUsable();
      checkCallback('read', fn);
      const { timeout, signal } = checkAcquireOptions(options, this.#options.acquireTimeout, 'read');
      return this.#scopes.track(readSnapshot(this.#context, fn, { write: false, timeout, signal, maxDuration: this.#options.maxReadDuration }));
    });
  }

  /**
   * A connection of your own until `release()` (or the end of an `await using` block): a reader,
   * or the writer with `write: true`. Waits up to `acquireTimeout`, then AcquireTimeoutError.
   * Release rolls back any transaction left open.
   *
   * @example
   * await using lease = await db.acquire({ write: true });
   * await lease.exec('BEGIN');
   * await lease.run('UPDATE counters SET n = n + 1');
   * await lease.exec('COMMIT');
   */
  acquire(options?: AcquireOptions): Promise<Lease> {
    return rejectOnThrow(() => Pool.#of(this).#lease(options, true));
  }

  /** A lease; `held`: close() releases it (a caller's), else waits for its release (a migration's). */
  #lease(options: AcquireOptions | undefined, held: boolean): Promise<Lease> {
    this.#ops.checkUsable();
    const settings = checkAcquireOptions(options, this.#options.acquireTimeout);
    if (settings.write) this.#ops.checkUsable(true);
    const kept = held ? this.#leases : this.#runs.leases;
    let released: () => void = () => undefined;
    const onRelease = (lease: Lease) => void (kept.delete(lease), released());
    const acquired = acquireLease(this.#context, { ...settings, maxReadDuration: this.#options.maxReadDuration, onRelease });
    return this.#scopes.track(
      acquired.then(async (lease) => {
        if (this.#closing) {
          // Granted after close() began (it waited behind a lease close() released).
          await lease.release();
          throw new PoolClosedError('the pool closed while this lease was waiting');
        }
        kept.add(lease);
        if (!held) this.#scopes.track(new Promise<void>((resolve) => (released = resolve)));
        return lease;
      }),
    );
  }

  /** What migrations run on: leases close() lets finish, for a migration is accepted work. */
  get #migrationHost(): MigrationHost {
    const renewWriter = (lease: Lease) => this.#parts.keeper.renewWriter(routeOf(lease)!);
    return { acquire: (options) => this.#lease(options, false), read: (fn, options) => this.read(fn, options), renewWriter };
  }

  /**
   * Applies the pending migrations in semver order, each with its ledger row in one transaction,
   * under a lock across processes (docs/migrations.md). @example await db.migrate({ dir: 'migrations' })
   */
  migrate(options: MigrateOptions): Promise<MigrateReport> {
    return rejectOnThrow(() => {
      const pool = Pool.#of(this);
      return traceMigration(pool.#context.observers, options, (hooks) => pool.#runs.run(() => migrateWith(pool.#migrationHost, options, hooks)));
    });
  }

  /** Inspection and recovery: `status({ dir })`, `repair({ dir, version, action })`, `down({ dir, to })`. */
  get migrations(): Migrations {
    return (Pool.#of(this).#migrations ??= migrationsOf(this.#migrationHost, (fn) => this.#runs.run(fn)));
  }

  /** A snapshot of what the pool is doing. */
  stats(): PoolStats {
    return poolStats(Pool.#of(this).#parts);
  }

  /**
   * Stops accepting work, lets what was accepted finish (transactions, read() snapshots,
   * migrations and backups too: one it is awaited from inside waits for it until its timeout),
   * runs PRAGMA optimize and the `checkpointOnClose` checkpoint, closes every connection and joins every thread. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (!Pool.#is(this)) return Pool.#refuse(this);
    if (!this.#closing) {
      this.#ops.stop(() => new PoolClosedError());
      this.#parts.toolkit.refuse(() => new PoolClosedError());
      // Called from inside a migration run of this pool: the run's leases are let go, not waited for.
      const runLeases = this.#runs.inside ? this.#runs.leases : new Set<Lease>();
      this.#closing = shutDown(this.#parts, { queues: this.#queues, leases: this.#leases, runLeases, scopes: this.#scopes, iterations: this.#iterations });
    }
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return Pool.#is(this) ? this.close() : Pool.#refuse(this);
  }

  /** True for a real Pool: a method called with another `this` fails with a typed error. */
  static #is(value: unknown): value is Pool {
    return typeof value === 'object' && value !== null && #parts in value;
  }

  /** `value` as a Pool, or a TypeError (LITEPOOL_INVALID_ARGUMENT). */
  static #of(value: unknown): Pool {
    if (Pool.#is(value)) return value;
    throw invalidArgument(`a Pool method was called on ${describeType(value)}, not on a Pool`);
  }

  static #refuse = (value: unknown): Promise<never> => rejectOnThrow(() => Pool.#of(value) as never);
}
