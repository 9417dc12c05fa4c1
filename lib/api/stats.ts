// Owns the parts a pool is built from (open() wires them) and the snapshot of their activity
// that Pool.stats() reports. Runs on the JS thread.

import type { ConnectionKeeper } from '../connections/health.ts';
import type { ReaderPins } from '../connections/reader-pins.ts';
import type { WriterGate } from '../connections/writer-gate.ts';
import type { ResolvedOptions } from '../input/options.ts';
import type { Toolkit } from '../maintenance/toolkit.ts';
import type { NativePool } from '../native/native-pool.ts';
import type { Dispatcher } from '../request/dispatcher.ts';
import type { LiteFsReplica } from '../replication/litefs.ts';
import type { Job } from '../request/job.ts';
import type { PoolStats } from '../types.ts';
import type { PoolContext } from './context.ts';

/** The parts open() builds a pool from. */
export interface PoolParts {
  readonly native: NativePool;
  readonly dispatcher: Dispatcher;
  readonly gate: WriterGate<Job>;
  readonly pins: ReaderPins;
  readonly keeper: ConnectionKeeper;
  readonly toolkit: Toolkit;
  /** What the handles see of these parts. */
  readonly context: PoolContext;
  readonly options: ResolvedOptions;
  /** Under `replication: 'litefs'`: the replica watcher, also the write guard. */
  readonly replica: LiteFsReplica | undefined;
}

/** A snapshot of what the pool is doing. */
export function poolStats({ native: addon, dispatcher, gate, pins, keeper, toolkit }: PoolParts): PoolStats {
  const native = addon.stats();
  // Once closed (its threads joined: the addon lists no worker), no reader is free for a request.
  const closed = native.idleMillis.length === 0;
  return {
    readers: {
      size: native.readers,
      busy: native.readersBusy,
      // Free to take a request: neither running one nor pinned (a pinned reader between its lease's requests is not busy).
      idle: closed ? 0 : Math.max(0, native.readers - native.readersBusy - native.readersPinned + native.readersBusyPinned),
      pinned: native.readersPinned,
    },
    writer: {
      busy: native.writerBusy,
      queued: native.writerRingDepth + gate.waiting,
      held: gate.held,
    },
    leasesWaiting: pins.waiting + gate.sessionsWaiting,
    groupCommit: { groups: native.groupCommits, writes: native.groupedWrites },
    yields: native.yields,
    connections: { ...keeper.stats },
    queued: dispatcher.queued,
    inFlight: dispatcher.inFlight,
    rings: { readers: native.readerRingDepth, writer: native.writerRingDepth, completions: native.completionRingDepth },
    operations: { ...dispatcher.counters },
    wal: toolkit.walStats(),
  };
}
