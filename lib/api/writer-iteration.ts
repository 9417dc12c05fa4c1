// Owns db.iterate() on a pool without readers (':memory:', readers: 0): the writer's connection
// serves reads, so the iteration takes a writer session (waiting in line like a transaction, up
// to acquireTimeout, or the caller's timeout or signal) with PRAGMA query_only on, so that a
// statement that writes is refused (SQLITE_READONLY) as a reader refuses it. A result that fits
// its first chunk gives the writer back before its rows are handed out; a longer one holds it
// until its last chunk arrives (then let go before that chunk's rows are handed out), until it is
// stopped, or for maxReadDuration at most: meanwhile every other operation of the pool waits for
// it, also those of the consumer's own loop body. Runs on the JS thread.

import { PoolClosedError } from '../errors.ts';
import { Op } from '../native/contract.ts';
import { settledOrAborted } from '../request/abort-watch.ts';
import type { Chunk } from '../request/requests.ts';
import { sessionRoute, type Route, type WriterSession } from '../request/route.ts';
import type { FirstChunkBound } from './first-chunk.ts';
import { HeldIteration } from './held-iteration.ts';

/** An iteration on the writer, held while rows remain. */
export class WriterIteration extends HeldIteration {
  /** The session held, until the iteration lets it go. */
  #session: WriterSession | undefined;
  #route: Route | undefined;
  /** query_only was turned on for the iteration (it was off): turned off again when it ends. */
  #queryOnlySet = false;
  #letting: Promise<void> | undefined;
  /** Turning query_only on, from the session's grant on. */
  #setup: Promise<void> | undefined;
  /** The first chunk was sent. */
  #started = false;

  protected async first(rows: number, bound: FirstChunkBound): Promise<Chunk> {
    const { context, acquireTimeout, trace } = this.setup;
    const waited = trace === undefined ? undefined : (ms: number) => trace.waitedFor(ms);
    const session = await bound.wait((signal) => context.writer.acquire(acquireTimeout, signal), waited);
    this.#session = session;
    session.readOnly = true;
    const route = sessionRoute(session);
    this.#route = route;
    if (this.stopped) throw new PoolClosedError();
    // These wait behind a write sent before the session was granted: the caller's bound ends
    // the wait for them as it ends the first chunk's (the session goes once they are done).
    const { signal } = bound.request;
    this.#setup = this.#turnQueryOnlyOn(route, signal);
    await settledOrAborted(this.#setup, signal);
    signal?.throwIfAborted();
    await this.#setup;
    this.#started = true;
    return this.run(Op.IterateStart, rows, bound.request);
  }

  /** Turns query_only on for the iteration unless it was on already (then it stays as it is). */
  async #turnQueryOnlyOn(route: Route, signal: AbortSignal | undefined): Promise<void> {
    const { requests } = this.setup.context;
    // Number(): with safeIntegers the value comes back as a bigint.
    const queryOnly = (await requests.run({ op: Op.Get, route, sql: 'PRAGMA query_only', values: undefined, names: undefined, rowMode: 'array', keepTransaction: true, internal: true, signal })) as unknown[] | undefined;
    if (Number(queryOnly?.[0]) !== 0) return;
    this.#queryOnlySet = true;
    await requests.run({ op: Op.Exec, route, sql: 'PRAGMA query_only = ON', keepTransaction: true, internal: true, signal });
  }

  protected route(): Route {
    return this.#route!;
  }

  protected held(): void {}

  protected override get expiredWhat(): string {
    return "iteration's read transaction (it held the writer: the pool has no readers)";
  }

  protected letGo(): Promise<void> | undefined {
    if (this.#session === undefined) return undefined;
    const letting = (this.#letting ??= this.#letGoNow());
    if (this.#started) return letting;
    // No statement was started (the first chunk's wait ended first): the caller does not wait
    // for the writer's turn to come, which may be behind a long write; the session goes then.
    letting.catch(() => undefined);
    return Promise.resolve();
  }

  /**
   * Ends the statement (a reset ends the connection's iteration, and rolls back a transaction a
   * statement left open), turns query_only off again if it turned it on, and gives the writer back.
   */
  async #letGoNow(): Promise<void> {
    const { requests, writer } = this.setup.context;
    const session = this.#session!;
    const route = this.#route!;
    await this.#setup?.catch(() => undefined);
    const ends: Promise<unknown>[] = [requests.run({ op: Op.Reset, route, keepTransaction: true, internal: true })];
    if (this.#queryOnlySet) ends.push(requests.run({ op: Op.Exec, route, sql: 'PRAGMA query_only = OFF', keepTransaction: true, internal: true }));
    await Promise.allSettled(ends);
    this.#session = undefined;
    this.#letting = undefined;
    writer.release(session);
  }
}
