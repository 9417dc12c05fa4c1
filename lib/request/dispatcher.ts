// Owns the JS side of the request path: a request becomes a job; the job waits at the writer
// gate (a write without a session while the writer is taken), in the backlog (no free native
// slot, or a request for the shared reader ring beyond its share of them: backlog.ts) or goes
// straight to the addon; its completion arrives in a batch and settles its promise exactly once.
// Also cancellation (signal, timeout), the pool's operation counters (operation-counts.ts), and
// the refusal of a request whose writer session has ended. Keeping the process alive: keep-alive.ts.
//
// Runs on the JS thread. The addon calls onBatch() once per batch of completions (one wake-up for
// many); the pacer decides when the next may come: a turn spends a bounded share on completions.

import { ScopeEndedError } from '../errors.ts';
import { HEADER_CELLS, HeaderCell, Op, Status, Target } from '../native/contract.ts';
import type { NativePool, OnBatch } from '../native/native-pool.ts';
import { Backlog, NATIVE_SLOTS } from './backlog.ts';
import { BatchReader } from './batch-reader.ts';
import { Job, JobState, letGoLate, requestFlags, settlesOnCancel, submitJob } from './job.ts';
import { KeepAlive } from './keep-alive.ts';
import { doneOutcome, failure, isReadOnlySessionRefusal, readOnlyError, rowsOutcome, shutDownError } from './outcome.ts';
import { countSettled, countStarted } from './operation-counts.ts';
import { Pacer } from './pacer.ts';
import type { OperationCounters, Outcome, Request, RequestRunner } from './requests.ts';
import { TraceSettlements } from './trace-settlements.ts';
import { WRITER, type WriterLine } from './route.ts';
import { SqlRegistry, type StatementInfo } from './sql-registry.ts';

/** What track() waits for: a connection open the addon started by itself. */
const OPEN = { op: Op.Open, route: WRITER, internal: true } as const;

export class Dispatcher implements RequestRunner {
  readonly #native: NativePool;
  readonly #safeIntegers: boolean;
  /** False for ':memory:' and readers: 0, where the writer's connection serves reads too. */
  readonly #hasReaders: boolean;
  readonly #gate: WriterLine<Job>;
  readonly #sql: SqlRegistry;
  readonly #pacer: Pacer;
  readonly #batchReader = new BatchReader();
  /** Jobs waiting for a free native slot. */
  readonly #backlog: Backlog;
  /** The job in each native slot. */
  readonly #inFlight: (Job | undefined)[] = [];
  /** Scratch of onBatch: the jobs of a batch and where their records start. */
  readonly #batchJobs: (Job | undefined)[] = [];
  readonly #batchStarts: number[] = [];
  /** Tells the traces of observed operations that end with their request that it settled. */
  readonly #traces = new TraceSettlements();
  #inFlightCount = 0;
  #queuedCount = 0;
  readonly #alive: KeepAlive;
  readonly counters: OperationCounters = { started: 0, completed: 0, failed: 0, cancelled: 0 };
  /** Told when a request failed on a worker (the connection keeper replaces broken ones). */
  onFailure: ((worker: number, errno: number) => void) | undefined = undefined;

  /** `gate` holds back writes without a session; it hands them back through writerTurn(). `slots`: the addon's. */
  constructor(native: NativePool, gate: WriterLine<Job>, safeIntegers: boolean, hasReaders: boolean, slots = NATIVE_SLOTS) {
    this.#native = native;
    this.#backlog = new Backlog(slots);
    this.#hasReaders = hasReaders;
    this.#gate = gate;
    this.#safeIntegers = safeIntegers;
    this.#sql = new SqlRegistry(native);
    this.#pacer = new Pacer(() => native.poll());
    this.#alive = new KeepAlive(native);
  }

  /** Requests handed to the addon and not yet completed. */
  get inFlight(): number {
    return this.#inFlightCount;
  }

  /** Fails `job` with `reason` (the keeper: its connection is out of service); in native hands, cancelled there too. */
  fail(job: Job, reason: unknown): void {
    if (job.state === JobState.Queued) this.#queuedCount--;
    else if (job.state === JobState.InFlight) this.#native.cancel(job.slot);
    this.#settle(job, false, reason);
    this.#noteProgress();
  }

