// Owns the connection-bound handles users get inside transactions, snapshots and leases: a
// Scope runs every operation on one connection (the writer through a session, or one pinned
// reader) and refuses to run anything once it has ended.
// Runs on the JS thread.

import { setMaxListeners } from 'node:events';
import { Op, Target } from '../native/native-pool.ts';
import type { Chunk, Dispatcher, WriterSession } from '../request/dispatcher.ts';
import { ScopeEndedError } from '../errors.ts';
import { encodeBatch, type BatchStatement } from '../input/batch.ts';
import { outOfRange } from '../errors.ts';
import { encodeParams } from '../input/params.ts';
import type { ArrayQueryOptions, OperationOptions, Params, QueryOptions, Row, RunResult, SqlOutputValue } from '../types.ts';
import { checkChoice, checkInteger, checkKeys, checkSignal, checkSql } from '../input/validate.ts';

/** Which connection a scope's operations run on. */
export type Route = { target: typeof Target.Writer; session: WriterSession } | { target: typeof Target.PinnedReader; reader: number };

const OPERATION_KEYS = ['signal', 'timeout'] as const;
const QUERY_KEYS = ['signal', 'timeout', 'rowMode'] as const;
const ITERATE_KEYS = ['signal', 'timeout', 'rowMode', 'chunkSize'] as const;
const MAX_MS = 2 ** 31 - 1;
/** Rows fetched per round trip by iterate() unless `chunkSize` says otherwise. */
export const DEFAULT_CHUNK_SIZE = 256;

/** Options of iterate(). */
export interface IterateOptions extends QueryOptions {
  /** Rows fetched from the worker per round trip (default 256). */
  chunkSize?: number;
}

/** Operations on one connection. Base of Transaction and Lease. */
export class Scope {
  readonly #dispatcher: Dispatcher;
  readonly #route: Route;
  readonly #what: string;
  /** Aborted when the scope ends early (timeout, abort): cancels whatever it still runs. */
  readonly #ending = new AbortController();
  readonly #expectTransaction: boolean;
  #ended = false;
  #iterating = false;

