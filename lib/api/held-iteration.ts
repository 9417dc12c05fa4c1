// Owns what the pool's iterations (db.iterate) share, whatever connection they hold: a result that
// fits its first chunk holds nothing once that chunk is back, and a longer one holds its
// connection (a reader, or the writer in a pool without readers) only while rows remain: the
// connection is let go as soon as the last chunk arrives, before the consumer's loop body runs on
// its rows, or when the iteration stops, outlives maxReadDuration, the pool closes or its iterator
// is garbage collected unfinished (abandon()). While it holds a connection the iteration is one
// of the pool's holders (the WAL monitor names it, vacuum() waits for it). Its trace (onQuery,
// `litepool:query`) ends once: when its consumer finishes or stops it, or when the pool ends it
// first (close(), maxReadDuration, abandon()), since that consumer may never pull again; the pool
// forgets it then too. Runs on the JS thread.

import type { Holder } from '../connections/holders.ts';
import { PoolClosedError, TransactionTimeoutError } from '../errors.ts';
import { Op } from '../native/contract.ts';
import { endOperation, startOperation } from '../observers/query-trace.ts';
import type { QueryTrace } from '../observers/query-trace.ts';
import type { Chunk, IterateRequest, Iteration } from '../request/requests.ts';
import type { Route } from '../request/route.ts';
import type { PoolContext } from './context.ts';
import { FirstChunkBound } from './first-chunk.ts';
import type { ChunkSource } from './iteration.ts';
import type { CheckedOptions, Operations } from './operations.ts';

function ignore(): void {}

/** What an iteration of the pool is made with. */
export interface IterationSetup {
  readonly context: PoolContext;
  readonly ops: Operations;
  readonly acquireTimeout: number;
  readonly maxReadDuration: number;
  readonly sql: string;
  readonly values: readonly unknown[] | undefined;
  readonly names: readonly string[] | undefined;
  readonly checked: CheckedOptions;
  readonly trace: QueryTrace | undefined;
  /** Takes the iteration off the pool's open ones once it has ended (`watched`: as watch() left it). */
  readonly forget: (iteration: HeldIteration, watched: boolean) => void;
  /** Its iterator, collected before the iteration ended, ends it (abandon()). */
  readonly watch: (iteration: HeldIteration, iterator: object) => void;
}

/** How one chunk's request is sent (IterateStart's `rowsLeft`, its trace, signal and timeout, and whether it `continues` the operation). */
export type ChunkRequest = Pick<IterateRequest, 'rowsLeft' | 'trace' | 'signal' | 'timeout' | 'continues'>;

/** One iteration of the pool: its chunks, the connection it holds, and its end. */
export abstract class HeldIteration implements ChunkSource {
  readonly readAhead = true;
  readonly chunkSize: number | undefined;
  readonly signal: AbortSignal | undefined;
  protected readonly setup: IterationSetup;
  readonly #iteration: Iteration = { names: undefined, build: undefined };
  /** The statement is open on the connection held, which stays held until its end. */
  #open = false;
  /** Among the pool's holders while the statement is open (its read transaction holds a snapshot). */
  #holder: Holder | undefined;
  /**
   * The chunk on its way, if any (with the letting go of the connection after a last chunk), until
   * it is handed over (the pool keeps this iteration until it ends, not what it fetched).
   */
  #pending: Promise<Chunk> | undefined;
  /** The first next() while it runs (its wait for a connection, and what it sends after it). */
  #starting: Promise<Chunk> | undefined;
  #releasing: Promise<void> | undefined;
  #stopped = false;
  /** The bound of the first next() while it runs. */
  #first: FirstChunkBound | undefined;
  /** Ends the statement once it has been open for maxReadDuration. */
  #deadline: ReturnType<typeof setTimeout> | undefined;
  /** Why no chunk may run any more: it outlived maxReadDuration. */
  #expired: TransactionTimeoutError | undefined;
  /** The last chunk arrived: the statement ended on its own. */
  #complete = false;
  /** What a chunk (or the first next()'s wait) rejected with first: the consumer's pull of it rejects with it. */
  #failure: { readonly error: unknown } | undefined;
  /** The operation's trace has ended (the consumer finished, or the pool ended the iteration): never twice. */
  #traceEnded = false;
  /** Its consumer's iterator, until the first chunk is back (#firstBack()); then whether it is watched. */
  #iterator: object | undefined;
  #watched = false;

  constructor(setup: IterationSetup, iterator?: object) {
    this.setup = setup;
    this.chunkSize = setup.checked.chunkSize;
    this.signal = setup.checked.signal;
    this.#iterator = iterator;
  }

  /** close() ended the iteration (or its iterator was collected unfinished). */
  protected get stopped(): boolean {
    return this.#stopped;
  }

