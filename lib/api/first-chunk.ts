// Owns what bounds the first next() of the pool's iterations (db.iterate): its waits for a
// connection (a reader to hold, or the writer in a pool without readers) and, after such a wait,
// its first chunk's request end with the caller's signal, with its `timeout` counted from the
// call (OperationTimeoutError, as a get's wait in the readers' queue ends), with acquireTimeout
// (AcquireTimeoutError) or with close() (PoolClosedError); a first chunk that never got sent is
// counted in stats().operations as the dispatcher counts any request refused before it ran. Also
// the trace of a first chunk run without holding a reader. Runs on the JS thread.

import { OperationTimeoutError } from '../errors.ts';
import { Op } from '../native/contract.ts';
import { watchAbort } from '../request/abort-watch.ts';
import type { RequestRunner, RequestTrace } from '../request/requests.ts';
import { READERS } from '../request/route.ts';

/** The caller's bound of one iteration's first next(). */
export class FirstChunkBound {
  readonly #requests: RequestRunner;
  readonly #signal: AbortSignal | undefined;
  readonly #timeout: number | undefined;
  readonly #sql: string;
  readonly #began = performance.now();
  /** Ends the waits (and, after one, the first chunk's request): made by the first wait. */
  #ending: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unwatch: (() => void) | undefined;
  /** close() ended it (not the caller's signal or timeout). */
  #closed = false;
  /** A wait for a connection is going on. */
  #waiting = false;
  /**
   * A first chunk was sent already (one run without a pin), which counted the operation in
   * stats().operations: what is sent after it continues that operation (Request.continues).
   */
  continues = false;

  constructor(requests: RequestRunner, signal: AbortSignal | undefined, timeout: number | undefined, sql: string) {
    this.#requests = requests;
    this.#signal = signal;
    this.#timeout = timeout;
    this.#sql = sql;
  }

  /** Throws (and counts as cancelled) the caller's reason when its signal has aborted already. */
  checkAborted(): void {
    const signal = this.#signal;
    if (signal === undefined || !signal.aborted) return;
    this.#count(signal.reason, true);
    throw signal.reason;
  }

  /**
   * `waitFor` (a wait for a connection, told the signal that ends it), bounded by the caller's
   * signal, what is left of its timeout, and close(). A wait that fails is counted; `waited` is
   * told how long it took, either way.
   */
  async wait<T>(waitFor: (signal: AbortSignal) => Promise<T>, waited?: (ms: number) => void): Promise<T> {
    const from = performance.now();
    const signal = this.#endingSignal();
    this.#waiting = true;
    try {
      return await waitFor(signal);
    } catch (error) {
      this.#count(error, signal.aborted && error === signal.reason && !this.#closed);
      throw error;
    } finally {
      this.#waiting = false;
      waited?.(performance.now() - from);
    }
  }

  /**
   * The signal and timeout of the first chunk's request: the caller's, or after a wait, what is
   * left of them (a timeout that passes rejects with OperationTimeoutError naming the caller's).
   */
  get request(): { signal: AbortSignal | undefined; timeout: number | undefined; continues: boolean } {
    const { continues } = this;
    const ending = this.#ending;
    if (ending === undefined || this.#timeout === undefined) return { signal: this.#signal, timeout: this.#timeout, continues };
    return { signal: ending.signal, timeout: undefined, continues };
  }

  /** close(): a wait still going on rejects with `reason` (a chunk on its way is let arrive). */
  close(reason: unknown): void {
    const ending = this.#ending;
    if (!this.#waiting || ending === undefined || ending.signal.aborted) return;
    this.#closed = true;
    ending.abort(reason);
  }

  /** The first next() settled: nothing of the bound is left armed. */
  done(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  #endingSignal(): AbortSignal {
    if (this.#ending !== undefined) return this.#ending.signal;
    const ending = new AbortController();
    this.#ending = ending;
    const signal = this.#signal;
    if (signal !== undefined) {
      if (signal.aborted) ending.abort(signal.reason);
      else this.#unwatch = watchAbort(signal, () => ending.abort(signal.reason));
    }
    const timeout = this.#timeout;
    if (timeout !== undefined && !ending.signal.aborted) {
      const expire = () => ending.abort(new OperationTimeoutError(timeout, this.#sql));
      const left = timeout - (performance.now() - this.#began);
      if (left <= 0) expire();
      else this.#timer = setTimeout(expire, left);
    }
    return ending.signal;
  }

  /**
   * The first chunk's request was never sent: the dispatcher counts it as it counts any request
   * refused before it ran, `cancelled` (an abort or a timeout: a request whose signal had aborted)
   * or failed (refused at its admission); after a first chunk run without a pin, as the end of
   * the operation that chunk counted.
   */
  #count(reason: unknown, cancelled: boolean): void {
    const request = {
      op: Op.IterateStart,
      route: READERS,
      sql: this.#sql,
      values: undefined,
      names: undefined,
      rowMode: 'array',
      chunkRows: 1,
      iteration: { names: undefined, build: undefined },
      continues: this.continues,
    } as const;
    const refused = cancelled ? { ...request, signal: AbortSignal.abort(reason) } : reason === undefined ? undefined : { ...request, trace: refusal(reason) };
    if (refused !== undefined) this.#requests.run(refused).catch(() => undefined);
  }
}

/** A trace that refuses its request at admission with `reason` (which is not undefined). */
function refusal(reason: unknown): RequestTrace {
  return {
    counters: false,
    settlesWithRequest: false,
    admit: () => reason,
    rerouted: () => reason,
    parked() {},
    submitting() {},
    submitted() {},
    completed() {},
    settled() {},
  };
}

/**
 * The trace of a first chunk run without a pin: its completion reaches the operation's trace only
 * once the chunk's fate is known, without its rows when they were dropped (the iteration started
 * over), so the operation's row count is the rows handed out. Its run time counts either way.
 */
export class FirstChunkTrace implements RequestTrace {
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

  submitting(): void {
    this.#trace.submitting();
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