  /** Fails the reads no reader serves now (none in service): waiting for the shared ring, or in it (their reader skips them). */
  failShared(reason: unknown): void {
    const unserved = (job: Job | undefined): job is Job => job?.state === JobState.InFlight && job.target === Target.Readers && job.request.op !== Op.Pin && job.request.op !== Op.Close;
    for (const job of [...this.#backlog.takeShared(), ...this.#inFlight.filter(unserved)]) this.fail(job, reason);
  }

  /** Requests waiting on the JS side (writer gate, backlog). */
  get queued(): number {
    return this.#queuedCount;
  }

  /** Runs one request; the promise settles exactly once. */
  run<R extends Request>(request: R): Promise<Outcome<R>> {
    return new Promise<unknown>((resolve, reject) => {
      const signal = request.signal;
      if (signal?.aborted) {
        countStarted(this.counters, request);
        countSettled(this.counters, request, false, true);
        this.#traces.settled(request, false, signal.reason);
        reject(signal.reason);
        return;
      }
      let job: Job | undefined;
      try {
        let info: StatementInfo | undefined;
        // Without readers every read runs on the writer's connection: it must wait for the session
        // that holds it like a write does, or it would run inside that session's transaction (and
        // roll it back, or end its iteration). The pool's own queries too (plan lookups).
        let target: Target = request.route.target;
        if (target === Target.Readers && !this.#hasReaders && (!request.internal || request.op === Op.Get || request.op === Op.All)) target = Target.Writer;
        if (request.op === Op.Get || request.op === Op.All) {
          info = this.#sql.statement(request.sql);
          if (info.writes && target === Target.Readers) target = Target.Writer;
        }
        job = new Job(request, target, info, requestFlags(request, info, this.#safeIntegers), resolve, reject);
        countStarted(this.counters, request);
        const veto = request.trace?.admit(target === Target.Writer, info !== undefined && info.writes);
        if (veto !== undefined) return this.#settle(job, false, veto);
        job.arm(signal, this.#onCancel);
        this.#enqueue(job);
      } catch (error) {
        // The promise rejects with it (the executor threw): its trace hears of it like of any settlement.
        if (job === undefined || job.state !== JobState.Settled) this.#traces.settled(request, false, error);
        throw error;
      }
    }) as Promise<Outcome<R>>;
  }

  /** A write that waited at the writer gate: its turn has come (called in line order). */
  writerTurn(job: Job): void {
    this.#queuedCount--;
    // Past the gate: on to the native writer (an addon that cannot take it fails it alone).
    if (job.state === JobState.Settled) return this.#noteProgress();
    try {
      this.#enqueueNative(job);
    } catch (error) {
      this.#settle(job, false, error);
    }
  }

  /** Waits for the completion of a request the addon started by itself (a connection open). */
  track(slot: number): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const job = new Job(OPEN, Target.Writer, undefined, 0, resolve, reject);
      job.state = JobState.InFlight;
      job.slot = slot;
      this.#inFlight[slot] = job;
      this.#inFlightCount++;
      this.#alive.busy();
    });
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    return this.#alive.idle(this.#inFlightCount, this.#queuedCount);
  }

  /** The addon's batch callback (see request/batch-reader.ts for the layout). Never throws. */
  readonly onBatch: OnBatch = (buffer, capacity, objects, length) => {
    this.#traces.beginBatch();
    const reader = this.#batchReader;
    reader.load(buffer, capacity, objects);
    // The addon has already recycled every slot of this batch, and completing a job can submit
    // again (a reroute to the writer) and get one of them back. So every job of the batch is
    // detached from its slot first, and only then completed.
    const jobs = this.#batchJobs;
    const starts = this.#batchStarts;
    let count = 0;
    for (let at = 0; at < length; at += HEADER_CELLS + reader.number(at + HeaderCell.RowCells) + reader.number(at + HeaderCell.ExtraCells)) {
      const slot = reader.number(at + HeaderCell.Slot);
      const job = this.#inFlight[slot];
      if (job !== undefined) this.#backlog.freed(job);
      jobs[count] = job;
      starts[count] = at;
      this.#inFlight[slot] = undefined;
      count++;
    }
    for (let k = 0; k < count; k++) {
      const job = jobs[k];
      if (!job) continue;
      jobs[k] = undefined;
      this.#inFlightCount--;
      const at = starts[k]!;
      try {
        const status = reader.number(at + HeaderCell.Status);
        const trace = job.request.trace;
        if (trace !== undefined) reader.traceTo(trace, at);
        const c =
          status === Status.Rows || status === Status.RowsMore
            ? reader.values(at + HEADER_CELLS, reader.number(at + HeaderCell.RowCells))
            : reader.value(at + HeaderCell.C);
        this.#complete(job, status, reader.value(at + HeaderCell.A), reader.value(at + HeaderCell.B), c, reader.number(at + HeaderCell.Worker));
      } catch (error) {
        this.#settle(job, false, error);
      }
    }
    try {
      // Waiting jobs into the slots now free, in order (backlog.ts).
      if (this.#backlog.length > 0) this.#backlog.pump(this.#fromBacklog);
      this.#noteProgress();
    } finally {
      this.#traces.endBatch();
      // Until poll() runs, the workers announce no completions: the next poll is scheduled
      // whatever happened above, or every later completion would wait in the ring for ever.
      this.#pacer.afterBatch(count);
    }
  };

  #complete(job: Job, status: number, a: unknown, b: unknown, c: unknown, worker: number): void {
    // Settled before a reader took it (#cancel): a first chunk that kept its reader lets it go now.
    if (job.state === JobState.Settled) letGoLate(job, status, worker, this);
    const request = job.request;
    switch (status) {
      case Status.Rows:
      case Status.RowsMore:
        this.#settle(job, true, rowsOutcome(request, job.info, status === Status.RowsMore, a, b, c, worker));
        return;
      case Status.Done:
        this.#settle(job, true, doneOutcome(request, a, b, c));
        return;
      case Status.NeedsWriter:
        this.#reroute(job);
        return;
      case Status.Cancelled:
        this.#settle(job, false, job.aborted ? job.abortReason : shutDownError());
        return;
      default:
        this.#settle(job, false, isReadOnlySessionRefusal(request, status, a) ? readOnlyError(request) : failure(status, request, a, b));
        if (status === Status.SqliteFailed && this.onFailure && typeof c === 'number') this.onFailure(c, a as number);
    }
  }

  /** A reader found the statement writes: it runs on the writer instead (a pinned reader refuses). */
  #reroute(job: Job): void {
    if (job.info) job.info.writes = true;
    if (job.aborted) {
      this.#settle(job, false, job.abortReason);
      return;
    }
    if (job.target === Target.PinnedReader || job.request.op === Op.IterateStart) {
      // A read lease or snapshot holds a read-only connection, and an iteration streams from a
      // reader: neither can write.
      this.#settle(job, false, readOnlyError(job.request));
      return;
    }
    const veto = job.request.trace?.rerouted();
    if (veto !== undefined) return this.#settle(job, false, veto);
    job.target = Target.Writer;
    this.#enqueue(job);
  }

  /** Sends a job on its way: behind the writer gate, into the backlog, or to the addon. */
  #enqueue(job: Job): void {
    const { route, place, retried } = job.request;
    if (job.target === Target.Writer && !route.session && this.#gate.closedFor(place, retried)) {
      job.park();
      this.#gate.park(job, place, retried);
      this.#queuedCount++;
      return;
    }
    this.#enqueueNative(job);
  }

  /** Hands a job to the addon, or to the backlog when no native slot is free for it. */
  #enqueueNative(job: Job): void {
    if (this.#backlog.mustWait(job) || !this.#submit(job)) {
      job.park();
      this.#backlog.add(job);
      this.#queuedCount++;
    }
  }

