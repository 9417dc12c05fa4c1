// Owns the JS side of the request path: turning an operation into a native request, keeping the
// requests that wait for a free native slot, settling each promise exactly once when its
// completion arrives in a batch, cancellation, and the pool's operation counters.
//
// Everything here runs on the JS thread. The addon calls onBatch() once per batch of
// completions (one event-loop wake-up for many requests); onBatch decides when the next batch may
// come, so that one turn of the event loop spends a bounded share on completions.

import { LitepoolError, OperationTimeoutError, SqliteError, outOfRange } from './errors.ts';
import { BatchReader, HEADER_CELLS } from './completions.ts';
import { Op, RequestFlag, Status, Target, type NativePool } from './native.ts';
import { arrayRows, objectRows, rowBuilder, type RowBuilder } from './rows.ts';
import type { RunResult } from './types.ts';
import { Waiter } from './waiter.ts';

/** Exclusive use of the writer connection, held by a transaction or a write lease. */
export class WriterSession {
  ended = false;
}

/** What an operation resolves with, by the op that ran it. */
type Outcome = unknown;

/** What the JS side remembers about one SQL text. */
interface StatementInfo {
  /** A reader found it is not read-only: send it straight to the writer from now on. */
  writes: boolean;
  names: readonly string[] | undefined;
  build: RowBuilder | undefined;
}

const JobState = { Queued: 0, InFlight: 1, Settled: 2 } as const;
type JobState = (typeof JobState)[keyof typeof JobState];

export type RowMode = 'object' | 'array';

export interface JobSpec {
  op: Op;
  target: Target;
  sql?: string | undefined;
  values?: readonly unknown[] | undefined;
  names?: readonly string[] | undefined;
  rowMode?: RowMode | undefined;
  signal?: AbortSignal | undefined;
  timeout?: number | undefined;
  /** Opens and closes of connections: not user operations, so not counted in the stats. */
  internal?: boolean;
  /** The writer session this job belongs to: it bypasses the writer gate. */
  session?: WriterSession | undefined;
  /** The pinned reader (Target.PinnedReader) this job runs on. */
  reader?: number | undefined;
  /** Part of a transaction or lease: the connection may be left inside a transaction. */
  keepTransaction?: boolean | undefined;
  /** Run: a statement with RETURNING columns resolves with its rows instead of a RunResult. */
  returnRows?: boolean | undefined;
  /** Run: may share a transaction with neighbouring writes (group commit). */
  groupable?: boolean | undefined;
  /** Run: told the group commit the write was part of (undefined when it ran alone). */
  onGroup?: ((group: number | undefined) => void) | undefined;
  /** Part of a transaction: refuse to run if SQLite has already rolled it back. */
  expectTransaction?: boolean | undefined;
  /** Batch: the statements (sql holds their SQL texts, values and names one entry each). */
  batchSql?: readonly string[] | undefined;
  batchValues?: readonly (readonly unknown[] | undefined)[] | undefined;
  batchNames?: readonly (readonly string[] | undefined)[] | undefined;
  /** Iteration ops: rows per chunk, and the iteration's column names (filled by its start). */
  chunkRows?: number | undefined;
  iteration?: { names: readonly string[] | undefined; build: RowBuilder | undefined } | undefined;
}

/** What an iteration chunk resolves with. */
export interface Chunk {
  rows: unknown[];
  more: boolean;
}

/** What waits for the writer while a session owns it: single writes, sessions to come, and
 * write queues waiting for their turn (see writerTurn). */
type WriterQueueEntry = { job: Job } | { waiter: Waiter<WriterSession> } | { turn: () => void };

class Job {
  state: JobState = JobState.Queued;
  slot = -1;
  flags = 0;
  abortReason: unknown = undefined;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  constructor(
    readonly spec: JobSpec,
    public target: Target,
    readonly info: StatementInfo | undefined,
    readonly resolve: (value: Outcome) => void,
    readonly reject: (reason: unknown) => void,
  ) {}
}

/** A FIFO that shifts in O(1) and compacts itself. */
class Backlog {
  #items: (Job | undefined)[] = [];
  #head = 0;
  get length(): number {
    return this.#items.length - this.#head;
  }
  push(job: Job): void {
    this.#items.push(job);
  }
  peek(): Job | undefined {
    return this.#items[this.#head];
  }
  shift(): Job | undefined {
    const job = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return job;
  }
}

export interface OperationCounters {
  started: number;
  completed: number;
  failed: number;
  cancelled: number;
}