  /** The first chunk: a connection to hold (waited for within `bound`), then the chunk. */
  protected abstract first(rows: number, bound: FirstChunkBound): Promise<Chunk>;
  /** Where the chunks of the statement run (`start`: its first chunk). */
  protected abstract route(start: boolean): Route;
  /** The first chunk left rows: it holds `chunk.reader` until the statement ends. */
  protected abstract held(chunk: Chunk): void;
  /**
   * Lets the connection go (`open`: the statement is still open on it: it is ended first), and
   * what to wait for then, if anything. Called once the statement ended or was given up; calling
   * it again does nothing.
   */
  protected abstract letGo(open: boolean): Promise<void> | undefined;

  start(rows: number): Promise<Chunk> {
    const { context, checked, sql, trace, ops } = this.setup;
    const first = (): Promise<Chunk> => {
      // close() waits for all of it before letting the connection go (and ends its wait for one);
      // #begin() lets it go once settled (or settled it at once).
      const starting = this.#begin(rows, new FirstChunkBound(context.requests, checked.signal, checked.timeout, sql));
      if (this.#first !== undefined) this.#starting = starting;
      return starting;
    };
    return trace === undefined ? first() : startOperation(trace, ops.planned(trace, first));
  }

  async #begin(rows: number, bound: FirstChunkBound): Promise<Chunk> {
    this.#first = bound;
    try {
      bound.checkAborted();
      return await this.first(rows, bound);
    } catch (error) {
      this.#failure ??= { error };
      throw error;
    } finally {
      this.#first = undefined;
      this.#starting = undefined;
      bound.done();
    }
  }

  next(rows: number): Promise<Chunk> {
    return this.run(Op.IterateNext, rows);
  }

