// Owns the public types of write queues (db.writeQueue()): their options, overflow policies,
// statistics and results. Imports only types.ts's types; the WriteQueue class implements these.

import type { Params, Row, RunResult } from './types.ts';

/** What a full write queue does with a new entry. */
export type OverflowPolicy = 'block' | 'reject' | 'drop-oldest' | { blockTimeout: number };

/** Options of `writeQueue()`. */
export interface WriteQueueOptions {
  /** Accepted entries that may be unfinished at once, waiting or handed to the writer (default 1000). */
  capacity?: number;
  /** What a full queue does with a new entry (default 'block'). */
  overflow?: OverflowPolicy;
  /** Entries handed to the writer at once (default 64, 1 to 4096; a value above `capacity` acts as `capacity`). */
  inFlight?: number;
  /** Told about every failed `push()` entry (fire-and-forget: it has no other way to report); an `enqueue()` entry reports through its promise only. */
  onError?: (error: unknown, entry: { sql: string; params: Params | undefined }) => void;
  /** Let the writer commit consecutive entries together (default true; the pool's groupCommit
   * settings apply). */
  groupCommit?: boolean;
}

/** A snapshot of a write queue's activity (see `WriteQueue.stats()`). */
export interface WriteQueueStats {
  /** Accepted entries waiting now (not yet handed to the writer). */
  depth: number;
  /** Pushes parked by the 'block' policies, waiting for room (not accepted yet). */
  blocked: number;
  /** The most accepted, unfinished entries seen at once (depth + running); at most `capacity`. */
  highWater: number;
  /** Entries handed to the writer and not finished; depth + running is at most `capacity`. */
  running: number;
  accepted: number;
  completed: number;
  failed: number;
  /** Accepted entries evicted by 'drop-oldest'. */
  dropped: number;
  /** Entries refused: queue full ('reject', or 'drop-oldest' with every accepted entry already
   * handed to the writer), blocked too long, or pushed after shutdown. */
  rejected: number;
  /** Commits that completed entries took: a group commit counts once, a write alone once. */
  batches: number;
  /** Completed entries per batch (completed / batches; 0 before the first). */
  meanBatchSize: number;
}

/** What a queue entry resolves with: the run result, or the rows of a RETURNING statement. */
export type WriteResult = RunResult | Row[];
