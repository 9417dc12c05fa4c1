// Owns the contract between lib/ and the addon (native/addon/pool_wrap.cc): the shape of the
// native pool object, the numbers it speaks in, and the layout of completion batches.

/** Where a request runs. */
export const Target = { Readers: 0, Writer: 1, PinnedReader: 2 } as const;
export type Target = (typeof Target)[keyof typeof Target];

/** What a request does (native/core/request.h `Op`). */
export const Op = {
  Get: 0,
  All: 1,
  Run: 2,
  Exec: 3,
  Open: 4,
  Close: 5,
  Pin: 6,
  Unpin: 7,
  Reset: 8,
  IterateStart: 9,
  IterateNext: 10,
  IterateEnd: 11,
  Batch: 12,
  Reopen: 13,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** Request flags (native/core/request.h `flags`). */
export const RequestFlag = {
  SafeIntegers: 1,
  WantNames: 2,
  KeepTransaction: 4,
  ReturnRows: 8,
  Groupable: 16,
  ExpectTransaction: 32,
} as const;

/**
 * Completion statuses (native/addon/batch_encoder.cc `JsStatus`). Each finished request comes
 * as `slot, status, a, b, c` (lib/completions.ts decodes the batch):
 * - Rows, RowsMore (an iteration chunk with more to come): a = column names (only when they
 *   changed, and always at the start of an iteration), b = column count, c = flat cell values
 * - Done: a = changes, b = lastInsertRowid, c = the group commit it was part of (undefined: alone)
 * - SqliteFailed: a = extended result code, b = message, c = the worker that ran it (-1: writer)
 * - BindFailed, Misuse, IntegerOverflow: b = message
 * - NeedsWriter, Cancelled: nothing
 */
export const Status = {
  Rows: 0,
  Done: 1,
  SqliteFailed: 2,
  BindFailed: 3,
  Misuse: 4,
  NeedsWriter: 5,
  Cancelled: 6,
  IntegerOverflow: 7,
  RowsMore: 8,
} as const;

export interface NativePoolConfig {
  path: string;
  memory: boolean;
  create: boolean;
  readers: number;
  busyTimeout: number;
  cacheSize: number;
  statementCacheSize: number;
  synchronous: string;
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

export interface NativeStats {
  readers: number;
  readersBusy: number;
  writerBusy: boolean;
  readerRingDepth: number;
  writerRingDepth: number;
  completionRingDepth: number;
  readerCompleted: number;
  writerCompleted: number;
  slotsInUse: number;
  readersPinned: number;
  groupCommits: number;
  groupedWrites: number;
  yields: number;
  /** Milliseconds each worker has been idle: readers in order, then the writer. */
  idleMillis: number[];
}

export interface NativePool {
  startWriter(): number;
  startReaders(): number[];
  /** Keeps a copy of `sql`; submit() then takes the returned id in place of the text. */
  registerSql(sql: string): number;
  /** Drops every registered SQL text; their ids must not be used again. */
  forgetSql(): void;
  /** Returns the request's slot, or -1 when every slot is in flight. */
  submit(
    target: Target,
    op: Op,
    flags: number,
    sql: string | number | readonly string[] | undefined,
    values: readonly unknown[] | undefined,
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
  stats(): NativeStats;
  ref(): void;
  unref(): void;
  join(): void;
  abort(): void;
}

/**
 * The fault-injection VFS of the test build of the addon (native/test-vfs/fault_binding.h),
 * loaded through LITEPOOL_TEST_FAULT_ADDON (lib/binding.ts). Never present in a release build.
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
  NativePool: new (
    config: NativePoolConfig,
    onBatch: (buffer: ArrayBuffer, capacity: number, objects: unknown[], length: number) => void,
  ) => NativePool;
  sqliteVersion: string;
  /** Only in the fault-injection test build. */
  faultVfs?: FaultVfs;
}
