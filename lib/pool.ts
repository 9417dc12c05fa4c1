// Owns the public Pool: open(), the operations users call, stats() and the close protocol.
//
// Runs on the JS thread. Reads go to the reader threads, writes to the writer thread; a read
// whose statement SQLite reports as not read-only is rerouted to the writer by the dispatcher.

import { binding } from './binding.ts';
import { Dispatcher, type JobSpec, type RowMode } from './dispatcher.ts';
import { acquireLease, readSnapshot, type Lease } from './lease.ts';
import { encodeBatch, insertChunks, type BatchStatement } from './batch.ts';
import { ConnectionKeeper } from './keeper.ts';
import { retrying } from './retry.ts';
import type { IterateOptions } from './scope.ts';
import { WriteQueue, type WriteQueueOptions, type WriteResult } from './write-queue.ts';
import { runTransaction, type Transaction, type TransactionBehavior, type TransactionOptions } from './transaction.ts';
import { PoolClosedError, SqliteError, describeType, invalidArgument } from './errors.ts';
import { Op, Target, type NativePool } from './native.ts';
import { nativeConfig, resolveOptions, type ResolvedOptions } from './options.ts';
import { encodeParams } from './params.ts';
import type {
  ArrayQueryOptions,
  OperationOptions,
  Params,
  PoolOptions,
  PoolStats,
  QueryOptions,
  Row,
  RunResult,
  SqlOutputValue,
  SqlValue,
} from './types.ts';
import { checkBoolean, checkChoice, checkInteger, checkKeys, checkSignal, checkSql } from './validate.ts';

const OPERATION_KEYS = ['signal', 'timeout'] as const;
const TRANSACTION_KEYS = ['behavior', 'timeout', 'signal'] as const;
const ACQUIRE_KEYS = ['write', 'timeout', 'signal'] as const;
const READ_KEYS = ['timeout', 'signal'] as const;
const ITERATE_KEYS = ['signal', 'timeout', 'rowMode', 'chunkSize'] as const;
const DEFAULT_TRANSACTION_TIMEOUT = 30_000;

/** Options of `acquire()`. */
export interface AcquireOptions {
  /** A lease on the writer (default false: a reader of your own). */
  write?: boolean;
  /** Milliseconds to wait for the connection (default: the pool's acquireTimeout). */
  timeout?: number;
  signal?: AbortSignal;
}

/** Options of `read()`. */
export interface ReadOptions {
  /** Milliseconds to wait for a reader (default: the pool's acquireTimeout). */
  timeout?: number;
  signal?: AbortSignal;
}
const QUERY_KEYS = ['signal', 'timeout', 'rowMode'] as const;
const MAX_MS = 2 ** 31 - 1;

interface CheckedOptions {
  signal: AbortSignal | undefined;
  timeout: number | undefined;
  rowMode: RowMode;
}

/** A pool of SQLite connections: one writer thread and N reader threads. */
export class Pool {
  readonly #native: NativePool;
  readonly #dispatcher: Dispatcher;
  readonly #options: ResolvedOptions;
  #closing: Promise<void> | undefined;
  /** Transactions and snapshots still running: close() waits for them (they are time-bounded). */
  readonly #scopes = new Set<Promise<unknown>>();
  /** Leases not yet released: close() releases them once in-flight work has drained. */
  readonly #leases = new Set<Lease>();
  /** Write queues not yet shut down: close() drains them first. */
  readonly #queues = new Set<WriteQueue>();

  readonly #keeper: ConnectionKeeper;
  /** What an operation called without options runs with (shared: no allocation per call). */
  readonly #noOptions: CheckedOptions;

  /** @internal Use `open()`. */
  constructor(native: NativePool, dispatcher: Dispatcher, options: ResolvedOptions, keeper: ConnectionKeeper) {
    this.#native = native;
    this.#dispatcher = dispatcher;
    this.#options = options;
    this.#keeper = keeper;
    this.#noOptions = Object.freeze({ signal: undefined, timeout: options.queryTimeout, rowMode: 'object' });
    dispatcher.defaultTimeout = options.queryTimeout;
  }

  /** The database path (`:memory:` for an in-memory database). */
  get path(): string {
    Pool.#checkPool(this);
    return this.#options.path;
  }

  /** True once close() has been called. */
  get closed(): boolean {
    Pool.#checkPool(this);
    return this.#closing !== undefined;
  }

  /** The version of the bundled SQLite library. */
  static get sqliteVersion(): string {
    return binding().sqliteVersion;
  }

