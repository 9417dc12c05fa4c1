// Owns the connection-bound handles users get inside transactions, snapshots, leases and the
// onConnection hook: a Scope runs every operation on one connection (the writer through a
// session, or one pinned reader) and refuses to run anything once it has ended. A transaction's
// scope counts its calls until they settle (CallTracker).
// Runs on the JS thread.

import { setMaxListeners } from 'node:events';
import type { Holders } from '../connections/holders.ts';
import { ScopeEndedError, misuse } from '../errors.ts';
import { encodeParams } from '../input/params.ts';
import type { RowBlock } from '../input/row-block.ts';
import { checkSql } from '../input/validate.ts';
import { Op } from '../native/contract.ts';
import type { Chunk, Iteration, RequestRunner } from '../request/requests.ts';
import type { Route } from '../request/route.ts';
import type {
  ArrayQueryOptions,
  BatchStatement,
  IterateOptions,
  OperationOptions,
  Params,
  QueryOptions,
  Row,
  RunResult,
  ScopeOperations,
  SqlOutputValue,
} from '../types.ts';
import type { PoolContext } from './context.ts';
import { endOperation, startOperation } from '../observers/query-trace.ts';
import { streamRows, trackedRows, type ChunkSource } from './iteration.ts';
import { Operations, checkOptions, type CheckedOptions } from './operations.ts';

/**
 * @internal The iteration open on a connection, shared by every scope on it (a transaction and
 * its nested ones): the connection holds one open statement for iterations, and a second
 * IterateStart would silently end the first.
 */
export interface IterationSlot {
  open: { by: string; sql: string } | undefined;
}

/** @internal What counts a transaction's calls until they settle (RunningCalls, transaction.ts). */
export interface CallTracker {
  track<T>(call: Promise<T>): Promise<T>;
}

/** Operations on one connection. Base of Transaction, Lease and ConnectionHandle. */
export class Scope implements ScopeOperations {
  readonly #requests: RequestRunner;
  readonly #holders: Holders;
  readonly #route: Route;
  readonly #what: string;
  readonly #ops: Operations;
  /** Aborted when the scope ends early (timeout, abort): cancels whatever it still runs. */
  readonly #ending = new AbortController();
  readonly #expectTransaction: boolean;
  #ended = false;
  /** What calls refused after the end get, when the end named it (the pool closed); else ScopeEndedError. */
  #refusal: (() => Error) | undefined;
  readonly #slot: IterationSlot;
  /** Ends the open iteration when the scope ends first. */
  #cutIteration: ((reason: unknown) => void) | undefined;
  /** A transaction's: its calls still running. */
  readonly #calls: CallTracker | undefined;

  /** @internal */
  constructor(context: PoolContext, route: Route, what: string, expectTransaction = false, slot: IterationSlot = { open: undefined }, calls?: CallTracker) {
    this.#slot = slot;
    this.#calls = calls;
    this.#requests = context.requests;
    this.#holders = context.holders;
    this.#route = route;
    this.#what = what;
    this.#expectTransaction = expectTransaction;
    this.#ops = Operations.forScope(context.requests, context.defaults, route, this.#ending.signal, expectTransaction, context.observers);
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
    return this.#tracked(this.#ops.start(Op.Get, sql, params, options));
  }

  /** Every row of the result. */
  all<T = Row>(sql: string, params?: Params, options?: QueryOptions & { rowMode?: 'object' }): Promise<T[]>;
  all(sql: string, params: Params | undefined, options: ArrayQueryOptions): Promise<SqlOutputValue[][]>;
  all(sql: string, params?: Params, options?: QueryOptions): Promise<unknown> {
    return this.#tracked(this.#ops.start(Op.All, sql, params, options));
  }

  /**
   * Streams the rows of one read statement in chunks (growing from 256 rows, or `chunkSize` rows
   * each); the next chunk is fetched only when the consumer has taken the last one
   * (backpressure). Stopping early (break, return, throw) ends the statement at once. One
   * iteration at a time per connection (nested transactions share their parent's): another one
   * while this is open is refused with LITEPOOL_MISUSE.
   */
  iterate<T = Row>(sql: string, params?: Params, options?: IterateOptions & { rowMode?: 'object' }): AsyncGenerator<T, void, undefined>;
  iterate(sql: string, params: Params | undefined, options: IterateOptions & { rowMode: 'array' }): AsyncGenerator<SqlOutputValue[], void, undefined>;
  iterate(sql: string, params?: Params, options?: IterateOptions): AsyncGenerator<unknown, void, undefined> {
    return this.#iterate(sql, params, () => checkOptions('iterate', options, this.#ops.defaults), true);
  }

