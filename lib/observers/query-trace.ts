// Owns one observed query-level operation (get, all, run, exec, batch, a whole iteration): the
// veto (`beforeQuery`, asked before anything reaches SQLite and again before a read a reader
// refused as writing goes to the writer), the native timings its requests report, and at the end
// the QueryEvent for observers and the `litepool:query` channel context, filled before asyncEnd.
// Exists only while an observer is attached or someone subscribes to the channel.
// An operation of one request with nothing to publish on the channel and nothing between its
// request and its promise (no retry, no write guard, no plan lookup) is finished by the
// dispatcher as it settles that request (`settlesWithRequest`; at the end of the completion batch
// that settled it, with that batch's one clock reading); the others through
// startOperation()/endOperation() (or traceOperation()), once they settle.
// Runs on the JS thread.

// The module's binding, not the global: reading the global `performance` costs a getter each time.
import { performance } from 'node:perf_hooks';
import { PolicyError } from '../errors.ts';
import type { RequestTrace } from '../request/requests.ts';
import type { BeforeQueryEvent, Operation, QueryEvent, Role, StatementCounters } from '../types.ts';
import { queryChannel, type QueryChannelContext } from './channels.ts';
import type { ObserverHub } from './hub.ts';

/** The parameter values an observer with `wantsParams` sees (named parameters: their values in key order). */
function paramValues(params: unknown): readonly unknown[] | undefined {
  if (params === undefined || params === null) return undefined;
  return Array.isArray(params) ? params : Object.values(params as object);
}

