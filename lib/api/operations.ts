// Owns what Pool and every scope share about operations: the turning of get/all/run/exec/batch
// calls into requests (their options: operation-options.ts; the requests: operation-request.ts)
// with their signal (in a scope, joined with its end until the operation settled), their
// submission in call order, and the write guard of the pool's writes (a LiteFS replica refuses
// them). A bad argument never throws: the operation's promise rejects. Runs on the JS thread.

import type { RowBlock } from '../input/row-block.ts';
import { Op, Target } from '../native/contract.ts';
import { retriable, retryRequest, type RetryTurn } from '../connections/retry.ts';
import { queryChannel } from '../observers/channels.ts';
import type { ObserverHub } from '../observers/hub.ts';
import { QueryTrace, traceOperation } from '../observers/query-trace.ts';
import type { InsertRowsRequest, Outcome, Request, RequestRunner } from '../request/requests.ts';
import { READERS, WRITER, type Route } from '../request/route.ts';
import type { WriterPlace, WriterPlaces } from '../request/writer-place.ts';
import type { Operation, Params } from '../types.ts';
import type { RetryPolicy } from '../options-types.ts';
import type { WriteResult } from '../write-queue-types.ts';
import { checkOptions, type CheckedOptions } from './operation-options.ts';
import { operationRequest, type StartedOp } from './operation-request.ts';
import type { WriteGuard } from './write-guard.ts';
import { boundedWait } from '../request/abort-watch.ts';
import { joinSignals, withJoinedSignal } from '../request/joined-signal.ts';
import { SubmissionOrder } from '../request/submission-order.ts';
import type { Pending } from './pending.ts';

export {
  checkAcquireOptions,
  checkCallback,
  checkInsertManyOptions,
  checkOptions,
  checkTransactionOptions,
  defaultOptions,
  rejectOnThrow,
  type CheckedOptions,
} from './operation-options.ts';
export type { WriteGuard } from './write-guard.ts';

/** What signalFor() returns to release when it joined nothing; a request as it is (#inOrder's `timed`). */
const noRelease = (): void => {};
const same = <R>(request: R): R => request;

/** A scope's connection: its route, the signal that ends with it, and whether it is a transaction. */
interface ScopeBinding {
  readonly route: Route;
  readonly ending: AbortSignal;
  readonly expectTransaction: boolean;
}

/**
 * The operations of a pool (reads on any reader, writes on the writer, retried when a policy
 * says so) or of a scope (everything on its connection, inside its transaction, cancelled when it
 * ends). Pool and Scope each keep one.
 */
export class Operations {
  readonly #requests: RequestRunner;
  readonly defaults: CheckedOptions;
  readonly #scope: ScopeBinding | undefined;
  readonly #retry: RetryPolicy | undefined;
  readonly #hub: ObserverHub;
  readonly #guard: WriteGuard | undefined;
  /** A scope's: keeps its requests in call order while one waits for its plan. */
  readonly #order = new SubmissionOrder();
  /** The pool's: the writer's line, where a write waiting for its plan keeps its place. */
  readonly #places: WriterPlaces | undefined;
  #retrying: Pending | undefined;
  /** Set once no operation may start: makes the error to reject with. */
  #stopped: (() => Error) | undefined;
  /** What stops the signals signalFor() joined listening, once the scope ends (stop()) if not before. */
  readonly #joins = new Set<() => void>();

  private constructor(
    requests: RequestRunner,
    defaults: CheckedOptions,
    scope: ScopeBinding | undefined,
    retry: RetryPolicy | undefined,
    hub: ObserverHub,
    guard: WriteGuard | undefined,
    places: WriterPlaces | undefined,
  ) {
    this.#requests = requests;
    this.defaults = defaults;
    this.#scope = scope;
    this.#retry = retry;
    this.#hub = hub;
    this.#guard = guard;
    this.#places = places;
  }

