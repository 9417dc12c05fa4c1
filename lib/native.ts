// Owns the contract between lib/ and the addon (native/addon/pool_wrap.cc): the shape of the
// native pool object; the numbers it speaks in are re-exported from lib/native/contract.ts
// (generated from native/core/contract.h).

// The numbers (Op, Target, RequestFlag, Status) come from the generated contract; what the header
// cells of each status hold is documented there (HeaderCell).
export { Op, RequestFlag, Status, Target } from './native/contract.ts';
import type { Op, Target } from './native/contract.ts';

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
}

export interface NativeStats {
  readers: number;
  readersBusy: number;
  writerBusy: boolean;
  readerRingDepth: number;
  writerRingDepth: number;
  completionRingDepth: number;
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

export interface NativeModule {
  NativePool: new (
    config: NativePoolConfig,
    onBatch: (buffer: ArrayBuffer, capacity: number, objects: unknown[], length: number) => void,
  ) => NativePool;
  sqliteVersion: string;
}