  /** @internal */
  constructor(dispatcher: Dispatcher, route: Route, what: string, expectTransaction = false) {
    this.#dispatcher = dispatcher;
    this.#route = route;
    this.#what = what;
    this.#expectTransaction = expectTransaction;
    // Every operation of the scope listens to this signal while it runs; there may be thousands.
    setMaxListeners(0, this.#ending.signal);
  }

  /** True once the scope ended: every further call rejects with ScopeEndedError. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The first row of the result, or undefined. */
  get<T = Row>(sql: string, params?: Params, options?: QueryOptions & { rowMode?: 'object' }): Promise<T | undefined>;
  get(sql: string, params: Params | undefined, options: ArrayQueryOptions): Promise<SqlOutputValue[] | undefined>;
  get(sql: string, params?: Params, options?: QueryOptions): Promise<unknown> {
    return this.#operation(Op.Get, sql, params, options, QUERY_KEYS);
  }

  /** Every row of the result. */
  all<T = Row>(sql: string, params?: Params, options?: QueryOptions & { rowMode?: 'object' }): Promise<T[]>;
  all(sql: string, params: Params | undefined, options: ArrayQueryOptions): Promise<SqlOutputValue[][]>;
  all(sql: string, params?: Params, options?: QueryOptions): Promise<unknown> {
    return this.#operation(Op.All, sql, params, options, QUERY_KEYS);
  }

  /**
   * Streams the rows of one read statement, `chunkSize` rows per round trip; the next chunk is
   * fetched only when the consumer has taken the last one (backpressure). Stopping early (break,
   * return, throw) ends the statement at once.
   */
  iterate<T = Row>(sql: string, params?: Params, options?: IterateOptions & { rowMode?: 'object' }): AsyncGenerator<T, void, undefined>;
  iterate(sql: string, params: Params | undefined, options: IterateOptions & { rowMode: 'array' }): AsyncGenerator<SqlOutputValue[], void, undefined>;
  async *iterate(sql: string, params?: Params, options?: IterateOptions): AsyncGenerator<unknown, void, undefined> {
    if (this.#ended) throw new ScopeEndedError(this.#what);
    if (this.#iterating) {
      throw Object.assign(outOfRange(`one iteration at a time per ${this.#what}: finish or stop the open one first`), {
        code: 'LITEPOOL_MISUSE',
      });
    }
    const given = checkKeys('options', options, ITERATE_KEYS);
    const chunkRows = given.chunkSize === undefined ? DEFAULT_CHUNK_SIZE : checkInteger('chunkSize', given.chunkSize, 1, 1_000_000);
    const rowMode = given.rowMode === undefined ? 'object' : checkChoice('rowMode', given.rowMode, ['object', 'array'] as const);
    const userSignal = checkSignal(given.signal);
    const timeout = given.timeout === undefined ? this.#dispatcher.defaultTimeout : checkInteger('timeout', given.timeout, 1, MAX_MS);
    const { values, names } = encodeParams(params);
    const iteration = { names: undefined, build: undefined };
    const step = (op: typeof Op.IterateStart | typeof Op.IterateNext): Promise<Chunk> => {
      if (this.#ended) return Promise.reject(new ScopeEndedError(this.#what));
      const signal = userSignal ? AbortSignal.any([userSignal, this.#ending.signal]) : this.#ending.signal;
      return this.#dispatcher.run({
        op,
        ...this.#routeSpec(),
        sql: op === Op.IterateStart ? checkSql(sql) : undefined,
        values: op === Op.IterateStart ? values : undefined,
        names: op === Op.IterateStart ? names : undefined,
        keepTransaction: true,
        expectTransaction: this.#expectTransaction,
        chunkRows,
        iteration,
        rowMode,
        signal,
        timeout,
      }) as Promise<Chunk>;
    };
    let open = false;
    this.#iterating = true;
    try {
      open = true;
      let chunk = await step(Op.IterateStart);
      for (;;) {
        open = chunk.more;
        for (const row of chunk.rows) yield row;
        if (!chunk.more) return;
        chunk = await step(Op.IterateNext);
      }
    } finally {
      this.#iterating = false;
      if (open && !this.#ended) await this.control(Op.IterateEnd).catch(() => undefined);
    }
  }

  /** Runs one statement; reports the changes and the last inserted rowid. */
  run(sql: string, params?: Params, options?: OperationOptions): Promise<RunResult> {
    return this.#operation(Op.Run, sql, params, options, OPERATION_KEYS) as Promise<RunResult>;
  }

  /** Runs one or more statements without parameters. */
  exec(sql: string, options?: OperationOptions): Promise<void> {
    return this.#operation(Op.Exec, sql, undefined, options, OPERATION_KEYS) as Promise<void>;
  }

  /** @internal Marks the scope ended and cancels what it still runs. */
  end(reason?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (reason !== undefined) this.#ending.abort(reason);
  }

  /**
   * @internal Runs SQL on the scope's connection even once it has ended (BEGIN, COMMIT...).
   * `cancellable`: ending the scope early cancels it (a BEGIN waiting for another process's
   * lock). `inTransaction`: refuse to run if SQLite has rolled the transaction back.
   */
  control(
    op: typeof Op.Exec | typeof Op.Reset | typeof Op.IterateEnd,
    sql?: string,
    how: { cancellable?: boolean; inTransaction?: boolean } = {},
  ): Promise<unknown> {
    return this.#dispatcher.run({
      op,
      ...this.#routeSpec(),
      sql,
      keepTransaction: true,
      internal: true,
      expectTransaction: how.inTransaction === true,
      signal: how.cancellable ? this.#ending.signal : undefined,
    });
  }

  /** Runs several statements atomically on the scope's connection (a SAVEPOINT inside a transaction). */
  batch(statements: readonly BatchStatement[], options?: OperationOptions): Promise<RunResult[]> {
    try {
      if (this.#ended) throw new ScopeEndedError(this.#what);
      const given = checkKeys('options', options, OPERATION_KEYS);
      const userSignal = checkSignal(given.signal);
      return this.#dispatcher.run({
        op: Op.Batch,
        ...this.#routeSpec(),
        ...encodeBatch(statements),
        keepTransaction: true,
        expectTransaction: this.#expectTransaction,
        signal: userSignal ? AbortSignal.any([userSignal, this.#ending.signal]) : this.#ending.signal,
        timeout: given.timeout === undefined ? this.#dispatcher.defaultTimeout : checkInteger('timeout', given.timeout, 1, MAX_MS),
      }) as Promise<RunResult[]>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #routeSpec(): { target: Route['target']; session?: WriterSession; reader?: number } {
    const route = this.#route;
    return route.target === Target.Writer ? { target: route.target, session: route.session } : { target: route.target, reader: route.reader };
  }

  #operation(op: Op, sql: string, params: Params | undefined, options: unknown, keys: readonly string[]): Promise<unknown> {
    try {
      if (this.#ended) throw new ScopeEndedError(this.#what);
      const given = checkKeys('options', options, keys);
      const userSignal = checkSignal(given.signal);
      const signal = userSignal ? AbortSignal.any([userSignal, this.#ending.signal]) : this.#ending.signal;
      const { values, names } = encodeParams(params);
      return this.#dispatcher.run({
        op,
        ...this.#routeSpec(),
        sql: checkSql(sql),
        values,
        names,
        keepTransaction: true,
        expectTransaction: this.#expectTransaction,
        returnRows: op === Op.Run ? false : undefined,
        rowMode: given.rowMode === undefined ? 'object' : checkChoice('rowMode', given.rowMode, ['object', 'array'] as const),
        signal,
        timeout: given.timeout === undefined ? this.#dispatcher.defaultTimeout : checkInteger('timeout', given.timeout, 1, MAX_MS),
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