  /**
   * The pool's operations; `guard` (if any) checks every write and every writer session; `places`
   * is the writer's line, where a write waiting for its plan keeps its place.
   */
  /** `retrying`: where an operation under the retry policy is tracked until it settles (close() waits for it between attempts too). */
  static forPool(requests: RequestRunner, defaults: CheckedOptions, retry: RetryPolicy | undefined, hub: ObserverHub, guard: WriteGuard | undefined, places: WriterPlaces, retrying: Pending): Operations {
    const operations = new Operations(requests, defaults, undefined, retry, hub, guard, places);
    operations.#retrying = retrying;
    return operations;
  }

  static forScope(requests: RequestRunner, defaults: CheckedOptions, route: Route, ending: AbortSignal, expectTransaction: boolean, hub: ObserverHub): Operations {
    return new Operations(requests, defaults, { route, ending, expectTransaction }, undefined, hub, undefined, undefined);
  }

  /** True when operations are observed now (an observer attached, or a channel subscriber): checked once per operation. */
  get observed(): boolean {
    return this.#hub.watchesQueries || queryChannel.hasSubscribers;
  }

  /**
   * A trace for an operation about to start (call only when `observed`); `role`: where it is
   * bound, `inTransaction`: false for the pool's own iterate (it holds a connection of its own).
   */
  trace(operation: Operation, sql: string, params: unknown, inTransaction = this.#scope !== undefined, startedAt?: number): QueryTrace {
    const route = this.#scope ? this.#scope.route : operation === 'get' || operation === 'all' || operation === 'iterate' ? READERS : WRITER;
    return new QueryTrace(this.#hub, operation, sql, route.target === Target.Writer ? 'writer' : 'reader', inTransaction, params, startedAt);
  }

  /**
   * Runs an observed operation of one request (with `planned`, the statement's plan is looked up
   * first when an observer asks for plans). With nothing between the request and the operation's
   * promise (plan lookup, channel context, retry, write guard), the dispatcher finishes the trace.
   */
  traced<R extends Request>(trace: QueryTrace, planned: boolean, request: R): Promise<Outcome<R>> {
    const awaitsPlan = planned && this.#awaitsPlan(trace);
    // Called after a request that waits for its plan (in a scope, or with the same place): behind it.
    const behind = this.#scope !== undefined ? !this.#order.clear : request.place !== undefined && !request.place.order.clear;
    const ordered = this.#ordered(request) && (awaitsPlan || behind);
    if (trace.context === undefined && this.#retry === undefined && (this.#guard === undefined || request.route !== WRITER) && !awaitsPlan && !ordered) {
      trace.direct();
      return this.#requests.run(request);
    }
    if (!ordered) {
      const run = (): Promise<Outcome<R>> => this.submit(request);
      return traceOperation(trace, awaitsPlan ? this.#plannedRead(trace, request) : run);
    }
    return traceOperation(trace, () => {
      // Submitted in call order: a request called later never overtakes this one's plan lookup.
      // A pool write's plan is looked up on the writer, with the write's place (no reader to wait
      // for). Its signal and timeout end the wait: aborted, it is refused as such; out of time, it
      // is never submitted (OperationTimeoutError) and gives its place up; else it goes with the time left.
      const wait = boundedWait(request.signal, request.timeout, trace.sql);
      const route = this.#scope?.route ?? (request.route === WRITER ? WRITER : undefined);
      const lookup = (place: WriterPlace | undefined): Promise<void> =>
        wait.bound(this.#hub.plans!.lookup(trace.sql, route, place).then((plan) => void (trace.plan = plan)));
      return this.#inOrder(request, awaitsPlan ? lookup : undefined, wait.ready);
    });
  }

  /**
   * submit() of a read on the pool once its plan was looked up (on a reader), the wait bounded
   * by its signal and timeout like a write's (see boundedWait()).
   */
  #plannedRead<R extends Request>(trace: QueryTrace, request: R): () => Promise<Outcome<R>> {
    return () => {
      const wait = boundedWait(request.signal, request.timeout, trace.sql);
      const looked = this.#hub.plans!.lookup(trace.sql, undefined).then((plan) => void (trace.plan = plan));
      return wait.bound(looked).then(() => this.submit(wait.ready(request)));
    };
  }

  /** Whether `request` keeps its call order behind requests waiting for their plans (the pool's writes, a scope's requests). */
  #ordered(request: Request): boolean {
    return this.#scope !== undefined || request.route === WRITER;
  }

  /**
   * Submits `request` (see submit()) once what `prepare` returned settled, after what was called
   * before it: in a scope, everything the scope was asked for; on the pool, the writes made with
   * the same place in the writer's line. A pool write waiting that way keeps its place in the
   * writer's line meanwhile (a new one, or the one it came with), and `prepare` gets it (what it
   * sends to the writer must go with it, or it would wait behind its own place).
   */
  #inOrder<R extends Request>(request: R, prepare: ((place: WriterPlace | undefined) => Promise<void>) | undefined, timed: (given: R) => R = same): Promise<Outcome<R>> {
    const places = this.#places;
    if (places === undefined) {
      if (prepare === undefined && this.#order.clear) return this.submit(request);
      // The scope may have ended meanwhile (its COMMIT, RELEASE or reset sent): refused then, never
      // sent after them (into the writer's next transaction). One aborted rejects with its reason.
      const go = () => (this.#stopped && !request.signal?.aborted ? Promise.reject(this.#stopped()) : this.submit(timed(request)));
      return this.#order.submit(prepare?.(undefined), go, () => {});
    }
    let place = request.place;
    if (place === undefined) {
      if (prepare === undefined) return this.submit(request);
      place = places.hold();
      request = { ...request, place };
    } else {
      if (prepare === undefined && place.order.clear) return this.submit(request);
      place.retain();
    }
    const kept = place;
    return kept.order.submit(prepare?.(kept), () => this.submit(timed(request)), () => places.leave(kept));
  }

  /** submit(), in call order when the request keeps it (see #ordered()). */
  #send<R extends Request>(request: R): Promise<Outcome<R>> {
    return this.#ordered(request) ? this.#inOrder(request, undefined) : this.submit(request);
  }

  /** True when an observer asks for plans and the statement's is not known yet; a known one is set on `trace`. */
  #awaitsPlan(trace: QueryTrace): boolean {
    const plans = this.#hub.wantsPlan ? this.#hub.plans : undefined;
    if (plans === undefined) return false;
    const known = plans.cached(trace.sql);
    if (known !== undefined) trace.plan = known;
    return known === undefined;
  }

