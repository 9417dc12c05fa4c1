// Owns the public types of the observer layer: the hooks an observer may implement and the event
// each hook receives. Types only: no implementation is imported here.

import type { PoolStats } from '../types.ts';

/** What a query-level operation was. */
export type Operation = 'get' | 'all' | 'run' | 'exec' | 'iterate' | 'batch';

/** Which connection ran (or was to run) an operation. */
export type Role = 'reader' | 'writer';

/** What `beforeQuery` sees: enough to decide whether the operation may run. */
export interface BeforeQueryEvent {
  operation: Operation;
  sql: string;
  role: Role;
  /**
   * True when SQLite has reported that the statement writes (a reader refused it as not
   * read-only, and the pool is about to send it to the writer instead); absent while unknown.
   */
  writes?: boolean;
  /**
   * The statement's `EXPLAIN QUERY PLAN` rows (their `detail` column), present only when an
   * attached observer sets `wantsQueryPlan` (the pool looks the plan up once per SQL text).
   */
  plan?: readonly string[];
}

/** Per-statement counters from SQLite (`sqlite3_stmt_status`), collected while a profiler is attached. */
export interface StatementCounters {
  /** Steps of full table scans (SQLITE_STMTSTATUS_FULLSCAN_STEP). */
  fullScanSteps: number;
  /** Sort operations (SQLITE_STMTSTATUS_SORT). */
  sorts: number;
  /** Rows inserted into automatic indexes (SQLITE_STMTSTATUS_AUTOINDEX). */
  autoIndexes: number;
  /** Virtual machine steps (SQLITE_STMTSTATUS_VM_STEP). */
  vmSteps: number;
}

/** One finished query-level operation, clocked natively. */
export interface QueryEvent {
  operation: Operation;
  sql: string;
  role: Role;
  /** The reader's index (0, 1, ...), or -1 for the writer. */
  connectionId: number;
  /** Milliseconds between submission and the moment a connection started running it. */
  queuedMs: number;
  /** Milliseconds the connection spent running it. */
  execMs: number;
  /** Milliseconds from the call to the result (queue wait, execution and delivery). */
  totalMs: number;
  /** Rows returned. */
  rows: number;
  /** Rows changed (writes). */
  changes: number;
  /** True when it ran inside a transaction, snapshot or lease. */
  inTransaction: boolean;
  /** Writes committed together by group commit (absent when it ran alone). */
  groupSize?: number;
  /** Present when it failed: the error's stable code (e.g. `SQLITE_CONSTRAINT_UNIQUE`). */
  error?: { code: string; message: string };
  /** The bound parameter values; only for observers that set `wantsParams`. */
  params?: readonly unknown[];
  /** SQLite's statement counters; only for observers that set `wantsStatementCounters`. */
  counters?: StatementCounters;
}

export interface TransactionEvent {
  phase: 'begin' | 'commit' | 'rollback';
  /** Milliseconds since the transaction asked for the writer (0 at 'begin'). */
  durationMs: number;
  error?: unknown;
}

export interface AcquireEvent {
  write: boolean;
  waitedMs: number;
}

export interface ConnectionEvent {
  event: 'open' | 'close' | 'replace';
  role: Role;
  id: number;
  reason?: string;
}

/** What a checkpoint achieved (see `db.checkpoint()`). */
export interface CheckpointResult {
  /** True when a reader or writer kept the checkpoint from finishing. */
  busy: boolean;
  /** Frames in the WAL. */
  walFrames: number;
  /** Frames copied back into the database. */
  checkpointedFrames: number;
}

export type CheckpointMode = 'passive' | 'full' | 'restart' | 'truncate';

export type CheckpointEvent = CheckpointResult & { mode: CheckpointMode; durationMs: number };

export interface WalEvent {
  kind: 'warn' | 'pinned';
  walBytes: number;
  /** What keeps the WAL from being checkpointed (a snapshot, a read lease, an iteration). */
  heldBy?: string;
  /** Milliseconds it has held it. */
  heldMs?: number;
}

export interface QueueEvent {
  kind: 'full' | 'dropped' | 'timeout';
  depth: number;
}

export interface MigrationEvent {
  phase: 'start' | 'applied' | 'failed';
  version: string;
  name: string;
  durationMs?: number;
}

/** What an observer learns about the pool it is attached to. */
export interface ObservedPool {
  /** The database path. */
  readonly path: string;
  /** True once the pool is closing or closed. */
  readonly closed: boolean;
  /** The pool's statistics now. */
  stats(): PoolStats;
  /** Runs a read on a reader: used by observers that look up query plans. */
  all(sql: string): Promise<Record<string, unknown>[]>;
}

/**
 * A plain object whose hooks the pool calls on the JS thread after the fact. Every hook is
 * optional. An observer that throws never changes an operation's outcome (the first throw is
 * reported once with `process.emitWarning`), except `beforeQuery`, which throws to veto.
 */
export interface Observer {
  /** Throw to veto: the operation rejects with a PolicyError and nothing reaches SQLite. */
  beforeQuery?(q: BeforeQueryEvent): void;
  onQuery?(e: QueryEvent): void;
  onTransaction?(e: TransactionEvent): void;
  onAcquire?(e: AcquireEvent): void;
  onConnection?(e: ConnectionEvent): void;
  onCheckpoint?(e: CheckpointEvent): void;
  onWal?(e: WalEvent): void;
  onQueue?(e: QueueEvent): void;
  onMigration?(e: MigrationEvent): void;
  /** Called once when the observer is attached to a pool. */
  onAttach?(pool: ObservedPool): void;
  /** Ask for `QueryEvent.params` (off by default: parameter values may be secrets). */
  readonly wantsParams?: boolean;
  /** Ask for `QueryEvent.counters` (SQLite's per-statement counters; costs a little per query). */
  readonly wantsStatementCounters?: boolean;
  /** Ask for `BeforeQueryEvent.plan`. */
  readonly wantsQueryPlan?: boolean;
}
