// Owns one request on its way through the dispatcher: where it is (queued on the JS side, in
// flight in a native slot, settled), the flags and arguments it is submitted with, its timer and
// its watch on its signal (abort-watch.ts: one listener per signal, however many jobs share it),
// the functions that settle its promise, and which cancelled jobs settle before their completion
// (and what a reader left held for one that landed all the same is told). Runs on the JS thread.

import { OperationTimeoutError } from '../errors.ts';
import { Op, RequestFlag, Status, Target } from '../native/contract.ts';
import type { NativePool } from '../native/native-pool.ts';
import { watchAbort } from './abort-watch.ts';
import type { Fifo } from './fifo.ts';
import type { Request, RequestRunner } from './requests.ts';
import { readerRoute } from './route.ts';
import type { SqlRegistry, StatementInfo } from './sql-registry.ts';

export const JobState = { Queued: 0, InFlight: 1, Settled: 2 } as const;
export type JobState = (typeof JobState)[keyof typeof JobState];

export class Job {
  state: JobState = JobState.Queued;
  slot = -1;
  /** Cancelled (its signal aborted or its timeout passed): `abortReason` is what it rejects with, whatever it is (null too). */
  aborted = false;
  abortReason: unknown = undefined;
  /** The dispatcher's backlog it waits in, if it does (request/backlog.ts). */
  waitsIn: Fifo<Job> | undefined = undefined;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Stops watching its signal, while it does. */
  #unwatch: (() => void) | undefined = undefined;
  constructor(
    readonly request: Request,
    /** Where it runs now: the route's target, or the writer once a reader found it writes. */
    public target: Target,
    /** What is known about its statement (reads only): of the registry generation it was last submitted in. */
    public info: StatementInfo | undefined,
    readonly flags: number,
    readonly resolve: (value: unknown) => void,
    readonly reject: (reason: unknown) => void,
  ) {}

  /** It settled: off its signal's jobs (the last one removes the listener), its timer cleared. */
  disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.#unwatch === undefined) return;
    this.#unwatch();
    this.#unwatch = undefined;
  }

  /** Has `cancel` called when `signal` aborts or the request's timeout passes. */
  arm(signal: AbortSignal | undefined, cancel: (job: Job, reason: unknown) => void): void {
    if (signal && this.state !== JobState.Settled) {
      this.#unwatch = watchAbort(signal, () => {
        this.#unwatch = undefined;
        cancel(this, signal.reason);
      });
    }
    const timeout = this.request.timeout;
    if (timeout !== undefined) this.timer = setTimeout(() => cancel(this, new OperationTimeoutError(timeout, this.request.sql)), timeout);
  }

  /** It waits on the JS side (writer gate, backlog); an observed operation clocks that wait. */
  park(): void {
    this.state = JobState.Queued;
    this.request.trace?.parked();
  }
}

/**
 * True when `job`, cancelled in native hands, is settled at once rather than by its completion:
 * a read for a reader (a busy or pinned one may take it long after; it skips it then:
 * native/core/worker.cc, runOne), and the first chunk of a pool's iteration in the shared reader
 * ring, as a get() there. Never a request for the writer: a write may commit before the interrupt
 * takes effect, only its completion tells. Nor any other request: its completion says what it did
 * (a Pin runs even when cancelled, and pins its reader).
 */
export function settlesOnCancel(job: Job): boolean {
  const op = job.request.op;
  if (job.target === Target.Writer) return false;
  return op === Op.Get || op === Op.All || (op === Op.IterateStart && job.target === Target.Readers);
}

/**
 * The completion of `job`, settled before it (settlesOnCancel): a first chunk a reader ran all the
 * same (it took it before it saw the cancellation) that left rows and kept that reader
 * (RequestFlag.HoldReader) has the iteration ended on it at once, which lets the reader go: nobody
 * will pull the iteration's next chunk.
 */
export function letGoLate(job: Job, status: number, worker: number, requests: RequestRunner): void {
  if (job.request.op !== Op.IterateStart || status !== Status.RowsMore || (job.flags & RequestFlag.HoldReader) === 0) return;
  if (job.target !== Target.Readers) return;
  requests.run({ op: Op.IterateEnd, route: readerRoute(worker), internal: true }).catch(() => undefined);
}

/** Hands `job` to the addon: the slot it took, or -1 when every slot is taken. */
export function submitJob(native: NativePool, sql: SqlRegistry, job: Job): number {
  const request = job.request;
  if (request.op === Op.Batch) {
    const { statements } = request;
    return native.submit(job.target, request.op, job.flags, statements.sql, statements.values, statements.names, -1, 0);
  }
  if (request.op === Op.InsertRows) {
    return native.submit(job.target, request.op, job.flags, sql.argument(request.sql), request.block.bytes, request.block.extras, request.route.reader, 0);
  }
  let id = sql.argument(request.sql);
  // The registry started over since the job was made (this argument() call may have done it): the
  // names this request brings back belong to the new generation's record (sql-registry.ts).
  const info = job.info;
  if (info !== undefined && info.generation !== sql.generation && request.sql !== undefined) {
    const generation = sql.generation;
    job.info = sql.statement(request.sql);
    job.info.writes ||= info.writes;
    // That record started the registry over itself (its statements were full): register again.
    if (sql.generation !== generation) id = sql.argument(request.sql);
  }
  return native.submit(
    job.target,
    request.op,
    job.flags,
    id,
    bareOrArray(request.values, request.names),
    request.names,
    request.route.reader,
    request.chunkRows ?? 0,
  );
}

/**
 * One positional number, string, bigint or boolean travels bare: the addon reads it with one
 * N-API call instead of three (the array's length, its element, the element's type).
 */
function bareOrArray(
  values: readonly unknown[] | undefined,
  names: readonly string[] | undefined,
): readonly unknown[] | number | string | bigint | boolean | undefined {
  if (values === undefined || names !== undefined || values.length !== 1) return values;
  const value = values[0];
  switch (typeof value) {
    case 'number':
    case 'string':
    case 'bigint':
    case 'boolean':
      return value;
    default:
      return values;
  }
}

/** The flags `request` is submitted with. */
export function requestFlags(request: Request, info: StatementInfo | undefined, safeIntegers: boolean): number {
  let flags =
    (safeIntegers ? RequestFlag.SafeIntegers : 0) |
    (info && info.wantNames ? RequestFlag.WantNames : 0) |
    (request.keepTransaction ? RequestFlag.KeepTransaction : 0) |
    (request.expectTransaction ? RequestFlag.ExpectTransaction : 0) |
    // A caller's statement in db.transaction() may not begin or end the transaction itself.
    (request.expectTransaction && !request.internal ? RequestFlag.RefuseTransactionEnd : 0) |
    (request.trace !== undefined && request.trace.counters ? RequestFlag.Counters : 0) |
    (request.noBusyWait === true ? RequestFlag.NoBusyWait : 0) |
    (request.internal ? RequestFlag.Internal : request.route.session?.readOnly === true ? RequestFlag.ReadOnly : 0);
  if (request.op === Op.IterateStart && request.rowsLeft !== undefined) {
    flags |= request.rowsLeft === 'hold' ? RequestFlag.HoldReader : RequestFlag.FirstChunkOnly;
  }
  if (request.op === Op.Run) {
    flags |= (request.returnRows ? RequestFlag.ReturnRows | RequestFlag.WantNames : 0) | (request.groupable ? RequestFlag.Groupable : 0);
  }
  return flags;
}
