// Owns what lib/ asks the dispatcher for: one request kind per operation (a union told apart by
// `op`), what each kind resolves with, and RequestRunner, the narrow view of the dispatcher that
// scopes, leases, transactions, reader pins and the connection keeper get.
//
// A request is one object literal built by its caller; the dispatcher keeps it as is (no copy).
// Fields a kind does not use are declared absent (`?: undefined`), so the dispatcher reads the
// same fields of every kind and hands the addon undefined for them.

import { Op } from '../native/contract.ts';
import type { EncodedBatch } from '../input/batch.ts';
import type { RowBlock } from '../input/row-block.ts';
import type { QueryOptions, Row, RunResult } from '../types.ts';
import type { RowBuilder } from './rows.ts';
import type { Route } from './route.ts';
import type { WriterPlace } from './writer-place.ts';

export type RowMode = NonNullable<QueryOptions['rowMode']>;

/**
 * A write queue's hold on one entry's retries (api/write-queue-retry.ts; the retry loop: connections/retry.ts): its attempts run with
 * `signal`, which the queue aborts to stop them when an earlier entry is to be retried first
 * (`fenced` tells that rejection apart); `retry` resolves when the entry may go again, in the
 * queue's order, after `delay` (none: it was fenced, it just waits its turn).
 */
export interface RetryTurn {
  readonly signal: AbortSignal;
  fenced(error: unknown): boolean;
  retry(delay: number | undefined): Promise<void>;
}

/** What every request carries. */
interface RequestBase {
  readonly route: Route;
  /** Cancels the request: removed if still queued, interrupted if running. */
  readonly signal?: AbortSignal | undefined;
  /** Milliseconds before the request is cancelled with an OperationTimeoutError. */
  readonly timeout?: number | undefined;
  /** Part of a transaction or lease: the connection may be left inside a transaction. */
  readonly keepTransaction?: boolean | undefined;
  /** Part of a transaction: refuse to run if SQLite has already rolled it back. */
  readonly expectTransaction?: boolean | undefined;
  /** Opens, closes, pins, BEGIN, COMMIT...: not user operations, so not counted in the stats. */
  readonly internal?: boolean | undefined;
  /** A best-effort request of the pool's own: fails with SQLITE_BUSY at once rather than wait for another connection's lock. */
  readonly noBusyWait?: boolean | undefined;
  /** Set while something observes the operation (observers, diagnostics channels). */
  readonly trace?: RequestTrace | undefined;
  /** A write without a session: the place in the writer's line it keeps (request/writer-place.ts). */
  readonly place?: WriterPlace | undefined;
  /** A later attempt of a retried operation (counted once, by its first); a write's had its turn: it waits only for a session holding the writer. */
  readonly retried?: boolean | undefined;
  /** A later request of an operation its first request counted (a first chunk sent again: request/operation-counts.ts). */
  readonly continues?: boolean | undefined;
  /** A write queue entry's: keeps its retries in the queue's order (api/write-queue-retry.ts). */
  readonly turn?: RetryTurn | undefined;
}

/**
 * What the dispatcher tells an observed operation (lib/observers/query-trace.ts) about its
 * requests; only called when a request carries one.
 */
export interface RequestTrace {
  /** Ask the worker for SQLite's statement counters. */
  readonly counters: boolean;
  /**
   * A request of the operation enters the dispatcher, bound for the writer or a reader;
   * `writes`: SQLite already reported the statement writes. Returns undefined, or a veto: the
   * error the request then rejects with (nothing reaches SQLite).
   */
  admit(writer: boolean, writes: boolean): unknown;
  /** A reader refused the statement as writing; it goes to the writer next. Returns undefined or a veto. */
  rerouted(): unknown;
  /** The request waits on the JS side (behind the writer gate, or for a free native slot). */
  parked(): void;
  /** The request is about to be handed to the addon: its wait on the JS side ends here (its native wait starts inside that call). */
  submitting(): void;
  /** The addon took the request (after submitting(); when it had no free slot, the request is parked again instead). */
  submitted(): void;
  /** Its completion: native queue wait and run time (µs), rows, changes, the worker, the group size. */
  completed(queuedMicros: number, execMicros: number, rows: number, changes: number, worker: number, groupSize: number, counters: readonly number[] | undefined): void;
  /** The operation ends with its request's settlement: the dispatcher calls settled(). */
  readonly settlesWithRequest: boolean;
  /**
   * The request's promise settled (only when `settlesWithRequest`; once per run()): `ok`, and the
   * value or the reason; `at` (a performance.now() reading): the end of the completion batch
   * that settled it, after which its caller resumes (undefined when it settled outside a batch:
   * a veto, an abort, a timeout). A throw here is ignored: it never changes the outcome.
   */
  settled(ok: boolean, value: unknown, at: number | undefined): void;
}

/** Statement parameters, flattened (input/params.ts). */
interface Bound {
  readonly values: readonly unknown[] | undefined;
  readonly names: readonly string[] | undefined;
}

/** The fields of a kind that binds nothing. */
interface Unbound {
  readonly values?: undefined;
  readonly names?: undefined;
}

/** get (resolves with the first row or undefined) and all (every row). */
export interface QueryRequest extends RequestBase, Bound {
  readonly op: typeof Op.Get | typeof Op.All;
  readonly sql: string;
  readonly rowMode: RowMode;
  readonly chunkRows?: undefined;
}

