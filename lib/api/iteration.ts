// Owns streaming one statement's rows for iterate() (the pool's and every scope's): how many rows
// each chunk asks for, the one chunk fetched ahead of the consumer (when the source allows it),
// and telling the source once how the iteration stopped; and, in a transaction, handing each pull
// to the transaction's call tracking (trackedRows). Where the chunks come from (a scope's
// connection, a reader the pool's iteration holds) is the source's business. Runs on the JS
// thread.

import type { Chunk } from '../request/requests.ts';

/**
 * Rows of an iteration's first chunk when the caller gives no `chunkSize`: a result of up to this
 * many rows comes back in the first round trip, with nothing left open.
 */
export const FIRST_CHUNK_ROWS = 256;

/** Rows handed out between two turns of the event loop, at most (the consumer's loop body runs for each). */
export const TURN_ROWS = 256;

/** The most rows a chunk grows to when the caller gives no `chunkSize`. */
export const MAX_CHUNK_ROWS = 1024;

/**
 * Rows chunk `index` (0: the first) asks for: the caller's `chunkSize` for every chunk, or else
 * FIRST_CHUNK_ROWS doubled with every chunk the consumer pulls, up to MAX_CHUNK_ROWS. A chunk
 * holds fewer rows when it reaches ITERATE_CHUNK_BYTES of row data first (native/core/contract.h).
 */
export function chunkRows(index: number, chunkSize: number | undefined): number {
  if (chunkSize !== undefined) return chunkSize;
  return index >= 2 ? MAX_CHUNK_ROWS : Math.min(MAX_CHUNK_ROWS, FIRST_CHUNK_ROWS << index);
}

/** Where an iteration's chunks come from. */
export interface ChunkSource {
  /** The caller's rows per chunk (undefined: sized by chunkRows()). */
  readonly chunkSize: number | undefined;
  /** Aborting it stops the iteration: rows fetched after the abort are not handed out. */
  readonly signal: AbortSignal | undefined;
  /** Fetch the next chunk while the consumer takes the current one (never more than one ahead). */
  readonly readAhead: boolean;
  /**
   * Once something else ended the iteration (the scope it runs in ended), what the consumer's
   * next pull rejects with; no row is handed out after that. The source was finished then.
   */
  readonly ended?: () => unknown;
  /** The first chunk (the statement prepared, bound and stepped). */
  start(rows: number): Promise<Chunk>;
  /** The next chunk of the open statement. */
  next(rows: number): Promise<Chunk>;
  /**
   * Called once when the iteration stops, however it stops: `open` when the statement may still
   * be open (rows remained, or a chunk failed), `failed` with the error that ended it.
   */
  finish(open: boolean, failed: boolean, failure: unknown): Promise<void>;
}

function ignore(): void {}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The rows of the source `open()` makes on the first next() (a bad argument it throws rejects
 * that call), chunk by chunk. Backpressure: a chunk is asked for only when the consumer pulls past
 * the one before it (or, with `readAhead`, once it starts taking the one before it). The event
 * loop gets a turn between chunks fetched ahead and every TURN_ROWS rows within a chunk. Stopping
 * early (break, return, a throw) lets a chunk still on its way arrive, then finishes the source,
 * before the consumer's loop goes on.
 */
export async function* streamRows(open: () => ChunkSource): AsyncGenerator<unknown, void, undefined> {
  const source = open();
  const { chunkSize, signal, ended } = source;
  let index = 0;
  let more = true;
  let failed = false;
  let failure: unknown;
  let ahead: Promise<Chunk> | undefined;
  try {
    let chunk = await source.start(chunkRows(index++, chunkSize));
    for (;;) {
      more = chunk.more;
      if (more && source.readAhead) {
        ahead = source.next(chunkRows(index++, chunkSize));
        ahead.catch(ignore);
      }
      const rows = chunk.rows;
      for (let i = 0; i < rows.length; i++) {
        // However large the chunk, timers and I/O get a turn every TURN_ROWS rows.
        if (i !== 0 && i % TURN_ROWS === 0) await nextTurn();
        if (ended !== undefined) {
          const error = ended();
          if (error !== undefined) throw error;
        }
        yield rows[i];
      }
      if (!more) return;
      const pending = ahead ?? source.next(chunkRows(index++, chunkSize));
      chunk = await pending;
      if (ahead !== undefined) {
        ahead = undefined;
        // A chunk fetched ahead is often there before its rows are wanted: handed out at once,
        // chunk after chunk would run in one event-loop turn (each completion delivered inside
        // the last one's callback). Timers and I/O get their turn between chunks.
        await nextTurn();
      }
      if (signal !== undefined && signal.aborted) {
        more = chunk.more;
        throw signal.reason;
      }
    }
  } catch (error) {
    failed = true;
    failure = error;
    throw error;
  } finally {
    if (ahead !== undefined) {
      // The consumer stopped while the next chunk was on its way: it ends the iteration, or not.
      try {
        more = (await ahead).more;
      } catch {
        more = true;
      }
    }
    await source.finish(more, failed, failure);
  }
}

/**
 * @internal An iteration of a transaction whose pulls are the transaction's calls: a next() the
 * callback never took that fails, fails the transaction, and a pull still running when the
 * callback resolves (its chunk's statement on the way) is waited for before COMMIT.
 */
export function trackedRows<T>(rows: AsyncGenerator<T, void, undefined>, track: <R>(call: Promise<R>) => Promise<R>): AsyncGenerator<T, void, undefined> {
  const tracked: AsyncGenerator<T, void, undefined> = {
    next: (...args: [] | [undefined]) => track(rows.next(...args)),
    return: (value: void | PromiseLike<void>) => track(rows.return(value)),
    throw: (error: unknown) => track(rows.throw(error)),
    [Symbol.asyncIterator]: () => tracked,
    [Symbol.asyncDispose]: async () => {
      await tracked.return(undefined);
    },
  };
  return tracked;
}