/** The stable code of what an operation rejected with. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  if (typeof code === 'string') return code;
  const name = (error as { name?: unknown } | null | undefined)?.name;
  if (name === 'AbortError') return 'ABORT_ERR';
  if (name === 'TimeoutError') return 'TIMEOUT_ERR';
  return typeof name === 'string' ? name : 'UNKNOWN';
}

export class QueryTrace implements RequestTrace {
  readonly counters: boolean;
  readonly #hub: ObserverHub;
  readonly #operation: Operation;
  readonly #sql: string;
  readonly #inTransaction: boolean;
  readonly #params: readonly unknown[] | undefined;
  /** The `litepool:query` context, when someone subscribes. */
  readonly context: QueryChannelContext | undefined;
  /** The statement's query plan, when an observer asks for plans (set before the first request). */
  plan: readonly string[] | undefined = undefined;
  /** The dispatcher finishes the operation as it settles its one request (see direct()). */
  settlesWithRequest = false;
  #role: Role;
  readonly #startedAt: number;
  /** Since when the current request has waited on the JS side (gate, backlog), if it still does. */
  #waitFrom: number;
  #waiting = true;
  /** The JS-side wait of the current request is clocked when it is handed to the addon. */
  #clockWait = true;
  /** When the current request was about to be handed to the addon (submitting()). */
  #handedAt = 0;
  #admitted = false;
  #ran = false;
  #finished = false;
  #queuedMs = 0;
  #execMs = 0;
  #rows = 0;
  #changes = 0;
  #worker = -1;
  #groupSize = 0;
  #counterSums: number[] | undefined = undefined;

  /**
   * `params`: the operation's parameters as given (kept only when an observer wants them);
   * `startedAt`: when the operation began, if before now (a write queue entry: when it was accepted).
   */
  constructor(hub: ObserverHub, operation: Operation, sql: string, role: Role, inTransaction: boolean, params: unknown, startedAt?: number) {
    this.#hub = hub;
    this.#operation = operation;
    this.#sql = sql;
    this.#role = role;
    this.#inTransaction = inTransaction;
    this.#params = hub.wantsParams ? paramValues(params) : undefined;
    this.counters = hub.wantsCounters;
    this.context = queryChannel.hasSubscribers
      ? { operation, sql, database: hub.database, pool: hub.pool, role, inTransaction }
      : undefined;
    this.#waitFrom = performance.now();
    this.#startedAt = startedAt ?? this.#waitFrom;
  }

  get sql(): string {
    return this.#sql;
  }

  /**
   * The operation is one request, handed to the dispatcher now, in the call that started it: the
   * dispatcher finishes the trace as it settles that request (no promise of its own), and the
   * request's JS-side wait is clocked only if the dispatcher parks it (gate, backlog). Only for
   * operations with no channel context and nothing between the request and the operation's
   * promise (no retry, no write guard, no plan lookup).
   */
  direct(): void {
    this.settlesWithRequest = true;
    this.#clockWait = false;
  }

  admit(writer: boolean, writes: boolean): PolicyError | undefined {
    this.#waiting = true;
    if (this.#admitted) {
      // A later request of the operation (a retry, the next chunk of an iteration).
      this.#waitFrom = performance.now();
      this.#clockWait = true;
      return undefined;
    }
    this.#admitted = true;
    this.#role = writer ? 'writer' : 'reader';
    return this.#veto(writes);
  }

  rerouted(): PolicyError | undefined {
    this.#waitFrom = performance.now();
    this.#waiting = true;
    this.#clockWait = true;
    this.#role = 'writer';
    return this.#veto(true);
  }

  /**
   * The operation waited `ms` outside its requests: an iteration for a connection to hold (a
   * reader, or the writer without readers), a write queue entry in its queue (before its trace
   * was made). Before its first request is handed over, that request's JS-side wait is clocked
   * from #waitFrom: a wait within that span moves #waitFrom on by as much, so that it is counted
   * once (queuedMs never exceeds totalMs).
   */
  waitedFor(ms: number): void {
    this.#queuedMs += ms;
    if (!this.#admitted) this.#waitFrom = Math.min(performance.now(), this.#waitFrom + ms);
  }

  parked(): void {
    // Its wait counts from #waitFrom: the call, for the operation's first request.
    this.#clockWait = true;
  }

  /**
   * The request is about to be handed to the addon: its JS-side wait ends now. The native queue
   * wait starts inside the addon's call (its submittedAt), so the time that call takes (the thread
   * may be preempted in it) is counted there, once: queuedMs never exceeds totalMs.
   */
  submitting(): void {
    if (this.#waiting && this.#clockWait) this.#handedAt = performance.now();
  }

  submitted(): void {
    if (!this.#waiting) return;
    this.#waiting = false;
    if (!this.#clockWait) return;
    this.#clockWait = false;
    this.#queuedMs += this.#handedAt - this.#waitFrom;
  }

  completed(queuedMicros: number, execMicros: number, rows: number, changes: number, worker: number, groupSize: number, counters: readonly number[] | undefined): void {
    this.#ran = true;
    this.#queuedMs += queuedMicros / 1000;
    this.#execMs += execMicros / 1000;
    this.#rows += rows;
    this.#changes += changes;
    this.#worker = worker;
    this.#groupSize = groupSize;
    if (counters !== undefined) {
      const sums = (this.#counterSums ??= [0, 0, 0, 0]);
      for (let i = 0; i < 4; i++) sums[i]! += counters[i] ?? 0;
    }
  }

  settled(ok: boolean, value: unknown, at: number | undefined): void {
    if (this.settlesWithRequest) this.finish(value, !ok, at);
  }

  /**
   * The operation settled (`error`: what it rejected with, when `failed`; `at`: when, if the
   * caller has a clock reading of that moment): fills the channel context and delivers the
   * QueryEvent. Only the first call counts.
   */
  finish(error: unknown, failed: boolean, at?: number): void {
    if (this.#finished) return;
    this.#finished = true;
    const now = at ?? performance.now();
    const totalMs = now - this.#startedAt;
    if (this.#waiting && this.#admitted) this.#queuedMs += now - this.#waitFrom;
    this.#waiting = false;
    const role: Role = this.#ran ? (this.#worker === -1 ? 'writer' : 'reader') : this.#role;
    const context = this.context;
    if (context !== undefined) {
      context.role = role;
      if (this.#ran) {
        context.queuedMs = this.#queuedMs;
        context.execMs = this.#execMs;
        context.rows = this.#rows;
        context.changes = this.#changes;
        context.connectionId = this.#worker;
      }
    }
    const hub = this.#hub;
    if (hub.onQuery.length === 0) return;
    const event: QueryEvent = {
      operation: this.#operation,
      sql: this.#sql,
      role,
      connectionId: this.#worker,
      queuedMs: this.#queuedMs,
      execMs: this.#execMs,
      totalMs,
      rows: this.#rows,
      changes: this.#changes,
      inTransaction: this.#inTransaction,
    };
    if (this.#groupSize > 1) event.groupSize = this.#groupSize;
    if (failed) event.error = { code: errorCode(error), message: error instanceof Error ? error.message : String(error) };
    const sums = this.#counterSums;
    const counters: StatementCounters | undefined =
      sums === undefined ? undefined : { fullScanSteps: sums[0]!, sorts: sums[1]!, autoIndexes: sums[2]!, vmSteps: sums[3]! };
    hub.query(event, this.#params, counters);
  }

  /**
   * Asks every `beforeQuery`; the first throw is the veto, as a PolicyError. The event is frozen
   * (its plan is, as QueryPlans keeps it): what one hook sees, every later hook and policy sees.
   */
  #veto(writes: boolean): PolicyError | undefined {
    const hub = this.#hub;
    if (hub.before.length === 0) return undefined;
    const event: { -readonly [K in keyof BeforeQueryEvent]: BeforeQueryEvent[K] } = { operation: this.#operation, sql: this.#sql, role: this.#role };
    if (writes) event.writes = true;
    if (this.plan !== undefined) event.plan = this.plan;
    try {
      hub.beforeQuery(Object.freeze(event));
      return undefined;
    } catch (reason) {
      return new PolicyError(this.#sql, reason);
    }
  }
}

/**
 * Runs an observed operation: `run` starts it (its requests carry `trace`), inside the
 * `litepool:query` tracing when someone subscribes (start in the caller's context and stores,
 * end, then exactly one asyncEnd); the trace finishes when it settles.
 */
export function traceOperation<T>(trace: QueryTrace, run: () => Promise<T>): Promise<T> {
  return startOperation(trace, run).then(
    (value) => {
      endOperation(trace, value, undefined, false);
      return value;
    },
    (error: unknown) => {
      endOperation(trace, undefined, error, true);
      throw error;
    },
  );
}

/**
 * Starts an observed operation: publishes `start` (with `first` run in the caller's context and
 * stores) and `end`, and returns what `first` returned (a synchronous throw as a rejection).
 * Finish it with endOperation().
 */
export function startOperation<T>(trace: QueryTrace, first: () => Promise<T>): Promise<T> {
  const context = trace.context;
  try {
    return context === undefined ? first() : queryChannel.start.runStores(context, first);
  } catch (error) {
    return Promise.reject(error);
  } finally {
    if (context !== undefined) queryChannel.end.publish(context);
  }
}

/** Ends what startOperation() started: the QueryEvent, then `error` (when it failed), `asyncStart` and `asyncEnd`. */
export function endOperation(trace: QueryTrace, result: unknown, error: unknown, failed: boolean): void {
  trace.finish(error, failed);
  const context = trace.context;
  if (context === undefined) return;
  if (failed) {
    context.error = error;
    queryChannel.error.publish(context);
  } else {
    context.result = result;
  }
  queryChannel.asyncStart.publish(context);
  queryChannel.asyncEnd.publish(context);
}