/** One statement that may write. */
export interface RunRequest extends RequestBase, Bound {
  readonly op: typeof Op.Run;
  readonly sql: string;
  /** A statement with RETURNING columns resolves with its rows instead of a RunResult. */
  readonly returnRows?: boolean | undefined;
  /** May share a transaction with neighbouring writes (group commit). */
  readonly groupable?: boolean | undefined;
  /** Told the group commit the write was part of (undefined when it ran alone). */
  readonly onGroup?: ((group: number | undefined) => void) | undefined;
  readonly chunkRows?: undefined;
}

/** One or more statements without parameters. */
export interface ExecRequest extends RequestBase, Unbound {
  readonly op: typeof Op.Exec;
  readonly sql: string;
  readonly chunkRows?: undefined;
}

/** Several statements run atomically. */
export interface BatchRequest extends RequestBase, Unbound {
  readonly op: typeof Op.Batch;
  readonly statements: EncodedBatch;
  readonly sql?: undefined;
  readonly chunkRows?: undefined;
}

/** One block of insertMany's rows, each run through the same single-row INSERT; resolves with the rows changed. */
export interface InsertRowsRequest extends RequestBase, Unbound {
  readonly op: typeof Op.InsertRows;
  readonly sql: string;
  readonly block: RowBlock;
  readonly chunkRows?: undefined;
}

/** What an iteration remembers between its chunks: the column names and their row builder. */
export interface Iteration {
  names: readonly string[] | undefined;
  build: RowBuilder | undefined;
}

/** One chunk of an iteration: the start (with the SQL and parameters) or the next chunk. */
export interface IterateRequest extends RequestBase {
  readonly op: typeof Op.IterateStart | typeof Op.IterateNext;
  readonly sql: string | undefined;
  readonly values: readonly unknown[] | undefined;
  readonly names: readonly string[] | undefined;
  readonly rowMode: RowMode;
  /** Rows of this chunk (at most: a chunk also ends at ITERATE_CHUNK_BYTES of row data). */
  readonly chunkRows: number;
  readonly iteration: Iteration;
  /**
   * IterateStart on the shared reader ring, when rows remain after the first chunk: 'hold' keeps
   * the reader pinned to the iteration; 'end' ends the statement there (no reader was spared).
   */
  readonly rowsLeft?: 'hold' | 'end' | undefined;
}

/** Connection housekeeping: open, close, pin and unpin a reader, reset, end an iteration, reopen. */
export interface ControlRequest extends RequestBase, Unbound {
  readonly op: typeof Op.Open | typeof Op.Close | typeof Op.Pin | typeof Op.Unpin | typeof Op.Reset | typeof Op.IterateEnd | typeof Op.Reopen;
  readonly sql?: undefined;
  readonly chunkRows?: undefined;
}

/**
 * Maintenance of one connection: a checkpoint (`chunkRows`: its CheckpointMode), a backup's start
 * (`sql`: the file to write), step (`chunkRows`: pages) and end.
 */
export interface MaintenanceRequest extends RequestBase, Unbound {
  readonly op: typeof Op.Checkpoint | typeof Op.BackupStart | typeof Op.BackupStep | typeof Op.BackupEnd;
  readonly sql?: string | undefined;
  readonly chunkRows?: number | undefined;
}

export type Request = QueryRequest | RunRequest | ExecRequest | BatchRequest | InsertRowsRequest | IterateRequest | ControlRequest | MaintenanceRequest;

/** What an iteration chunk resolves with. */
export interface Chunk {
  rows: unknown[];
  /** The iteration has more rows (it stays open on its connection). */
  more: boolean;
  /** The worker that ran the chunk (a reader's index, or WRITER_WORKER). */
  reader: number;
}

/** What each op resolves with. */
interface Outcomes {
  /** A row or undefined (get), rows (all): objects or arrays, by rowMode. */
  [Op.Get]: unknown;
  [Op.All]: unknown;
  [Op.Run]: RunResult | Row[];
  [Op.Exec]: undefined;
  [Op.Batch]: RunResult[];
  /** The rows the block changed. */
  [Op.InsertRows]: number;
  [Op.IterateStart]: Chunk;
  [Op.IterateNext]: Chunk;
  /** The index of the reader pinned. */
  [Op.Pin]: number;
  [Op.Unpin]: unknown;
  [Op.Reset]: unknown;
  [Op.IterateEnd]: unknown;
  [Op.Open]: undefined;
  /** The writer's: its close checkpoint's busy (0 or 1), frames in the WAL, frames checkpointed, µs; none when it ran none. */
  [Op.Close]: number[] | undefined;
  /** 1: replaced; 0: a lease or an iteration held the reader, nothing was replaced. */
  [Op.Reopen]: number;
  /** busy (0 or 1), frames in the WAL, frames checkpointed. */
  [Op.Checkpoint]: number[];
  [Op.BackupStart]: undefined;
  /** done (0 or 1), pages remaining, pages in all, the step's duration in µs. */
  [Op.BackupStep]: number[];
  [Op.BackupEnd]: undefined;
}

export type Outcome<R extends Request> = Outcomes[R['op']];

/** Runs requests: the dispatcher, as everything above it sees it. */
export interface RequestRunner {
  /** Runs one request; the promise settles exactly once. */
  run<R extends Request>(request: R): Promise<Outcome<R>>;
  /** stats().operations, when the runner keeps them (retries count an operation once). */
  readonly counters?: OperationCounters;
}

/** What the pool's operations came to (stats().operations). */
export interface OperationCounters {
  started: number;
  completed: number;
  failed: number;
  cancelled: number;
}