  /** The first row of the result, or undefined. Runs on a reader. */
  get<T = Row>(sql: string, params?: Params, options?: QueryOptions & { rowMode?: 'object' }): Promise<T | undefined>;
  get(sql: string, params: Params | undefined, options: ArrayQueryOptions): Promise<SqlOutputValue[] | undefined>;
  get(sql: string, params?: Params, options?: QueryOptions): Promise<unknown> {
    if (!Pool.#isPool(this)) return Promise.reject(Pool.#notAPool(this));
    return this.#query(Op.Get, sql, params, options);
  }

  /** Every row of the result. Runs on a reader. */
  all<T = Row>(sql: string, params?: Params, options?: QueryOptions & { rowMode?: 'object' }): Promise<T[]>;
  all(sql: string, params: Params | undefined, options: ArrayQueryOptions): Promise<SqlOutputValue[][]>;
  all(sql: string, params?: Params, options?: QueryOptions): Promise<unknown> {
    if (!Pool.#isPool(this)) return Promise.reject(Pool.#notAPool(this));
    return this.#query(Op.All, sql, params, options);
  }

  /**
   * Streams the rows of a read statement in chunks (`chunkSize`, default 256) from a reader of
   * its own, with backpressure: the next chunk is fetched when the consumer has taken the last.
   * Stopping early (break, return, throw) frees the reader at once.
   *
   * @example
   * for await (const row of db.iterate('SELECT * FROM events ORDER BY id')) {
   *   if (done(row)) break;
   * }
   */
  iterate<T = Row>(sql: string, params?: Params, options?: IterateOptions & { rowMode?: 'object' }): AsyncGenerator<T, void, undefined>;
  iterate(sql: string, params: Params | undefined, options: IterateOptions & { rowMode: 'array' }): AsyncGenerator<SqlOutputValue[], void, undefined>;
  async *iterate(sql: string, params?: Params, options?: IterateOptions): AsyncGenerator<unknown, void, undefined> {
    Pool.#checkOpen(this);
    const given = checkKeys('options', options, ITERATE_KEYS);
    const lease = await this.acquire({ ...(given.signal === undefined ? {} : { signal: given.signal as AbortSignal }) });
    try {
      yield* lease.iterate(sql, params, options as IterateOptions & { rowMode?: 'object' });
    } finally {
      await lease.release();
    }
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
    Pool.#checkOpen(this);
    const queue = new WriteQueue(
      (sql, { values, names }, groupable, onGroup) =>
        this.#submit({ op: Op.Run, target: Target.Writer, sql, values, names, returnRows: true, groupable, onGroup }) as Promise<WriteResult>,
      options,
      (done) => this.#queues.delete(done),
      (admit) => this.#dispatcher.writerTurn(admit),
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
    try {
      Pool.#checkOpen(this);
      const checked = this.#checkOptions(options, OPERATION_KEYS);
      return this.#submit({
        op: Op.Batch,
        target: Target.Writer,
        ...encodeBatch(statements),
        signal: checked.signal,
        timeout: checked.timeout,
      }) as Promise<RunResult[]>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Inserts `rows` (objects with the same keys) into `table` in one transaction, as multi-row
   * INSERTs of up to `chunkSize` rows (default 500), below SQLite's parameter limit. Table and
   * column names are quoted; values are bound as parameters. Resolves with the rows inserted.
   */
  async insertMany(table: string, rows: readonly Record<string, SqlValue>[], options?: { chunkSize?: number; signal?: AbortSignal }): Promise<number> {
    Pool.#checkOpen(this);
    const given = checkKeys('options', options, ['chunkSize', 'signal']);
    const chunkSize = given.chunkSize === undefined ? 500 : checkInteger('chunkSize', given.chunkSize, 1, 1_000_000);
    const chunks = insertChunks(table, rows, chunkSize);
    if (chunks.length === 0) return 0;
    const signal = checkSignal(given.signal);
    return this.transaction(
      async (tx) => {
        let inserted = 0;
        // Every chunk is submitted at once: the writer runs them back to back, in order.
        const results = await Promise.all(chunks.map((chunk) => tx.run(chunk.sql, chunk.values)));
        for (const result of results) inserted += result.changes;
        return inserted;
      },
      signal ? { signal } : undefined,
    );
  }

  /** Runs one statement on the writer; reports the changes and the last inserted rowid. */
  run(sql: string, params?: Params, options?: OperationOptions): Promise<RunResult> {
    try {
      Pool.#checkOpen(this);
      const checked = this.#checkOptions(options, OPERATION_KEYS);
      const { values, names } = encodeParams(params);
      return this.#submit({
        op: Op.Run,
        target: Target.Writer,
        groupable: true,
        sql: checkSql(sql),
        values,
        names,
        signal: checked.signal,
        timeout: checked.timeout,
      }) as Promise<RunResult>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Runs one or more statements without parameters on the writer. */
  exec(sql: string, options?: OperationOptions): Promise<void> {
    try {
      Pool.#checkOpen(this);
      const checked = this.#checkOptions(options, OPERATION_KEYS);
      return this.#submit({
        op: Op.Exec,
        target: Target.Writer,
        sql: checkSql(sql),
        signal: checked.signal,
        timeout: checked.timeout,
      }) as Promise<void>;
    } catch (error) {
      return Promise.reject(error);
    }
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
    try {
      Pool.#checkOpen(this);
      if (typeof fn !== 'function') throw invalidArgument(`transaction() takes a function, got ${describeType(fn)}`);
      const given = checkKeys('options', options, TRANSACTION_KEYS);
      return this.#track(runTransaction(this.#dispatcher, fn, {
        behavior: given.behavior === undefined ? 'immediate' : checkChoice<TransactionBehavior>('behavior', given.behavior, ['deferred', 'immediate', 'exclusive']),
        timeout: given.timeout === undefined ? DEFAULT_TRANSACTION_TIMEOUT : checkInteger('timeout', given.timeout, 1, MAX_MS),
        signal: checkSignal(given.signal),
        acquireTimeout: this.#options.acquireTimeout,
        retry: this.#options.retry,
      }));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs `fn` on one reader inside one read transaction: all its queries see one consistent
   * snapshot. Ends after `maxReadDuration` at the latest.
   */
  read<T>(fn: (conn: Lease) => Promise<T> | T, options?: ReadOptions): Promise<T> {
    try {
      Pool.#checkOpen(this);
      if (typeof fn !== 'function') throw invalidArgument(`read() takes a function, got ${describeType(fn)}`);
      const given = checkKeys('options', options, READ_KEYS);
      return this.#track(readSnapshot(this.#dispatcher, fn, {
        write: false,
        timeout: given.timeout === undefined ? this.#options.acquireTimeout : checkInteger('timeout', given.timeout, 1, MAX_MS),
        signal: checkSignal(given.signal),
        maxDuration: this.#options.maxReadDuration,
      }));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A connection of your own until `release()` (or the end of an `await using` block): a reader,
   * or the writer with `write: true`. Waits up to `acquireTimeout`, then AcquireTimeoutError.
   * Release rolls back any transaction left open.
   */
  acquire(options?: AcquireOptions): Promise<Lease> {
    try {
      Pool.#checkOpen(this);
      const given = checkKeys('options', options, ACQUIRE_KEYS);
      const acquired = acquireLease(this.#dispatcher, {
        write: given.write === undefined ? false : checkBoolean('write', given.write),
        timeout: given.timeout === undefined ? this.#options.acquireTimeout : checkInteger('timeout', given.timeout, 1, MAX_MS),
        signal: checkSignal(given.signal),
        onRelease: (lease) => this.#leases.delete(lease),
      });
      return this.#track(
        acquired.then(async (lease) => {
          if (this.#closing) {
            // Granted after close() began (it waited behind a lease close() released).
            await lease.release();
            throw new PoolClosedError('the pool closed while this lease was waiting');
          }
          this.#leases.add(lease);
          return lease;
        }),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A snapshot of what the pool is doing. */
  stats(): PoolStats {
    Pool.#checkPool(this);
    const native = this.#native.stats();
    const counters = this.#dispatcher.counters;
    return {
      readers: {
        size: native.readers,
        busy: native.readersBusy,
        idle: native.readers - native.readersBusy,
        pinned: native.readersPinned,
      },
      writer: {
        busy: native.writerBusy,
        queued: native.writerRingDepth + this.#dispatcher.writerWaiting,
        held: this.#dispatcher.writerHeld,
      },
      leasesWaiting: this.#dispatcher.leasesWaiting,
      groupCommit: { groups: native.groupCommits, writes: native.groupedWrites },
      yields: native.yields,
      connections: { ...this.#keeper.stats },
      queued: this.#dispatcher.queued,
      inFlight: this.#dispatcher.inFlight,
      rings: { readers: native.readerRingDepth, writer: native.writerRingDepth, completions: native.completionRingDepth },
      operations: { ...counters },
    };
  }

  /**
   * Stops accepting work, lets everything already accepted finish, then optimizes and
   * checkpoints the database, closes every connection and joins every thread. Calling it again
   * returns the same promise.
   */
  close(): Promise<void> {
    if (!Pool.#isPool(this)) return Promise.reject(Pool.#notAPool(this));
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    if (!Pool.#isPool(this)) return Promise.reject(Pool.#notAPool(this));
    return this.close();
  }

  async #shutDown(): Promise<void> {
    await Promise.allSettled([...this.#queues].map((queue) => queue.shutdown()));
    await this.#keeper.stop();
    // Held leases are released (after what they already started), so that transactions,
    // snapshots and acquisitions queued behind them can finish; later lease calls reject.
    const releases = [...this.#leases].map((lease) => lease.release());
    while (this.#scopes.size > 0) await Promise.allSettled([...this.#scopes]);
    await Promise.allSettled(releases);
    await this.#dispatcher.idle();
    const closes: Promise<unknown>[] = [];
    for (let i = 0; i < this.#options.readers; i++) {
      closes.push(this.#dispatcher.run({ op: Op.Close, target: Target.Readers, internal: true }));
    }
    closes.push(this.#dispatcher.run({ op: Op.Close, target: Target.Writer, internal: true }));
    const results = await Promise.allSettled(closes);
    this.#native.join();
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
  }

  #track<T>(scope: Promise<T>): Promise<T> {
    this.#scopes.add(scope);
    const forget = () => this.#scopes.delete(scope);
    scope.then(forget, forget);
    return scope;
  }

  #submit(spec: JobSpec): Promise<unknown> {
    const retry = this.#options.retry;
    return retry ? retrying(() => this.#dispatcher.run(spec), retry, false) : this.#dispatcher.run(spec);
  }

  /** True for a real Pool (methods called with another `this` must fail with a typed error). */
  static #isPool(value: unknown): value is Pool {
    return typeof value === 'object' && value !== null && #native in value;
  }

  static #notAPool(value: unknown): TypeError {
    return invalidArgument(`a Pool method was called on ${describeType(value)}, not on a Pool`);
  }

  static #checkPool(value: unknown): asserts value is Pool {
    if (!Pool.#isPool(value)) throw Pool.#notAPool(value);
  }

  static #checkOpen(pool: unknown): asserts pool is Pool {
    Pool.#checkPool(pool);
    if (pool.#closing) throw new PoolClosedError();
  }

  #checkOptions(options: unknown, keys: readonly string[]): CheckedOptions {
    if (options === undefined) return this.#noOptions;
    const given = checkKeys('options', options, keys);
    return {
      signal: checkSignal(given.signal),
      timeout: given.timeout === undefined ? this.#options.queryTimeout : checkInteger('timeout', given.timeout, 1, MAX_MS),
      rowMode: given.rowMode === undefined ? 'object' : checkChoice('rowMode', given.rowMode, ['object', 'array'] as const),
    };
  }

  #query(op: Op, sql: string, params: Params | undefined, options: QueryOptions | undefined): Promise<unknown> {
    try {
      Pool.#checkOpen(this);
      const checked = this.#checkOptions(options, QUERY_KEYS);
      const { values, names } = encodeParams(params);
      return this.#submit({
        op,
        target: Target.Readers,
        sql: checkSql(sql),
        values,
        names,
        rowMode: checked.rowMode,
        signal: checked.signal,
        timeout: checked.timeout,
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/**
 * Opens a pool on the database at `path` (created when missing unless `create: false`;
 * `':memory:'` for a private in-memory database on a single connection).
 *
 * @example
 * const db = await open('app.db', { readers: 4 });
 * await db.exec('CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT)');
 * await db.run('INSERT INTO users (name) VALUES (?)', ['Ada']);
 * const user = await db.get<{ id: number; name: string }>('SELECT * FROM users WHERE name = ?', ['Ada']);
 * await db.close();
 */
export async function open(path: string, options?: PoolOptions): Promise<Pool> {
  const resolved = resolveOptions(path, options);
  const { NativePool } = binding();
  let dispatcher: Dispatcher | undefined;
  const native = new NativePool(nativeConfig(resolved), (buffer, capacity, objects, length) =>
    dispatcher!.onBatch(buffer, capacity, objects, length),
  );
  dispatcher = new Dispatcher(native, resolved.safeIntegers, resolved.readers);
  dispatcher.defaultTimeout = resolved.queryTimeout;
  const keeper = new ConnectionKeeper(dispatcher, native, resolved.readers, resolved.idleTimeout, resolved.onConnection);
  try {
    await dispatcher.track(native.startWriter());
    await Promise.all(native.startReaders().map((slot) => dispatcher!.track(slot)));
    await keeper.initialize();
    // From now on a fatal failure replaces its connection (a failed open simply fails open()).
    dispatcher.onFailure = (worker, errno) => keeper.reportFailure(worker, errno);
  } catch (error) {
    await keeper.stop();
    native.abort();
    if (error instanceof SqliteError) {
      throw new SqliteError(error.errno, `${error.message} (opening ${JSON.stringify(resolved.path)})`);
    }
    throw error;
  }
  return new Pool(native, dispatcher, resolved, keeper);
}