  /**
   * `run`, preceded by the lookup of the statement's plan when an observer asks for plans (once
   * per SQL text, on the scope's own connection: a transaction never waits for itself).
   */
  planned<T>(trace: QueryTrace, run: () => Promise<T>): () => Promise<T> {
    if (!this.#awaitsPlan(trace)) return run;
    return () =>
      this.#hub.plans!.lookup(trace.sql, this.#scope?.route).then((plan) => {
        trace.plan = plan;
        return run();
      });
  }

  /**
   * A write queue entry: a run on the writer that may share a group commit, made with the queue's
   * place in the writer's line (if it holds one); `acceptedAt`: when the queue accepted it (its
   * wait there counts as queued time); `turn`: keeps its retries in the queue's order.
   */
  write(
    sql: string,
    params: Params | undefined,
    encoded: { values: readonly unknown[] | undefined; names: readonly string[] | undefined },
    groupable: boolean,
    onGroup: (group: number | undefined) => void,
    place: WriterPlace | undefined,
    acceptedAt: number,
    turn?: RetryTurn,
  ): Promise<WriteResult> {
    const { values, names } = encoded;
    if (!this.observed) return this.#send({ op: Op.Run, route: WRITER, sql, values, names, returnRows: true, groupable, onGroup, place, turn }) as Promise<WriteResult>;
    const trace = this.trace('run', sql, params, false, acceptedAt);
    trace.waitedFor(performance.now() - acceptedAt);
    return this.traced(trace, true, { op: Op.Run, route: WRITER, sql, values, names, returnRows: true, groupable, onGroup, place, turn, trace }) as Promise<WriteResult>;
  }

  /**
   * One block of insertMany's rows (input/row-block.ts) through `sql`, a single-row INSERT;
   * resolves with the rows it changed. In a scope it runs in the scope's transaction; on the pool
   * the block is its own transaction on the writer. Observed as a run of `sql`.
   */
  insertRows(sql: string, block: RowBlock, signal: AbortSignal | undefined): Promise<number> {
    try {
      this.checkUsable();
    } catch (error) {
      return Promise.reject(error);
    }
    const scope = this.#scope;
    return withJoinedSignal(signal, scope?.ending, (joined) => {
      const request: InsertRowsRequest = {
        op: Op.InsertRows,
        route: scope ? scope.route : WRITER,
        sql,
        block,
        keepTransaction: scope !== undefined,
        expectTransaction: scope !== undefined && scope.expectTransaction,
        signal: joined,
      };
      if (!this.observed) return this.#send(request);
      const trace = this.trace('run', sql, undefined);
      return this.traced(trace, false, { ...request, trace });
    });
  }

  /**
   * From now on every operation rejects with `error()`. The signals signalFor() joined stop
   * listening once the scope's end (Scope.end() aborts it right after this) reached them.
   */
  stop(error: () => Error): void {
    this.#stopped ??= error;
    const joins = [...this.#joins];
    this.#joins.clear();
    if (joins.length > 0) queueMicrotask(() => joins.forEach((release) => release()));
  }

  /**
   * Throws when no operation may start (a closed pool, an ended scope); with `write` (a
   * transaction, a write lease), also when the write guard refuses writes.
   */
  checkUsable(write = false): void {
    if (this.#stopped) throw this.#stopped();
    if (write) this.#guard?.checkWritable();
  }

  /**
   * The signal an iteration of the scope runs with: the caller's, joined with the scope's end in
   * a scope, and what stops that join listening to both (the iteration calls it when it ends; the
   * scope's end calls it otherwise). Operations use withJoinedSignal(), released when they settle.
   */
  signalFor(signal: AbortSignal | undefined): { signal: AbortSignal | undefined; release: () => void } {
    const scope = this.#scope;
    if (!scope || !signal) return { signal: scope ? scope.ending : signal, release: noRelease };
    const joined = joinSignals(signal, scope.ending);
    this.#joins.add(joined.release);
    const release = (): void => {
      if (this.#joins.delete(joined.release)) joined.release();
    };
    return { signal: joined.signal, release };
  }

  /**
   * Starts get, all (`subject`: the SQL), run (SQL and params), exec (SQL) or batch (`subject`:
   * the statements). Never throws: a bad argument rejects the promise.
   */
  start(op: StartedOp, subject: unknown, params: unknown, options: unknown): Promise<unknown> {
    try {
      this.checkUsable();
      const checked = checkOptions(op === Op.Get || op === Op.All ? 'query' : 'write', options, this.defaults);
      // In a scope, the caller's signal is joined with the scope's end until the operation settled.
      return withJoinedSignal(checked.signal, this.#scope?.ending, (signal) => {
        if (!this.observed) return this.#send(operationRequest(op, subject, params, checked, signal, this.#scope, undefined));
        const request = operationRequest(op, subject, params, checked, signal, this.#scope, (operation, sql, given) => this.trace(operation, sql, given));
        return this.traced(request.trace as QueryTrace, op !== Op.Exec && op !== Op.Batch, request);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs a request, retrying transient failures of pool operations as the policy allows. A write
   * to the writer passes the write guard first (run, exec, batch, write queues), and its failure
   * is reported as the guard names it. Never throws.
   */
  submit<R extends Request>(request: R): Promise<Outcome<R>> {
    const guard = request.route === WRITER ? this.#guard : undefined;
    if (guard) {
      try {
        guard.checkWritable();
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const retry = this.#retry !== undefined && retriable(request.op, request.sql) ? this.#retry : undefined;
    const result = retry ? retryRequest(this.#requests, request, retry) : this.#requests.run(request);
    if (retry) this.#retrying?.track(result.catch(() => undefined));
    // A write that reached SQLite on a node that just became a replica fails with a bare I/O
    // error: report it as what it is. (Reads keep their errors: a read's I/O error is real.)
    return guard ? result.catch((error: unknown) => Promise.reject(guard.translate(error))) : result;
  }
}
