// Owns the public types of open()'s options: PoolOptions and the values it takes. Declarations
// only, like types.ts, whose types it uses (a types file imports nothing but other types files).

import type { NewConnection, Observer, OpenMigrationOptions } from './types.ts';

/** Synchronous mode of every connection (PRAGMA synchronous). */
export type SynchronousMode = 'off' | 'normal' | 'full' | 'extra';

/** A PRAGMA value set on every connection. */
export type PragmaValue = boolean | number | string;

/** Named sets of option values (see the tuning guide); explicit options override them. */
export type Preset = 'default' | 'production' | 'minimal';

/** The writer's checkpoint on close: 'truncate' (and empty the WAL file), 'passive' (no waiting; the WAL stays), false (none). */
export type CheckpointOnClose = 'truncate' | 'passive' | false;

/** The WAL replication tool the database lives under (docs/scale-out.md): 'litestream' (backup) or 'litefs' (read replicas). */
export type Replication = 'none' | 'litestream' | 'litefs';

/** A complete retry policy: how `retry` options are applied. */
export interface RetryPolicy {
  /** Total attempts, including the first (2 or more to retry at all). */
  attempts: number;
  /** Delay ceiling of the first retry, in ms; doubles with every retry. */
  baseDelay: number;
  /** Largest delay between two attempts, in ms. */
  maxDelay: number;
}

/** Opt-in retries of transient SQLite errors (BUSY, LOCKED; BUSY_SNAPSHOT for transactions). */
export interface RetryOptions {
  /** Total attempts including the first (default 3). */
  attempts?: number;
  /** Ceiling of the first backoff in ms, doubled per retry, with full jitter (default 10). */
  baseDelay?: number;
  /** Largest backoff in ms (default 1000). */
  maxDelay?: number;
}

/** Options of `open()`. */
export interface PoolOptions {
  /** Starting values for the options below (default 'default'). */
  preset?: Preset;
  /**
   * Milliseconds to wait for a lease, a transaction's writer or a read snapshot (default 30 000);
   * also the longest an onConnection hook may take.
   */
  acquireTimeout?: number;
  /**
   * Longest a read snapshot (`db.read`), a read lease's transaction, or a `db.iterate()` holding a
   * reader may stay open, in ms (default 60 000); past it they end with TransactionTimeoutError.
   */
  maxReadDuration?: number;
  /** Milliseconds a connection may sit idle before it is replaced (default 86 400 000: a day). */
  idleTimeout?: number;
  /**
   * Runs on every new connection, at open() and whenever a connection is replaced, before it
   * serves anything: `conn.role` is 'reader' or 'writer'. A hook that fails at open() fails open();
   * one that has not settled within acquireTimeout fails as one that threw; close() waits for a
   * replacement's hook within that bound.
   */
  onConnection?(conn: NewConnection): unknown;
  /** Retries of transient errors; off unless given (the 'production' preset turns it on). */
  retry?: RetryOptions | false;
  /**
   * Group commit (default on): consecutive plain writes waiting for the writer run in one
   * transaction, each in its own SAVEPOINT; every promise resolves after COMMIT. `maxBatch`
   * (default 256) caps a group; `maxDelayMs` (default 0) lets the writer wait for more.
   */
  groupCommit?: boolean | { maxBatch?: number; maxDelayMs?: number };
  /**
   * Milliseconds of its own CPU time a native worker may run without pausing before it offers
   * its CPU core to other threads, the event loop's among them (default 1; fractions allowed; 0:
   * never). Keeps timers and I/O callbacks on time when busy workers outnumber the cores. See
   * docs/tuning.md.
   */
  timeslice?: number;
  /**
   * Reader threads, each with its own connection, 0 to 64. Default: one per CPU core available
   * (`os.availableParallelism()`) plus one, 2 to 8 (`production`: 2 to 16; `minimal`: 1);
   * `:memory:` always uses 0. See docs/tuning.md.
   */
  readers?: number;
  /** Milliseconds a connection waits for a lock held by another process (default 5000). */
  busyTimeout?: number;
  /** PRAGMA synchronous on every connection (default 'normal'). */
  synchronous?: SynchronousMode;
  /** Page cache per connection, in KiB (default 16000). */
  cacheSize?: number;
  /** Prepared statements kept per connection (default 128; 0 disables the cache). */
  statementCacheSize?: number;
  /** PRAGMAs applied to every connection, e.g. `{ foreign_keys: true }`. */
  pragmas?: Readonly<Record<string, PragmaValue>>;
  /** INTEGER columns come back as bigint (default false). */
  safeIntegers?: boolean;
  /** Create the database file when missing (default true). */
  create?: boolean;
  /** Default timeout in milliseconds of every operation (default: none). */
  queryTimeout?: number;
  /** PRAGMA foreign_keys on every connection (default true; false opts out; `pragmas.foreign_keys` wins). */
  foreignKeys?: boolean;
  /**
   * Observers attached from the start (see docs/observability.md); more can be added later with
   * `db.observe()`.
   */
  observers?: readonly Observer[];
  /**
   * Migrations applied before open() resolves, as by `db.migrate()` (no `dryRun`): open() rejects
   * with the MigrationError when they fail. See docs/migrations.md.
   */
  migrations?: OpenMigrationOptions;
  /** The WAL monitor (docs/operations.md): `{ warnBytes: 64 MiB, checkpointBytes: 4 MiB, intervalMs: 1000 }` by default (true: the same); false: off. */
  walMonitor?: boolean | { warnBytes?: number; checkpointBytes?: number; intervalMs?: number };
  /** Probes connections idle `intervalMs` (default 30 000; true: the same), replaces one that fails; false: off. */
  healthCheck?: boolean | { intervalMs?: number };
  /** ms between runs of `PRAGMA optimize` on the writer (default: only at open and close). */
  optimizeInterval?: number;
  /** The writer's checkpoint on close() (default 'truncate'; 'passive' under `replication: 'litestream'`). */
  checkpointOnClose?: CheckpointOnClose;
  /**
   * Cooperate with a WAL replication tool (default 'none'). 'litestream': no RESTART or TRUNCATE
   * checkpoints, busyTimeout at least 5000, autocheckpoints off, read snapshots bounded by
   * busyTimeout. 'litefs': writes on a replica node fail up front with ReadOnlyReplicaError, and
   * `db.replica` tracks the primary and the replication position. See docs/scale-out.md.
   *
   * @example
   * const db = await open('/data/app.db', { replication: 'litestream' });
   */
  replication?: Replication;
}