  async finish(_open: boolean, failed: boolean, failure: unknown): Promise<void> {
    try {
      // A statement that ended on its own let its connection go before its last chunk was handed
      // over (and no chunk is on its way now): nothing is left to let go unless the pool is at it.
      if (!this.#complete || this.#releasing !== undefined) await this.#release();
    } finally {
      this.setup.forget(this, this.#watched);
      this.#endTrace(failure, failed);
    }
  }

  /** The first chunk is back: its iterator is watched if anything would be left to end were it dropped unfinished (a connection held, a trace), else the pool forgets the iteration now. */
  #firstBack(): void {
    const iterator = this.#iterator;
    if (iterator === undefined) return;
    this.#iterator = undefined;
    if (this.#stopped) return;
    if (this.#open || this.setup.trace !== undefined) {
      this.#watched = true;
      this.setup.watch(this, iterator);
    } else this.setup.forget(this, false);
  }

  /** close(): no chunk after this one; the connection is let go now, and the trace ends (endedByPool). */
  stop(): Promise<void> {
    this.#stopped = true;
    this.#first?.close(new PoolClosedError());
    return this.#release().finally(() => this.#endedByPool(new PoolClosedError()));
  }

  /**
   * Its consumer's iterator was garbage collected before it finished: no one pulls again, so the
   * connection is let go now and the trace ends as for a consumer that stopped early (or with the
   * chunk that failed); the pool forgets it.
   */
  abandon(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    void this.#release()
      .catch(ignore)
      .then(() => {
        this.#endedByPool(undefined, false);
        this.setup.forget(this, this.#watched);
      });
  }

  /**
   * The pool ended the iteration (close(), maxReadDuration; `cut`: what a pull past the rows
   * fetched rejects with), its connection let go: its consumer may never pull again (nor stop
   * it), so the trace ends now, once, with what that consumer's pulls come to: the rejection of a
   * chunk that failed, success when the last chunk had arrived, else `cut`. The consumer's own
   * end later (finish()) ends it no more.
   */
  #endedByPool(cut: unknown, failed = true): void {
    const failure = this.#failure;
    if (failure !== undefined) this.#endTrace(failure.error, true);
    else if (this.#complete) this.#endTrace(undefined, false);
    else this.#endTrace(cut, failed);
  }

  /** Ends the operation's trace (QueryEvent, `litepool:query` asyncEnd), the first time only. */
  #endTrace(failure: unknown, failed: boolean): void {
    if (this.#traceEnded) return;
    this.#traceEnded = true;
    const trace = this.setup.trace;
    if (trace !== undefined) endOperation(trace, undefined, failure, failed);
  }

  /** Sends one chunk request; what its chunk says about the connection is acted on before anyone sees it. */
  protected run(op: typeof Op.IterateStart | typeof Op.IterateNext, rows: number, how: ChunkRequest = {}): Promise<Chunk> {
    if (this.#stopped) return Promise.reject(new PoolClosedError());
    if (this.#expired !== undefined) return Promise.reject(this.#expired);
    const start = op === Op.IterateStart;
    // The read transaction begins when the first chunk runs: no later than now.
    const startedAt = start ? performance.now() : 0;
    const { context, sql, values, names, checked, trace } = this.setup;
    const rowsLeft = how.rowsLeft;
    const fail = (error: unknown): never => {
      this.#failure ??= { error };
      if (this.#pending === pending) this.#pending = undefined;
      throw error;
    };
    const pending: Promise<Chunk> = context.requests
      .run({
        op,
        route: this.route(start),
        sql: start ? sql : undefined,
        values: start ? values : undefined,
        names: start ? names : undefined,
        rowsLeft: start ? rowsLeft : undefined,
        continues: how.continues,
        chunkRows: rows,
        iteration: this.#iteration,
        rowMode: checked.rowMode,
        signal: start ? how.signal : checked.signal,
        timeout: start ? how.timeout : checked.timeout,
        trace: how.trace ?? trace,
      })
      .then((chunk) => {
        try {
          const letting = this.#arrived(chunk, start, rowsLeft, startedAt);
          return letting === undefined ? this.#handOver(chunk, start, pending) : letting.then(() => this.#handOver(chunk, start, pending), fail);
        } catch (error) {
          return fail(error);
        }
      }, fail);
    this.#pending = pending;
    return pending;
  }

  /** What a chunk says about the connection, acted on: what to wait for before handing it over, if anything. */
  #arrived(chunk: Chunk, start: boolean, rowsLeft: ChunkRequest['rowsLeft'], startedAt: number): Promise<void> | undefined {
    if (!chunk.more) this.#complete = true;
    // A first chunk with rows left and no reader to hold: its reader ended the statement.
    if (rowsLeft === 'end') return undefined;
    if (!chunk.more) {
      // The last chunk ended the statement: the connection goes now, before its rows are handed out.
      this.#open = false;
      this.#unhold();
      this.#clearDeadline();
      return this.letGo(false);
    }
    if (start) {
      this.held(chunk);
      this.#open = true;
      this.#holder = this.setup.context.holders.begin('iteration', this.setup.sql);
      // Not once the iteration is being let go (close(), return()): no timer outlives it.
      if (!this.#stopped && this.#releasing === undefined) this.#armDeadline(startedAt);
    }
    return undefined;
  }

  /** The chunk, unless the iteration ended meanwhile; the pool keeps it no longer. */
  #handOver(chunk: Chunk, start: boolean, pending: Promise<Chunk>): Chunk {
    if (this.#pending === pending) this.#pending = undefined;
    // A first chunk with rows left and no reader to hold is not the first chunk handed over.
    if (start && (chunk.more === false || this.#open)) this.#firstBack();
    // A chunk that came back after the deadline is not handed out: the iteration has ended.
    if (this.#expired !== undefined) {
      this.#failure ??= { error: this.#expired };
      throw this.#expired;
    }
    return chunk;
  }

  /**
   * maxReadDuration after the first chunk was sent, an iteration still open is ended: its
   * connection is let go now (the statement ended, its read transaction with it, so the WAL can be
   * checkpointed past it) and its next chunk rejects with TransactionTimeoutError.
   */
  #armDeadline(startedAt: number): void {
    const bound = this.setup.maxReadDuration;
    this.#deadline = setTimeout(
      () => {
        this.#deadline = undefined;
        if (!this.#open || this.#stopped) return;
        const expired = new TransactionTimeoutError(bound, this.expiredWhat);
        this.#expired = expired;
        // Reported and forgotten now: its consumer may never pull again.
        this.#release()
          .catch(ignore)
          .then(() => {
            this.#endedByPool(expired);
            this.setup.forget(this, this.#watched);
          });
      },
      Math.max(1, bound - (performance.now() - startedAt)),
    );
    this.#deadline.unref();
  }

  /** What a TransactionTimeoutError past maxReadDuration names. */
  protected get expiredWhat(): string {
    return "iteration's read transaction";
  }

  #clearDeadline(): void {
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  /** Waits for the chunk on its way, ends the statement if it is open, and lets the connection go. */
  #release(): Promise<void> {
    return (this.#releasing ??= this.#releaseNow().finally(() => {
      this.#releasing = undefined;
    }));
  }

  async #releaseNow(): Promise<void> {
    this.#clearDeadline();
    // Their failures are the consumer's: only their settling matters here.
    if (this.#starting !== undefined) await this.#starting.then(ignore, ignore);
    if (this.#pending !== undefined) await this.#pending.then(ignore, ignore);
    this.#clearDeadline();
    this.#unhold();
    const open = this.#open;
    this.#open = false;
    await this.letGo(open);
  }

  #unhold(): void {
    if (this.#holder === undefined) return;
    this.setup.context.holders.end(this.#holder);
    this.#holder = undefined;
  }
}