  /** Hands a job to the addon; false when every native slot is taken. */
  #submit(job: Job): boolean {
    // An ended writer session holds the writer no more: its request would run in what holds it next.
    if (job.request.route.session?.ended === true) {
      this.#settle(job, false, new ScopeEndedError('writer session'));
      this.#noteProgress();
      return true;
    }
    const trace = job.request.trace;
    // Its JS-side wait ends before the addon is called: the native wait starts inside that call.
    trace?.submitting();
    const slot = submitJob(this.#native, this.#sql, job);
    if (slot < 0) return false;
    trace?.submitted();
    job.slot = slot;
    job.state = JobState.InFlight;
    this.#inFlight[slot] = job;
    this.#inFlightCount++;
    this.#backlog.took(job);
    this.#alive.busy();
    return true;
  }

  /** Submits a job from the backlog: false when no slot is free. */
  readonly #fromBacklog = (job: Job): boolean => {
    try {
      if (!this.#submit(job)) return false;
    } catch (error) {
      // The addon could not take this request: it fails alone, and the backlog moves on.
      this.#settle(job, false, error);
    }
    this.#queuedCount--;
    return true;
  };

  readonly #onCancel = (job: Job, reason: unknown): void => this.#cancel(job, reason);

  #cancel(job: Job, reason: unknown): void {
    if (job.state === JobState.Settled) return;
    if (job.state === JobState.Queued) {
      // Still on the JS side (writer gate or backlog): taken out, it never reaches SQLite.
      if (!this.#backlog.remove(job)) this.#gate.unpark(job, job.request.place);
      this.#queuedCount--;
      job.aborted = true;
      job.abortReason = reason;
      this.#settle(job, false, reason);
      this.#noteProgress();
      return;
    }
    if (job.aborted) return;
    // In native hands: skipped if not started, interrupted if running. The completion settles
    // it, so a write that committed before the interrupt took effect is reported as done.
    job.aborted = true;
    job.abortReason = reason;
    this.#native.cancel(job.slot);
    // A read is settled now: it may wait long for a busy or pinned reader, which skips it once it
    // comes (native/core/worker.cc, runOne); its completion only frees the slot (job.ts, settlesOnCancel).
    if (settlesOnCancel(job)) this.#settle(job, false, reason);
  }

  #settle(job: Job, ok: boolean, value: unknown): void {
    if (job.state === JobState.Settled) return;
    job.state = JobState.Settled;
    job.disarm();
    countSettled(this.counters, job.request, ok, !ok && job.aborted && value === job.abortReason);
    this.#traces.settled(job.request, ok, value);
    if (ok) job.resolve(value);
    else job.reject(value);
  }

  /** Wakes idle() waiters and lets the process exit once nothing is in flight. */
  #noteProgress(): void {
    this.#alive.progress(this.#inFlightCount, this.#queuedCount);
  }
}
