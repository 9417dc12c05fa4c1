// Owns the pool's own iterations (db.iterate): the first chunk goes to any reader through the
// shared ring; a result that fits it comes back in that one round trip and pins nothing, and a
// longer one keeps the reader that ran it (it pins itself, RequestFlag.HoldReader) until the last
// chunk or an IterateEnd lets it go. A reader held so counts as a pin (ReaderPins.reserve), so
// one reader always stays in the shared ring. When every pin is taken, the first chunk runs
// anyway without one (RequestFlag.FirstChunkOnly): a result that fits needs none, and a longer
// one is started over once a pin is free. While it holds a reader, an iteration is one of the
// pool's holders (the WAL monitor names it, vacuum() waits for it), and maxReadDuration bounds it
// as it bounds a read lease's transaction: past it the statement is ended, the reader let go, and
// the next chunk rejects with TransactionTimeoutError. close() ends the iterations still open.
// Runs on the JS thread.

import type { Holder } from '../connections/holders.ts';
import { PoolClosedError, ScopeEndedError, TransactionTimeoutError } from '../errors.ts';
import { encodeParams } from '../input/params.ts';
import { checkSql } from '../input/validate.ts';
import { Op } from '../native/contract.ts';
import { endOperation, startOperation } from '../observers/query-trace.ts';
import type { QueryTrace } from '../observers/query-trace.ts';
import type { Chunk, Iteration, RequestTrace } from '../request/requests.ts';
import { READERS, readerRoute } from '../request/route.ts';
import type { IterateOptions, Params } from '../types.ts';
import type { PoolContext } from './context.ts';
import type { Lease } from './lease.ts';
import { streamRows, type ChunkSource } from './iteration.ts';
import { checkOptions, type CheckedOptions, type Operations } from './operations.ts';

/** The pool's iterations: started, and ended by close(). */
export class PoolIterations {
  readonly #context: PoolContext;
  readonly #ops: Operations;
  readonly #acquireTimeout: number;
  readonly #maxReadDuration: number;
  /** A lease of the pool (a pool without readers iterates on the writer, through a lease). */
  readonly #lease: (signal: AbortSignal | undefined) => Promise<Lease>;
  readonly #open = new Set<PoolIteration>();

  constructor(context: PoolContext, ops: Operations, acquireTimeout: number, maxReadDuration: number, lease: (signal: AbortSignal | undefined) => Promise<Lease>) {
    this.#context = context;
    this.#ops = ops;
    this.#acquireTimeout = acquireTimeout;
    this.#maxReadDuration = maxReadDuration;
    this.#lease = lease;
  }

