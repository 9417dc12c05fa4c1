// Owns the shape of the addon's objects as lib/ sees them (native/addon/pool_wrap.cc): the
// NativePool and its configuration and statistics, and the module the loader returns.
// Types only: the numbers they speak in are in contract.ts.

import type { Op, Target } from './contract.ts';

export interface NativePoolConfig {
  path: string;
  memory: boolean;
  create: boolean;
  readers: number;
  busyTimeout: number;
  cacheSize: number;
  statementCacheSize: number;
  synchronous: string;
  /** The writer's checkpoint on close: 'TRUNCATE', 'PASSIVE', or '' for none. */
  closeCheckpoint: 'TRUNCATE' | 'PASSIVE' | '';
  pragmas: string[];
  slots: number;
  /** How long an idle worker polls for work before it parks (µs). */
  spinMicros: number;
  /** A worker that ran this long without pausing yields its core (0: never). */
  timesliceMicros: number;
  groupMaxBatch: number;
  groupMaxDelayMicros: number;
  /** The SQLite VFS every connection opens with ('' : the default). Only the fault-injection
   * test build has another one (see FaultVfs). */
  vfs: string;
}

/** The part of the addon's statistics lib/ reads (the addon reports a few more counters). */
export interface NativeStats {
  readers: number;
  readersBusy: number;
  /** Of readersBusy, the readers pinned to a lease (running its request). */
  readersBusyPinned: number;
  writerBusy: boolean;
  readerRingDepth: number;
  writerRingDepth: number;
  completionRingDepth: number;
  readersPinned: number;
  groupCommits: number;
  groupedWrites: number;
  yields: number;
  /** The WAL index as the writer thread read it after its last request (0 before, or without a WAL). */
  walFrames: number;
  walBackfilled: number;
  walPageSize: number;
  /** Milliseconds each worker has been idle: readers in order, then the writer. */
  idleMillis: number[];
  /** Milliseconds each worker's connection has been inside a transaction (-1: none), as of its last finished request. */
  transactionMillis: number[];
}

/** A batch of `length` cells of completion records (see request/batch-reader.ts) and the objects they point into. */
export type OnBatch = (buffer: ArrayBuffer, capacity: number, objects: readonly unknown[], length: number) => void;

/**
 * The addon's batch callback (native/addon/batch_encoder.h): the objects come as trailing
 * arguments (`inline`), or, in a batch with more than 1,024 of them, as the `objects` array.
 */
export type NativeOnBatch = (buffer: ArrayBuffer, capacity: number, objects: unknown[] | undefined, length: number, ...inline: unknown[]) => void;

export interface NativePool {
  startWriter(): number;
  startReaders(): number[];
  /** Keeps a copy of `sql`; submit() then takes the returned id in place of the text. */
  registerSql(sql: string): number;
  /** Drops every registered SQL text; their ids must not be used again. */
  forgetSql(): void;
  /**
   * Returns the request's slot, or -1 when every slot is in flight. For Op.InsertRows, `values`
   * is the block's bytes and `names` its text and blobs (input/row-block.ts); the addon copies
   * them before it returns. Otherwise `values` is an array, or one bare number, string, bigint
   * or boolean standing for a one-value positional array. The addon defines `submit` on each
   * pool object itself (bound to its pool), so a subclass method of that name is shadowed: wrap
   * the instance's own function instead.
   */
  submit(
    target: Target,
    op: Op,
    flags: number,
    sql: string | number | readonly string[] | undefined,
    values: readonly unknown[] | Uint8Array | number | string | bigint | boolean | undefined,
    names: readonly unknown[] | undefined,
    reader: number,
    chunkRows: number,
  ): number;
  cancel(slot: number): void;
  /**
   * Call on a later turn after every onBatch call: re-arms the workers' wake-up, or calls
   * onBatch again at once when more completions are waiting.
   */
  poll(): void;
  /** After join() or abort(): the last counters, with nothing busy or pinned. */
  stats(): NativeStats;
  ref(): void;
  unref(): void;
  /**
   * After every Close request completed: joins the threads and frees everything native (the
   * request slab, the rings, the kept batch buffer, the SQL texts) and drops onBatch, so the
   * object can be collected. Afterwards only stats() answers; the other methods throw.
   */
  join(): void;
  /** Cancels whatever runs, joins and frees like join() (open() failing half way). */
  abort(): void;
}

/**
 * The fault-injection VFS of the test build of the addon (native/test-vfs/fault_binding.h),
 * loaded through LITEPOOL_TEST_FAULT_ADDON (lib/native/binding.ts). Never present in a release build.
 */
export interface FaultVfs {
  readonly name: string;
  arm(plan: {
    call: 'read' | 'write' | 'sync' | 'truncate' | 'lock' | 'shmLock';
    nth?: number;
    code?: number;
    files?: ('main' | 'wal' | 'journal' | 'other')[];
    sticky?: boolean;
    shortRead?: boolean;
  }): void;
  clear(): void;
  stats(): { calls: Record<'read' | 'write' | 'sync' | 'truncate' | 'lock' | 'shmLock', number>; faults: number };
}

export interface NativeModule {
  NativePool: new (config: NativePoolConfig, onBatch: NativeOnBatch) => NativePool;
  sqliteVersion: string;
  /** True when SQLite was compiled with a recorded profile (scripts/pgo/build.sh; the Linux prebuilds). */
  profileGuided: boolean;
  /** The contract numbers the addon was compiled with (native/core/contract.h), checked by the tests. */
  contract: Readonly<Record<string, number | Readonly<Record<string, number>>>>;
  /** Only in the fault-injection test build. */
  faultVfs?: FaultVfs;
}
