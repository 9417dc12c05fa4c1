// Owns litepool's diagnostics_channel tracing channels and the shape of their contexts (public
// API: tools subscribe by name). A channel costs nothing while nobody subscribes: the pool checks
// `hasSubscribers` before building a context.
// Runs on the JS thread: `start` is published in the caller's async context (so a tracer sees
// the caller's span as parent), `asyncEnd` once the operation settled.

import { tracingChannel, type TracingChannel } from 'node:diagnostics_channel';
import type { CheckpointMode, CheckpointSource, Operation, Role } from './types.ts';

/** Context of `litepool:query`: one per query-level operation. */
export interface QueryChannelContext {
  operation: Operation;
  sql: string;
  /** The database path. */
  database: string;
  /** The pool that runs it (lets a subscriber tell pools on the same file apart). */
  pool: object;
  role: Role;
  inTransaction: boolean;
  /** Filled before `asyncEnd` when the operation reached a connection. */
  queuedMs?: number;
  execMs?: number;
  rows?: number;
  changes?: number;
  connectionId?: number;
  /** Set by diagnostics_channel: the result, or the error (published on `error` first). */
  result?: unknown;
  error?: unknown;
}

/** Context of `litepool:transaction`. */
export interface TransactionChannelContext {
  database: string;
  pool: object;
  behavior: 'deferred' | 'immediate' | 'exclusive';
  result?: unknown;
  error?: unknown;
}

/** Context of `litepool:acquire` (leases, snapshots). */
export interface AcquireChannelContext {
  database: string;
  pool: object;
  write: boolean;
  /** Filled before `asyncEnd`: milliseconds waited for the connection. */
  waitedMs?: number;
  result?: unknown;
  error?: unknown;
}

/** Context of `litepool:migrate`: one per migration run. */
export interface MigrateChannelContext {
  database: string;
  pool: object;
  dir?: string;
  dryRun: boolean;
  result?: unknown;
  error?: unknown;
}

/** Context of `litepool:backup`: one per `db.backup()` or `db.vacuumInto()`. */
export interface BackupChannelContext {
  database: string;
  pool: object;
  operation: 'backup' | 'vacuumInto';
  /** Where the copy goes (the resolved path). */
  destination: string;
  /** Filled before `asyncEnd`: milliseconds from the call until it settled. */
  durationMs?: number;
  /** The `{ pages, durationMs }` it resolved with, or the error. */
  result?: unknown;
  error?: unknown;
}

/** Context of `litepool:checkpoint`: one per checkpoint the pool runs as a request of its own. */
export interface CheckpointChannelContext {
  database: string;
  pool: object;
  mode: CheckpointMode;
  /** What ran it: 'manual' (`db.checkpoint()`), 'monitor' (the WAL monitor), 'vacuum' (the end of `vacuum()`). */
  source: CheckpointSource;
  /** Filled before `asyncEnd`: milliseconds from the call until it settled. */
  durationMs?: number;
  /** The `{ busy, walFrames, checkpointedFrames }` it resolved with, or the error. */
  result?: unknown;
  error?: unknown;
}

export const queryChannel: TracingChannel<unknown, QueryChannelContext> = tracingChannel('litepool:query');
export const transactionChannel: TracingChannel<unknown, TransactionChannelContext> = tracingChannel('litepool:transaction');
export const acquireChannel: TracingChannel<unknown, AcquireChannelContext> = tracingChannel('litepool:acquire');
export const migrateChannel: TracingChannel<unknown, MigrateChannelContext> = tracingChannel('litepool:migrate');
export const backupChannel: TracingChannel<unknown, BackupChannelContext> = tracingChannel('litepool:backup');
export const checkpointChannel: TracingChannel<unknown, CheckpointChannelContext> = tracingChannel('litepool:checkpoint');