  #iterate(sql: string, params: Params | undefined, check: () => CheckedOptions, inTransaction: boolean): AsyncGenerator<unknown, void, undefined> {
    const rows = streamRows(() => this.#iterationSource(sql, params, check, inTransaction));
    // In a transaction, its pulls are the transaction's calls (running-calls.ts).
    return this.#calls === undefined ? rows : trackedRows(rows, (call) => this.#tracked(call));
  }

  /** The chunks of one iteration on the scope's connection, fetched as the consumer pulls. */
  #iterationSource(sql: string, params: Params | undefined, check: () => CheckedOptions, inTransaction: boolean): ChunkSource {
    if (this.#ended) throw this.refused(() => new ScopeEndedError(this.#what));
    const open = this.#slot.open;
    if (open !== undefined) {
      const refused = typeof sql === 'string' ? sql : undefined;
      throw misuse(`one iteration at a time per connection: the ${open.by}'s iteration (${preview(open.sql)}) is still open on this ${this.#what}'s connection; finish or stop it first`, { sql: refused });
    }
    const checked = check();
    // Everything that may refuse the call comes before the signal join (released only when the iteration ends).
    const text = checkSql(sql);
    const { values, names } = encodeParams(params);
    const trace = this.#ops.observed ? this.#ops.trace('iterate', text, params, inTransaction) : undefined;
    const iteration: Iteration = { names: undefined, build: undefined };
    const { signal, release: releaseSignal } = this.#ops.signalFor(checked.signal);
    /** Why the iteration ended with the scope, once it did. */
    let cut: Error | undefined;
    /** The statement may be open on the connection: IterateStart sent, and no chunk said it was the last. */
    let live = false;
    const step = (op: typeof Op.IterateStart | typeof Op.IterateNext, rows: number): Promise<Chunk> => {
      if (this.#ended) return Promise.reject(cut ?? this.refused(() => new ScopeEndedError(this.#what)));
      const start = op === Op.IterateStart;
      live = true;
      const chunk = this.#requests.run({
        op,
        route: this.#route,
        sql: start ? text : undefined,
        values: start ? values : undefined,
        names: start ? names : undefined,
        keepTransaction: true,
        expectTransaction: this.#expectTransaction,
        chunkRows: rows,
        iteration,
        rowMode: checked.rowMode,
        signal,
        timeout: checked.timeout,
        trace,
      });
      return chunk.then((received) => {
        if (!received.more) live = false;
        return received;
      });
    };
    // The connection's iteration is this one until it ends (close), whichever scope on it asks.
    const mine = { by: this.#what, sql: text };
    this.#slot.open = mine;
    // Its open statement holds a snapshot: the WAL monitor names it, vacuum() waits for its end.
    const holder = this.#holders.begin('iteration', mine.sql);
    let closed = false;
    /** Takes the iteration off the scope and the holders, once: false when that was done already. */
    const close = (): boolean => {
      if (closed) return false;
      closed = true;
      releaseSignal();
      this.#holders.end(holder);
      if (this.#slot.open === mine) this.#slot.open = undefined;
      this.#cutIteration = undefined;
      return true;
    };
    // The scope ends while the iteration is open (its consumer neither finished nor stopped it):
    // the statement is ended before whatever the scope's owner runs next on the connection (its
    // COMMIT, RELEASE, rollback or release), and the consumer's next pull rejects.
    this.#cutIteration = (reason) => {
      cut = this.refused(() => new ScopeEndedError(this.#what));
      close();
      if (live) this.control(Op.IterateEnd).catch(() => undefined);
      if (trace !== undefined) endOperation(trace, undefined, reason ?? cut, true);
    };
    return {
      chunkSize: checked.chunkSize,
      signal,
      // The scope's other operations share the connection: a chunk is stepped only when asked for.
      readAhead: false,
      ended: () => cut,
      start: (rows) => {
        const first = () => step(Op.IterateStart, rows);
        return trace === undefined ? first() : startOperation(trace, this.#ops.planned(trace, first));
      },
      next: (rows) => step(Op.IterateNext, rows),
      finish: async (open, failed, failure) => {
        // Ended with the scope: the scope's end did all of this.
        if (!close()) return;
        if (open && !this.#ended) await this.control(Op.IterateEnd).catch(() => undefined);
        if (trace !== undefined) endOperation(trace, undefined, failure, failed);
      },
    };
  }

  /** Runs one statement; reports the changes and the last inserted rowid. */
  run(sql: string, params?: Params, options?: OperationOptions): Promise<RunResult> {
    return this.#tracked(this.#ops.start(Op.Run, sql, params, options) as Promise<RunResult>);
  }

  /** Runs one or more statements without parameters. */
  exec(sql: string, options?: OperationOptions): Promise<void> {
    return this.#tracked(this.#ops.start(Op.Exec, sql, undefined, options) as Promise<void>);
  }

  /** Runs several statements atomically on the scope's connection (a SAVEPOINT inside a transaction). */
  batch(statements: readonly BatchStatement[], options?: OperationOptions): Promise<RunResult[]> {
    return this.#tracked(this.#ops.start(Op.Batch, statements, undefined, options) as Promise<RunResult[]>);
  }

  /** @internal One block of insertMany's rows, in the scope's transaction (Operations.insertRows). */
  insertRows(sql: string, block: RowBlock): Promise<number> {
    return this.#tracked(this.#ops.insertRows(sql, block, undefined));
  }

  /** A call as its caller gets it: a transaction's counts among its running calls until it settles (refused ones once ended do not). */
  #tracked<T>(call: Promise<T>): Promise<T> {
    return this.#calls === undefined || this.#ended ? call : this.#calls.track(call);
  }

  /**
   * @internal Marks the scope ended and cancels what it still runs (with `reason`, when given).
   * Later calls reject with `refusal()` (PoolClosedError when the pool closed it), by default
   * with ScopeEndedError.
   */
  end(reason?: unknown, refusal?: () => Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#refusal = refusal;
    this.#ops.stop(refusal ?? (() => new ScopeEndedError(this.#what)));
    if (reason !== undefined) this.#ending.abort(reason);
    this.#cutIteration?.(reason);
  }

  /** @internal The error a call refused now that the scope has ended gets: the end's own, else `fallback()`. */
  refused(fallback: () => Error): Error {
    return (this.#refusal ?? fallback)();
  }

  /** @internal Reads the first row (as an array) of `sql` on the scope's connection, even once it has ended (a pragma's value). */
  controlRead(sql: string): Promise<unknown[] | undefined> {
    const request = { op: Op.Get, route: this.#route, sql, values: undefined, names: undefined, rowMode: 'array', keepTransaction: true, internal: true } as const;
    return this.#requests.run(request) as Promise<unknown[] | undefined>;
  }

  /**
   * @internal Runs SQL (Exec) or a reset or iteration end on the scope's connection, even once
   * it has ended (BEGIN, COMMIT...). `cancellable`: ending the scope early cancels it (a BEGIN
   * waiting for another process's lock). `inTransaction`: refuse to run if SQLite has rolled the
   * transaction back.
   */
  control(op: typeof Op.Exec, sql: string, how?: { cancellable?: boolean; inTransaction?: boolean }): Promise<unknown>;
  control(op: typeof Op.Reset | typeof Op.IterateEnd): Promise<unknown>;
  control(op: typeof Op.Exec | typeof Op.Reset | typeof Op.IterateEnd, sql?: string, how: { cancellable?: boolean; inTransaction?: boolean } = {}): Promise<unknown> {
    const common = {
      route: this.#route,
      keepTransaction: true,
      internal: true,
      expectTransaction: how.inTransaction === true,
      signal: how.cancellable ? this.#ending.signal : undefined,
    };
    return op === Op.Exec ? this.#requests.run({ op, sql: sql!, ...common }) : this.#requests.run({ op, ...common });
  }
}

/** The start of an iteration's SQL, for an error naming it. */
function preview(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > 80 ? `${flat.slice(0, 77)}...` : flat);
}