const MAX_STATEMENT_INFOS = 4096;
/** How long, and for how many completions, batches may follow each other in one event-loop turn. */
const TURN_BUDGET_MS = 0.5;
const TURN_BUDGET_COMPLETIONS = 1024;
/** Distinct SQL texts registered with the addon at once (then the registry starts over). */
const MAX_SQL_IDS = 4096;
/** Longer SQL texts (scripts) are passed as text each time rather than kept registered. */
const MAX_REGISTERED_SQL_LENGTH = 8192;

export class Dispatcher {
  readonly #native: NativePool;
  readonly #safeIntegers: boolean;
  readonly #inFlight: (Job | undefined)[] = [];
  readonly #batchJobs: (Job | undefined)[] = [];
  readonly #batchStarts: number[] = [];
  readonly #batchReader = new BatchReader();
  readonly #backlog = new Backlog();
  readonly #statements = new Map<string, StatementInfo>();
  #inFlightCount = 0;
  #queuedCount = 0;
  #referenced = true;
  /** SQL texts registered with the addon, and their ids (see #sqlArgument). */
  readonly #sqlIds = new Map<string, number>();
  /** A poll of the addon is scheduled (see onBatch). */
  #pollScheduled = false;
  /** When the batches of this turn of the event loop began (0: no batch yet), and how many. */
  #turnStart = 0;
  #turnCompletions = 0;
  #idleWaiters: (() => void)[] = [];
  readonly counters: OperationCounters = { started: 0, completed: 0, failed: 0, cancelled: 0 };
  /** The session that owns the writer, if any; while set, other writes wait in #writerQueue. */
  #writerOwner: WriterSession | undefined;
  #writerQueue: WriterQueueEntry[] = [];
  /** A write queue's turn is running (see writerTurn): its writes pass the writer gate. */
  #turnTaken = false;
  /** Readers pinned to leases (or being pinned), and the most that may be at once. */
  #pinnedReaders = 0;
  readonly #maxPinnedReaders: number;
  /** False for ':memory:' and readers: 0, where the writer's connection serves reads too. */
  readonly #hasReaders: boolean;
  #pinWaiters: Waiter<number>[] = [];

  constructor(native: NativePool, safeIntegers: boolean, readers: number) {
    this.#native = native;
    this.#safeIntegers = safeIntegers;
    // One reader always stays unpinned (when there are two or more), so plain reads keep flowing
    // even when every lease is taken.
    this.#maxPinnedReaders = readers <= 1 ? readers : readers - 1;
    this.#hasReaders = readers > 0;
  }

  /** The pool's queryTimeout: the timeout of operations that give none. */
  defaultTimeout: number | undefined = undefined;
  /** Told when a request failed on a worker (the connection keeper replaces broken ones). */
  onFailure: ((worker: number, errno: number) => void) | undefined = undefined;
  /** Readers pinned by leases right now, and who waits for each to be let go. */
  readonly #leasedReaders = new Set<number>();
  #readerFreed = new Map<number, (() => void)[]>();

  /** True while a lease or snapshot holds reader `index`. */
  isReaderLeased(index: number): boolean {
    return this.#leasedReaders.has(index);
  }

