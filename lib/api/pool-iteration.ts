// Owns the pool's own iterations (db.iterate): started, and ended by close() or, for an iterator
// dropped unfinished, once the garbage collector takes it (the pool keeps what ending an iteration
// takes, never its rows, nor its iterator once the first chunk is back; one that has nothing left
// to end then, a result that fits its first chunk with no observer, is forgotten). On a pool with
// readers (ReaderIteration, here) the first chunk goes to any reader through the shared ring; a
// result that fits it comes back in that one round trip and pins nothing, and a longer one keeps
// the reader that ran it (it pins itself, RequestFlag.HoldReader) until the last chunk or an
// IterateEnd lets it go. A reader held so counts as a pin (ReaderPins.reserve), so one reader
// always stays in the shared ring. When every pin is taken, the first chunk runs anyway without
// one (RequestFlag.FirstChunkOnly): a result that fits needs none, and a longer one is started
// over once a pin is free. A pool without readers iterates on the writer (writer-iteration.ts).
// What both share (holding the connection only while rows remain, maxReadDuration, close()):
// held-iteration.ts; the bound of the first next() (signal, timeout, acquireTimeout):
// first-chunk.ts. Runs on the JS thread.

import { PoolClosedError } from '../errors.ts';
import { encodeParams } from '../input/params.ts';
import { checkSql } from '../input/validate.ts';
import { Op } from '../native/contract.ts';
import type { Chunk } from '../request/requests.ts';
import { READERS, readerRoute, type Route } from '../request/route.ts';
import type { IterateOptions, Params } from '../types.ts';
import type { PoolContext } from './context.ts';
import { FirstChunkTrace, type FirstChunkBound } from './first-chunk.ts';
import { HeldIteration, type IterationSetup } from './held-iteration.ts';
import { streamRows } from './iteration.ts';
import { checkOptions, type Operations } from './operations.ts';
import { WriterIteration } from './writer-iteration.ts';

/** The pool's iterations: started, and ended by close() (or when their iterator is collected unfinished). */
export class PoolIterations {
  readonly #context: PoolContext;
  readonly #ops: Operations;
  readonly #acquireTimeout: number;
  readonly #maxReadDuration: number;
  /** Started and not yet ended (nor forgotten at their first chunk): what ending them takes. */
  readonly #open = new Set<HeldIteration>();
  /**
   * The iterators of iterations that had something left to end once their first chunk was back (a
   * reader held, a trace): one collected before its iteration ended ends it (abandon()).
   */
  readonly #dropped = new FinalizationRegistry<HeldIteration>((iteration) => iteration.abandon());
  readonly #watch = (iteration: HeldIteration, iterator: object): void => this.#dropped.register(iterator, iteration, iteration);
  readonly #forget = (iteration: HeldIteration, watched: boolean): void => {
    this.#open.delete(iteration);
    if (watched) this.#dropped.unregister(iteration);
  };

  constructor(context: PoolContext, ops: Operations, acquireTimeout: number, maxReadDuration: number) {
    this.#context = context;
    this.#ops = ops;
    this.#acquireTimeout = acquireTimeout;
    this.#maxReadDuration = maxReadDuration;
  }

  /** db.iterate(): a bad argument or a closed pool rejects the first next(). */
  iterate(sql: string, params: Params | undefined, options: IterateOptions | undefined): AsyncGenerator<unknown, void, undefined> {
    const rows: AsyncGenerator<unknown, void, undefined> = streamRows(() => {
      this.#ops.checkUsable();
      const checked = checkOptions('iterate', options, this.#context.defaults);
      const text = checkSql(sql);
      const { values, names } = encodeParams(params);
      const trace = this.#ops.observed ? this.#ops.trace('iterate', text, params, false) : undefined;
      const setup: IterationSetup = {
        context: this.#context,
        ops: this.#ops,
        acquireTimeout: this.#acquireTimeout,
        maxReadDuration: this.#maxReadDuration,
        sql: text,
        values,
        names,
        checked,
        trace,
        forget: this.#forget,
        watch: this.#watch,
      };
      // Until its first chunk is back it holds `rows` (which a chunk on its way keeps anyway).
      const iteration = this.#context.readers.max === 0 ? new WriterIteration(setup, rows) : new ReaderIteration(setup, rows);
      this.#open.add(iteration);
      return iteration;
    });
    return rows;
  }

  /** close(): ends every open iteration; the connections they hold serve the pool again. */
  async stop(): Promise<void> {
    const open = [...this.#open];
    // Forgotten now: one its consumer never finishes (nor stops) is not kept by the closed pool.
    this.#open.clear();
    await Promise.allSettled(open.map((iteration) => iteration.stop()));
  }
}

/** An iteration on a reader, held while rows remain. */
class ReaderIteration extends HeldIteration {
  /** A pin is counted for this iteration (ReaderPins.reserve). */
  #reserved = false;
  /** The reader its first chunk kept, or -1. */
  #reader = -1;

  /**
   * With a pin free, the first chunk may keep its reader. With every pin taken it runs without
   * one on the reader that always stays in the shared ring (the reader ends the statement if rows
   * remain): a result that fits is done at once instead of waiting for a lease to end; a longer
   * one waits for a pin like acquire() and starts over, in a fresh read transaction (none of its
   * rows were handed out). A pool of one reader has no reader left in the shared ring while it
   * is pinned: there the first chunk waits for the pin.
   */
  protected async first(rows: number, bound: FirstChunkBound): Promise<Chunk> {
    const readers = this.setup.context.readers;
    if (readers.tryReserve()) {
      this.#reserved = true;
      return this.run(Op.IterateStart, rows, { rowsLeft: 'hold', ...bound.request });
    }
    if (readers.keepsOneShared) {
      const outer = this.setup.trace;
      const trace = outer === undefined ? undefined : new FirstChunkTrace(outer);
      let whole: Chunk;
      try {
        whole = await this.run(Op.IterateStart, rows, { rowsLeft: 'end', trace, ...bound.request });
      } catch (error) {
        trace?.tell(false);
        throw error;
      }
      trace?.tell(!whole.more);
      if (!whole.more) return whole;
      // What is sent from now on continues the operation that chunk counted (stats().operations).
      bound.continues = true;
      if (this.stopped) throw new PoolClosedError();
    }
    const waited = this.setup.trace === undefined ? undefined : (ms: number) => this.setup.trace!.waitedFor(ms);
    await bound.wait((signal) => readers.reserve(this.setup.acquireTimeout, signal), waited);
    this.#reserved = true;
    return this.run(Op.IterateStart, rows, { rowsLeft: 'hold', ...bound.request });
  }

  protected route(start: boolean): Route {
    return start ? READERS : readerRoute(this.#reader);
  }

  protected held(chunk: Chunk): void {
    // The reader pinned itself to the statement: it counts as held until the end.
    this.#reader = chunk.reader;
    this.setup.context.readers.hold(chunk.reader);
  }

  /** Ends the statement if it is open (which also unpins the reader), and gives the pin back. */
  protected letGo(open: boolean): Promise<void> | undefined {
    if (open) return this.#end();
    this.#unreserve();
    return undefined;
  }

  async #end(): Promise<void> {
    // Runs even when the chunk before it was cancelled.
    await this.setup.context.requests.run({ op: Op.IterateEnd, route: readerRoute(this.#reader), internal: true }).catch(() => undefined);
    this.#unreserve();
  }

  #unreserve(): void {
    if (!this.#reserved) return;
    this.#reserved = false;
    this.setup.context.readers.unreserve(this.#reader);
  }
}