  /** db.iterate(): a bad argument or a closed pool rejects the first next(). */
  iterate(sql: string, params: Params | undefined, options: IterateOptions | undefined): AsyncGenerator<unknown, void, undefined> {
    if (this.#context.readers.max === 0) return this.#onLease(sql, params, options);
    return streamRows(() => {
      this.#ops.checkUsable();
      const checked = checkOptions('iterate', options, this.#context.defaults);
      const text = checkSql(sql);
      const { values, names } = encodeParams(params);
      const trace = this.#ops.observed ? this.#ops.trace('iterate', text, params, false) : undefined;
      const limits = { acquireTimeout: this.#acquireTimeout, maxReadDuration: this.#maxReadDuration };
      const iteration = new PoolIteration(this.#context, this.#ops, limits, text, values, names, checked, trace, (done) => this.#open.delete(done));
      this.#open.add(iteration);
      return iteration;
    });
  }

  /** close(): ends every open iteration; their readers serve the shared ring again. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.#open].map((iteration) => iteration.stop()));
  }

  async *#onLease(sql: string, params: Params | undefined, options: IterateOptions | undefined): AsyncGenerator<unknown, void, undefined> {
    this.#ops.checkUsable();
    // Read once: the lease's iteration gets this checked copy, never the caller's object again.
    const checked = checkOptions('iterate', options, this.#context.defaults);
    const lease = await this.#lease(checked.signal);
    try {
      yield* lease.iterateForPool(sql, params, checked);
    } catch (error) {
      if (error instanceof ScopeEndedError) this.#ops.checkUsable(); // the pool closed: PoolClosedError, as its other iterations say
      throw error;
    } finally {
      await lease.release();
    }
  }
}

/** One iteration of the pool: its chunks, the reader it holds, and its end. */
class PoolIteration implements ChunkSource {
  readonly readAhead = true;
  readonly chunkSize: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly #context: PoolContext;
  readonly #ops: Operations;
  readonly #acquireTimeout: number;
  readonly #maxReadDuration: number;
  readonly #sql: string;
  readonly #values: readonly unknown[] | undefined;
  readonly #names: readonly string[] | undefined;
  readonly #checked: CheckedOptions;
  readonly #trace: QueryTrace | undefined;
  readonly #forget: (iteration: PoolIteration) => void;
  readonly #iteration: Iteration = { names: undefined, build: undefined };
  /** A pin is counted for this iteration (ReaderPins.reserve). */
  #reserved = false;
  /** The reader its first chunk kept, or -1. */
  #reader = -1;
  /** The statement is open on #reader, which stays pinned to it until an IterateEnd. */
  #open = false;
  /** Among the pool's holders while the statement is open (its read transaction holds a snapshot). */
  #holder: Holder | undefined;
  /** The chunk on its way, if any. */
  #pending: Promise<unknown> | undefined;
  #releasing: Promise<void> | undefined;
  #stopped = false;
  /** Ends the statement once it has been open for maxReadDuration. */
  #deadline: ReturnType<typeof setTimeout> | undefined;
  /** Why no chunk may run any more: it outlived maxReadDuration. */
  #expired: TransactionTimeoutError | undefined;

  constructor(
    context: PoolContext,
    ops: Operations,
    limits: { readonly acquireTimeout: number; readonly maxReadDuration: number },
    sql: string,
    values: readonly unknown[] | undefined,
    names: readonly string[] | undefined,
    checked: CheckedOptions,
    trace: QueryTrace | undefined,
    forget: (iteration: PoolIteration) => void,
  ) {
    this.#context = context;
    this.#ops = ops;
    this.#acquireTimeout = limits.acquireTimeout;
    this.#maxReadDuration = limits.maxReadDuration;
    this.#sql = sql;
    this.#values = values;
    this.#names = names;
    this.#checked = checked;
    this.#trace = trace;
    this.#forget = forget;
    this.chunkSize = checked.chunkSize;
    this.signal = checked.signal;
  }

  start(rows: number): Promise<Chunk> {
    const first = (): Promise<Chunk> => this.#first(rows);
    const trace = this.#trace;
    return trace === undefined ? first() : startOperation(trace, this.#ops.planned(trace, first));
  }

  next(rows: number): Promise<Chunk> {
    return this.#run(Op.IterateNext, rows, 'hold');
  }

  /**
   * The first chunk. With a pin free, it may keep its reader. With every pin taken it runs
   * without one on the reader that always stays in the shared ring (the reader ends the statement
   * if rows remain): a result that fits is done at once instead of waiting for a lease to end; a
   * longer one waits for a pin like acquire() and starts over, in a fresh read transaction (none
   * of its rows were handed out). A pool of one reader has no reader left in the shared ring
   * while it is pinned: there the first chunk waits for the pin.
   */
  async #first(rows: number): Promise<Chunk> {
    if (this.signal?.aborted) throw this.signal.reason;
    const readers = this.#context.readers;
    if (!readers.keepsOneShared) {
      await readers.reserve(this.#acquireTimeout, this.signal);
    } else if (!readers.tryReserve()) {
      const trace = this.#trace === undefined ? undefined : new FirstChunkTrace(this.#trace);
      let whole: Chunk;
      try {
        whole = await this.#run(Op.IterateStart, rows, 'end', trace);
      } catch (error) {
        trace?.tell(false);
        throw error;
      }
      trace?.tell(!whole.more);
      if (!whole.more) return whole;
      if (this.#stopped) throw new PoolClosedError();
      const waitFrom = performance.now();
      try {
        await readers.reserve(this.#acquireTimeout, this.signal);
      } finally {
        this.#trace?.waitedFor(performance.now() - waitFrom);
      }
    }
    this.#reserved = true;
    return this.#run(Op.IterateStart, rows, 'hold');
  }

  async finish(_open: boolean, failed: boolean, failure: unknown): Promise<void> {
    try {
      await this.#release();
    } finally {
      this.#forget(this);
      if (this.#trace !== undefined) endOperation(this.#trace, undefined, failure, failed);
    }
  }

  /** close(): no chunk after this one; the reader goes back to the shared ring now. */
  stop(): Promise<void> {
    this.#stopped = true;
    return this.#release();
  }

  /** Sends one chunk request; what its chunk says about the reader is noted before anyone sees it. */
  #run(op: typeof Op.IterateStart | typeof Op.IterateNext, rows: number, rowsLeft: 'hold' | 'end', trace: RequestTrace | undefined = this.#trace): Promise<Chunk> {
    if (this.#stopped) return Promise.reject(new PoolClosedError());
    if (this.#expired !== undefined) return Promise.reject(this.#expired);
    const start = op === Op.IterateStart;
    // The read transaction begins when the first chunk runs: no later than now.
    const startedAt = start ? performance.now() : 0;
    const checked = this.#checked;
    const pending = this.#context.requests
      .run({
        op,
        route: start ? READERS : readerRoute(this.#reader),
        sql: start ? this.#sql : undefined,
        values: start ? this.#values : undefined,
        names: start ? this.#names : undefined,
        rowsLeft: start ? rowsLeft : undefined,
        chunkRows: rows,
        iteration: this.#iteration,
        rowMode: checked.rowMode,
        signal: checked.signal,
        timeout: checked.timeout,
        trace,
      })
      .then((chunk) => {
        // A first chunk with rows left and no pin: its reader ended the statement; #first starts over.
        if (rowsLeft === 'end') return chunk;
        if (start && chunk.more) {
          // The reader pinned itself to the statement: it counts as held until the end.
          this.#reader = chunk.reader;
          this.#open = true;
          this.#context.readers.hold(chunk.reader);
          this.#holder = this.#context.holders.begin('iteration', this.#sql);
          this.#armDeadline(startedAt);
        } else if (!chunk.more) {
          // The last chunk ended the statement and let the reader go.
          this.#open = false;
          this.#unhold();
        }
        // A chunk that came back after the deadline is not handed out: the iteration has ended.
        if (this.#expired !== undefined) throw this.#expired;
        return chunk;
      });
    this.#pending = pending;
    return pending;
  }

  /**
   * maxReadDuration after the first chunk was sent, an iteration still open is ended: its reader
   * is let go now (the statement ended, its read transaction with it, so the WAL can be
   * checkpointed past it) and its next chunk rejects with TransactionTimeoutError.
   */
  #armDeadline(startedAt: number): void {
    const bound = this.#maxReadDuration;
    this.#deadline = setTimeout(
      () => {
        this.#deadline = undefined;
        if (!this.#open || this.#stopped) return;
        this.#expired = new TransactionTimeoutError(bound, "iteration's read transaction");
        this.#release().catch(() => undefined);
      },
      Math.max(1, bound - (performance.now() - startedAt)),
    );
    this.#deadline.unref();
  }

  /** Waits for the chunk on its way, ends the statement if it is open, and gives the pin back. */
  #release(): Promise<void> {
    return (this.#releasing ??= this.#releaseNow().finally(() => {
      this.#releasing = undefined;
    }));
  }

  async #releaseNow(): Promise<void> {
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#deadline = undefined;
    if (this.#pending !== undefined) await this.#pending.catch(() => undefined);
    this.#unhold();
    if (this.#open) {
      this.#open = false;
      // Runs even when the chunk before it was cancelled; it also unpins the reader.
      await this.#context.requests.run({ op: Op.IterateEnd, route: readerRoute(this.#reader), internal: true }).catch(() => undefined);
    }
    if (this.#reserved) {
      this.#reserved = false;
      this.#context.readers.unreserve(this.#reader);
    }
  }

  #unhold(): void {
    if (this.#holder === undefined) return;
    this.#context.holders.end(this.#holder);
    this.#holder = undefined;
  }
}

/**
 * The trace of a first chunk run without a pin: its completion reaches the operation's trace only
 * once the chunk's fate is known, without its rows when they were dropped (the iteration started
 * over), so the operation's row count is the rows handed out. Its run time counts either way.
 */
class FirstChunkTrace implements RequestTrace {
  readonly #trace: RequestTrace;
  #completion: Parameters<RequestTrace['completed']> | undefined;

  constructor(trace: RequestTrace) {
    this.#trace = trace;
  }

  get counters(): boolean {
    return this.#trace.counters;
  }

  get settlesWithRequest(): boolean {
    return this.#trace.settlesWithRequest;
  }

  admit(writer: boolean, writes: boolean): unknown {
    return this.#trace.admit(writer, writes);
  }

  rerouted(): unknown {
    return this.#trace.rerouted();
  }

  parked(): void {
    this.#trace.parked();
  }

  submitted(): void {
    this.#trace.submitted();
  }

  completed(...completion: Parameters<RequestTrace['completed']>): void {
    this.#completion = completion;
  }

  settled(ok: boolean, value: unknown, at: number | undefined): void {
    this.#trace.settled(ok, value, at);
  }

  /** Tells the operation's trace (once) what the chunk ran; `kept`: its rows were handed out. */
  tell(kept: boolean): void {
    const completion = this.#completion;
    if (completion === undefined) return;
    this.#completion = undefined;
    if (!kept) completion[2] = 0;
    this.#trace.completed(...completion);
  }
}