  /** Resolves once no lease holds reader `index`. */
  whenReaderFree(index: number): Promise<void> {
    if (!this.#leasedReaders.has(index)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiting = this.#readerFreed.get(index) ?? [];
      waiting.push(resolve);
      this.#readerFreed.set(index, waiting);
    });
  }

  /** Group commit statistics of the native writer. */
  get groupStats(): { commits: number; writes: number } {
    const stats = this.#native.stats();
    return { commits: stats.groupCommits, writes: stats.groupedWrites };
  }

  /** Readers that leases may pin at once (0: leases and snapshots use the writer). */
  get maxPinnedReaders(): number {
    return this.#maxPinnedReaders;
  }
  get writerHeld(): boolean {
    return this.#writerOwner !== undefined;
  }
  get writerWaiting(): number {
    return this.#writerQueue.length;
  }
  get leasesWaiting(): number {
    return this.#pinWaiters.length + this.#writerQueue.filter((entry) => 'waiter' in entry).length;
  }

  /** Waits for exclusive use of the writer (FIFO with the writes queued before). */
  acquireWriter(timeout: number | undefined, signal: AbortSignal | undefined): Promise<WriterSession> {
    if (!this.#writerOwner && this.#writerQueue.length === 0) {
      this.#writerOwner = new WriterSession();
      return Promise.resolve(this.#writerOwner);
    }
    const waiter: Waiter<WriterSession> = new Waiter<WriterSession>(timeout, signal, 'writer connection', (gaveUp) => {
      this.#writerQueue = this.#writerQueue.filter((entry) => !('waiter' in entry) || entry.waiter !== gaveUp);
    });
    if (!waiter.settled) this.#writerQueue.push({ waiter });
    return waiter.promise;
  }

  /**
   * Calls `admit` synchronously once no session holds the writer: at once when it is free, else
   * when its turn comes (FIFO with the writes and sessions queued before). The writes `admit`
   * submits go straight to the writer, ahead of what queued after the turn was asked for.
   */
  writerTurn(admit: () => void): void {
    if (!this.#writerOwner && this.#writerQueue.length === 0) admit();
    else this.#writerQueue.push({ turn: admit });
  }

  /** Gives the writer back; queued writes and the next session proceed in order. */
  releaseWriter(session: WriterSession): void {
    if (session.ended) return;
    session.ended = true;
    if (this.#writerOwner !== session) return;
    this.#writerOwner = undefined;
    while (this.#writerQueue.length > 0 && !this.#writerOwner) {
      const entry = this.#writerQueue.shift()!;
      if ('job' in entry) {
        this.#queuedCount--;
        // Past the gate already: straight on to the native writer, in queue order.
        if (entry.job.state !== JobState.Settled) this.#enqueueNative(entry.job);
      } else if ('turn' in entry) {
        this.#turnTaken = true;
        try {
          entry.turn();
        } finally {
          this.#turnTaken = false;
        }
      } else if (!entry.waiter.settled) {
        const next = new WriterSession();
        this.#writerOwner = next;
        if (!entry.waiter.grant(next)) this.#writerOwner = undefined;
      }
    }
    this.#noteProgress();
  }

  /** Waits for a reader of its own (pinned until releaseReader); resolves with its index. */
  async acquireReader(timeout: number | undefined, signal: AbortSignal | undefined): Promise<number> {
    if (this.#pinnedReaders < this.#maxPinnedReaders && this.#pinWaiters.length === 0) {
      this.#pinnedReaders++;
    } else {
      const waiter: Waiter<number> = new Waiter<number>(timeout, signal, 'reader connection', (gaveUp) => {
        this.#pinWaiters = this.#pinWaiters.filter((w) => w !== gaveUp);
      });
      if (!waiter.settled) this.#pinWaiters.push(waiter);
      await waiter.promise;
    }
    try {
      const reader = (await this.run({ op: Op.Pin, target: Target.Readers, internal: true })) as number;
      this.#leasedReaders.add(reader);
      return reader;
    } catch (error) {
      this.#unpinned();
      throw error;
    }
  }

  /** Rolls back what the lease left open and returns the reader to the shared ring. */
  async releaseReader(reader: number): Promise<void> {
    try {
      await this.run({ op: Op.Unpin, target: Target.PinnedReader, reader, internal: true });
    } finally {
      this.#leasedReaders.delete(reader);
      const waiting = this.#readerFreed.get(reader);
      this.#readerFreed.delete(reader);
      for (const wake of waiting ?? []) wake();
      this.#unpinned();
    }
  }

  /** A pin ended: hand the capacity to the next waiter. */
  #unpinned(): void {
    while (this.#pinWaiters.length > 0) {
      if (this.#pinWaiters.shift()!.grant(0)) return;
    }
    this.#pinnedReaders--;
  }

  get inFlight(): number {
    return this.#inFlightCount;
  }
  get queued(): number {
    return this.#queuedCount;
  }

  /** Runs one operation; the promise settles exactly once. */
  run(spec: JobSpec): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      const signal = spec.signal;
      if (signal?.aborted) {
        if (!spec.internal) {
          this.counters.started++;
          this.counters.cancelled++;
        }
        reject(signal.reason);
        return;
      }
      let info: StatementInfo | undefined;
      // Without readers every read runs on the writer's connection: it must wait for the session
      // that holds it like a write does, or it would run inside that session's transaction (and
      // roll it back, or end its iteration).
      let target = spec.target === Target.Readers && !this.#hasReaders && !spec.internal ? Target.Writer : spec.target;
      if (spec.sql !== undefined && (spec.op === Op.Get || spec.op === Op.All)) {
        info = this.#statementInfo(spec.sql);
        if (info.writes && target === Target.Readers) target = Target.Writer;
      }
      const job = new Job(spec, target, info, resolve, reject);
      job.flags =
        (this.#safeIntegers ? RequestFlag.SafeIntegers : 0) |
        (info && !info.names ? RequestFlag.WantNames : 0) |
        (spec.keepTransaction ? RequestFlag.KeepTransaction : 0) |
        (spec.returnRows ? RequestFlag.ReturnRows | RequestFlag.WantNames : 0) |
        (spec.groupable ? RequestFlag.Groupable : 0) |
        (spec.expectTransaction ? RequestFlag.ExpectTransaction : 0);
      if (!spec.internal) this.counters.started++;
      if (signal) {
        job.onAbort = () => this.#cancel(job, signal.reason);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      if (spec.timeout !== undefined) {
        const timeout = spec.timeout;
        job.timer = setTimeout(() => this.#cancel(job, new OperationTimeoutError(timeout, spec.sql)), timeout);
      }
      this.#enqueue(job);
    });
  }

  /** Sends a job on its way: behind the writer gate, into the backlog, or to the addon. */
  #enqueue(job: Job): void {
    if (job.target === Target.Writer && !job.spec.session && !this.#turnTaken && (this.#writerOwner || this.#writerQueue.length > 0)) {
      job.state = JobState.Queued;
      this.#writerQueue.push({ job });
      this.#queuedCount++;
      return;
    }
    this.#enqueueNative(job);
  }

  /** Hands a job to the addon, or to the backlog when every native slot is taken. */
  #enqueueNative(job: Job): void {
    if (this.#backlog.length > 0 || !this.#submit(job)) {
      job.state = JobState.Queued;
      this.#backlog.push(job);
      this.#queuedCount++;
    }
  }

  /** Waits for the completion of requests the addon started by itself (connection opens). */
  track(slot: number): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      const job = new Job({ op: Op.Open, target: Target.Writer, internal: true }, Target.Writer, undefined, resolve, reject);
      job.state = JobState.InFlight;
      job.slot = slot;
      this.#inFlight[slot] = job;
      this.#inFlightCount++;
      this.#reference(true);
    });
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.#inFlightCount === 0 && this.#queuedCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** The addon's batch callback (see lib/completions.ts for the layout). Never throws. */
  readonly onBatch = (buffer: ArrayBuffer, capacity: number, objects: unknown[], length: number): void => {
    const reader = this.#batchReader;
    reader.load(buffer, capacity, objects);
    // The addon has already recycled every slot of this batch, and completing a job can submit
    // again (a reroute to the writer) and get one of them back. So every job of the batch is
    // detached from its slot first, and only then completed.
    const jobs = this.#batchJobs;
    const starts = this.#batchStarts;
    let count = 0;
    for (let at = 0; at < length; at += HEADER_CELLS + reader.number(at + 5)) {
      const slot = reader.number(at);
      jobs[count] = this.#inFlight[slot];
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
        const status = reader.number(at + 1);
        const c =
          status === Status.Rows || status === Status.RowsMore
            ? reader.values(at + HEADER_CELLS, reader.number(at + 5))
            : reader.value(at + 4);
        this.#complete(job, status, reader.value(at + 2), reader.value(at + 3), c);
      } catch (error) {
        this.#settle(job, false, error);
      }
    }
    try {
      this.#pump();
      this.#noteProgress();
    } finally {
      // Until poll() runs, the workers announce no completions: the poll is scheduled whatever
      // happened above, or every later completion would wait in the ring for ever. Batches that
      // keep coming are taken back to back (poll as a microtask) while this turn of the event
      // loop is young; after TURN_BUDGET_MS or TURN_BUDGET_COMPLETIONS the next batch waits for
      // the next turn, after timers and I/O had theirs.
      this.#turnCompletions += count;
      if (!this.#pollScheduled) {
        this.#pollScheduled = true;
        const now = performance.now();
        if (this.#turnStart === 0) this.#turnStart = now;
        if (now - this.#turnStart < TURN_BUDGET_MS && this.#turnCompletions < TURN_BUDGET_COMPLETIONS) {
          queueMicrotask(this.#poll);
        } else {
          this.#endTurn();
          setImmediate(this.#poll);
        }
      }
    }
  };

  readonly #poll = (): void => {
    this.#pollScheduled = false;
    this.#native.poll();
    // Nothing was waiting: the workers announce the next completion, on a later turn.
    if (!this.#pollScheduled) this.#endTurn();
  };

  #endTurn(): void {
    this.#turnStart = 0;
    this.#turnCompletions = 0;
  }

  /** Wakes idle() waiters and lets the process exit once nothing is in flight. */
  #noteProgress(): void {
    if (this.#inFlightCount !== 0) return;
    this.#reference(false);
    if (this.#queuedCount !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * What submit() gets for a SQL text: the id of its registered copy (registered on first use),
   * so the addon never reads the same JS string twice; the text itself for long scripts.
   */
  #sqlArgument(sql: string | undefined): string | number | undefined {
    if (sql === undefined || sql.length > MAX_REGISTERED_SQL_LENGTH) return sql;
    let id = this.#sqlIds.get(sql);
    if (id === undefined) {
      if (this.#sqlIds.size >= MAX_SQL_IDS) {
        this.#sqlIds.clear();
        this.#native.forgetSql();
      }
      id = this.#native.registerSql(sql);
      this.#sqlIds.set(sql, id);
    }
    return id;
  }

  #statementInfo(sql: string): StatementInfo {
    let info = this.#statements.get(sql);
    if (!info) {
      if (this.#statements.size >= MAX_STATEMENT_INFOS) this.#statements.clear();
      info = { writes: false, names: undefined, build: undefined };
      this.#statements.set(sql, info);
    }
    return info;
  }

  #reference(on: boolean): void {
    if (this.#referenced === on) return;
    this.#referenced = on;
    if (on) this.#native.ref();
    else this.#native.unref();
  }

  /** Hands a job to the addon; false when every native slot is taken. */
  #submit(job: Job): boolean {
    const { spec } = job;
    const slot =
      spec.op === Op.Batch
        ? this.#native.submit(job.target, spec.op, job.flags, spec.batchSql, spec.batchValues, spec.batchNames, -1, 0)
        : this.#native.submit(job.target, spec.op, job.flags, this.#sqlArgument(spec.sql), spec.values, spec.names, spec.reader ?? -1, spec.chunkRows ?? 0);
    if (slot < 0) return false;
    job.slot = slot;
    job.state = JobState.InFlight;
    this.#inFlight[slot] = job;
    this.#inFlightCount++;
    this.#reference(true);
    return true;
  }

  /** Moves waiting jobs into free native slots, in order. */
  #pump(): void {
    while (this.#backlog.length > 0) {
      const job = this.#backlog.peek()!;
      if (job.state === JobState.Settled) {
        this.#backlog.shift();
        continue;
      }
      let submitted: boolean;
      try {
        submitted = this.#submit(job);
      } catch (error) {
        // The addon could not take this request: it fails alone, and the backlog moves on.
        submitted = true;
        this.#settle(job, false, error);
      }
      if (!submitted) return;
      this.#backlog.shift();
      this.#queuedCount--;
    }
  }

  #cancel(job: Job, reason: unknown): void {
    if (job.state === JobState.Settled) return;
    if (job.state === JobState.Queued) {
      // Still on the JS side: it never reaches SQLite.
      const inWriterQueue = this.#writerQueue.findIndex((entry) => 'job' in entry && entry.job === job);
      if (inWriterQueue >= 0) this.#writerQueue.splice(inWriterQueue, 1);
      this.#queuedCount--;
      job.abortReason = reason;
      this.#settle(job, false, reason);
      this.#noteProgress();
      return;
    }
    if (job.abortReason !== undefined) return;
    // In native hands: skipped if not started, interrupted if running. The completion settles
    // it, so a write that committed before the interrupt took effect is reported as done.
    job.abortReason = reason;
    this.#native.cancel(job.slot);
    // A read in the shared reader ring waits there as long as every reader is busy or leased
    // (with one reader, for as long as a lease holds it): it is settled now, since a reader never
    // writes. Its completion, whenever a reader gets to it, only frees its slot.
    if (job.target === Target.Readers && (job.spec.op === Op.Get || job.spec.op === Op.All)) this.#settle(job, false, reason);
  }

  #settle(job: Job, ok: boolean, value: unknown): void {
    if (job.state === JobState.Settled) return;
    job.state = JobState.Settled;
    if (job.timer !== undefined) clearTimeout(job.timer);
    if (job.onAbort) job.spec.signal?.removeEventListener('abort', job.onAbort);
    if (!job.spec.internal) {
      if (ok) this.counters.completed++;
      else if (job.abortReason !== undefined && value === job.abortReason) this.counters.cancelled++;
      else this.counters.failed++;
    }
    if (ok) job.resolve(value);
    else job.reject(value);
  }

  #chunk(spec: JobSpec, more: boolean, names: string[] | undefined, width: number, cells: unknown[]): Chunk {
    const iteration = spec.iteration!;
    if (names) {
      iteration.names = names;
      iteration.build = undefined;
    }
    if (spec.rowMode === 'array') return { rows: arrayRows(cells, width), more };
    const build = (iteration.build ??= rowBuilder(iteration.names ?? Array.from({ length: width }, (_, i) => `${i}`)));
    return { rows: objectRows(cells, width, build), more };
  }

  #complete(job: Job, status: number, a: unknown, b: unknown, c: unknown): void {
    const { spec } = job;
    switch (status) {
      case Status.RowsMore:
      case Status.Rows: {
        // A write with RETURNING rows: its group is not reported, so it counts as its own commit.
        if (spec.op === Op.Run) spec.onGroup?.(undefined);
        if (spec.iteration) {
          this.#settle(job, true, this.#chunk(spec, status === Status.RowsMore, a as string[] | undefined, b as number, c as unknown[]));
          return;
        }
        if (spec.op === Op.Batch) {
          const cells = c as (number | bigint)[];
          const results: RunResult[] = [];
          for (let i = 0; i < cells.length; i += 2) results.push({ changes: Number(cells[i]), lastInsertRowid: cells[i + 1]! });
          this.#settle(job, true, results);
          return;
        }
        const info = job.info;
        const width = b as number;
        const cells = c as unknown[];
        let names = a as string[] | undefined;
        if (info) {
          if (names) {
            info.names = names;
            info.build = undefined;
          } else {
            names = info.names as string[] | undefined;
          }
        }
        if (spec.rowMode === 'array') {
          this.#settle(job, true, spec.op === Op.Get ? (cells.length ? cells : undefined) : arrayRows(cells, width));
          return;
        }
        let build: RowBuilder;
        if (info && info.names && info.names.length === width) {
          build = info.build ??= rowBuilder(info.names);
        } else {
          build = rowBuilder(names && names.length === width ? names : Array.from({ length: width }, (_, i) => `${i}`));
        }
        this.#settle(job, true, spec.op === Op.Get ? (cells.length ? build(cells, 0) : undefined) : objectRows(cells, width, build));
        return;
        return;
      }
      case Status.Done: {
        if (spec.op === Op.Run) {
          const result: RunResult = { changes: a as number, lastInsertRowid: b as number | bigint };
          spec.onGroup?.(c as number | undefined);
          this.#settle(job, true, result);
        } else if (spec.op === Op.Pin || spec.op === Op.Unpin || spec.op === Op.Reset || spec.op === Op.IterateEnd) {
          this.#settle(job, true, a);
        } else {
          this.#settle(job, true, undefined);
        }
        return;
      }
      case Status.NeedsWriter: {
        if (job.info) job.info.writes = true;
        if (job.abortReason !== undefined) {
          this.#settle(job, false, job.abortReason);
          return;
        }
        if (job.target === Target.PinnedReader) {
          // A read lease or snapshot holds a read-only connection: it cannot write.
          this.#settle(job, false, new SqliteError(8, 'attempt to write a readonly database: a read lease or snapshot cannot write', spec.sql));
          return;
        }
        job.target = Target.Writer;
        this.#enqueue(job);
        return;
      }
      case Status.Cancelled:
        this.#settle(job, false, job.abortReason ?? new LitepoolError('LITEPOOL_CANCELLED', 'the operation was cancelled because the pool shut down'));
        return;
      case Status.SqliteFailed:
        this.#settle(job, false, new SqliteError(a as number, b as string, typeof spec.sql === 'string' ? spec.sql : undefined));
        if (this.onFailure && typeof c === 'number') this.onFailure(c, a as number);
        return;
      case Status.BindFailed:
        this.#settle(job, false, Object.assign(outOfRange(b as string), { code: 'LITEPOOL_BIND', sql: spec.sql }));
        return;
      case Status.Misuse:
        this.#settle(job, false, Object.assign(outOfRange(b as string), { code: 'LITEPOOL_MISUSE', sql: spec.sql }));
        return;
      case Status.IntegerOverflow:
        this.#settle(job, false, Object.assign(outOfRange(b as string), { code: 'LITEPOOL_INTEGER_OVERFLOW', sql: spec.sql }));
        return;
      default:
        this.#settle(job, false, new LitepoolError('LITEPOOL_INTERNAL', `unknown completion status ${status}`));
    }
  }
}

