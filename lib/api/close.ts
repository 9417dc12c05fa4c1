// Owns the close protocol of a pool once close() has stopped intake: write queues drained, held
// leases released and open iterations ended (while the connection keeper and the maintenance
// toolkit stop, since either may be waiting for them), transactions, snapshots and maintenance
// calls (backups, checks) finished, then the last step: once nothing is queued or running, one
// Close request per reader and one for the writer (each closes its connection on its own thread,
// the writer after its final optimize and checkpoint), the threads joined, and observers told
// every connection closed. A reader the keeper holds out of service (its replacement failed) is
// pinned and never takes a request from the shared ring: it gets its Close on its own ring, or,
// when no reader is in service, it serves the shared ring again to drain it first (what waits
// there was failed by the keeper, so the reader skips it). Runs on the JS thread.

import { Op } from '../native/contract.ts';
import { stoppedAtClose } from '../native/exit-stop.ts';
import { READERS, WRITER, readerRoute } from '../request/route.ts';
import { releaseSql } from '../request/sql-registry.ts';
import type { Lease } from './lease.ts';
import type { Pending } from './pending.ts';
import type { PoolIterations } from './pool-iteration.ts';
import type { PoolParts } from './stats.ts';
import type { WriteQueue } from './write-queue.ts';
import { closeToQueues } from './write-queue-line.ts';

/** What a pool still has open when close() begins. */
export interface OpenWork {
  readonly queues: ReadonlySet<WriteQueue>;
  /** The callers' leases: released, and later calls on them reject with PoolClosedError. */
  readonly leases: ReadonlySet<Lease>;
  /** Leases of a migration run close() was called from inside: released, not waited for. */
  readonly runLeases: ReadonlySet<Lease>;
  /** Transactions, snapshots, lease acquisitions, migration leases and operations under the retry policy (between attempts too) still running. */
  readonly scopes: Pending;
  /** The pool's own iterations, each holding a reader while rows remain. */
  readonly iterations: PoolIterations;
}

/** Shuts a pool down after close() stopped intake; resolves once every connection is closed. */
export async function shutDown(parts: PoolParts, open: OpenWork): Promise<void> {
  parts.replica?.stop();
  // Every queue is collected here: one made from now on (its options read while close() began) is refused.
  closeToQueues(parts.gate);
  // Queues drain while held leases are released: a lease holding the writer would keep the
  // queued writes (and close()) waiting forever.
  const drained = Promise.allSettled([...open.queues].map((queue) => queue.shutdown()));
  // Held leases and iterations are let go before the keeper and the toolkit are awaited: a
  // replacement of a held connection, or a checkpoint that needs the held writer, waits for them.
  const releases = [...[...open.leases].map((lease) => lease.releaseClosing()), ...[...open.runLeases].map((lease) => lease.release()), open.iterations.stop()];
  await parts.keeper.stop();
  await parts.toolkit.stop();
  await drained;
  await open.scopes.settled();
  await Promise.allSettled(releases);
  // Backups, checks and the other maintenance calls accepted before close() finish first.
  await parts.toolkit.settled();
  try {
    await closeConnections(parts);
  } finally {
    // Nothing of the pool runs any more: what it remembered per SQL text, and the observers and
    // instrumentations that follow it (MetricsCollector, instrument()), let it go.
    releaseSql(parts.native);
    parts.context.observers.closed();
  }
}

/** Closes every connection of an idle pool and joins its threads; rejects with the first failure. */
export async function closeConnections(parts: PoolParts): Promise<void> {
  const { dispatcher, options, keeper } = parts;
  let outOfService = keeper.readersOutOfService();
  if (outOfService.length > 0 && outOfService.length === options.readers) {
    // Nobody serves the shared ring: requests left there would keep the pool from ever being idle.
    await Promise.all(outOfService.map((reader) => dispatcher.run({ op: Op.Unpin, route: readerRoute(reader), internal: true })));
    outOfService = [];
  }
  await dispatcher.idle();
  // The writer's Close runs PRAGMA optimize and the checkpointOnClose checkpoint: neither waits
  // for other connections to the file (another pool's or process's snapshot or write lock). With
  // no busy handler, a TRUNCATE checkpoint that cannot finish at once does what it can without
  // waiting (as PASSIVE does) and reports busy; the WAL then stays for a later checkpoint. Sent
  // before the Close, it runs just before it on the writer. Best effort, as the checkpoint is.
  dispatcher.run({ op: Op.Exec, route: WRITER, sql: 'PRAGMA busy_timeout = 0', internal: true }).catch(() => undefined);
  // The readers close first and the writer last: the last connection to a WAL database is the
  // one that checkpoints it and removes its -wal and -shm on close, and it only knows it is the
  // last when no other is open. Closed at once, two connections could each see the other still
  // open, and both leave the files behind.
  const readerCloses: Promise<unknown>[] = [];
  for (const reader of outOfService) readerCloses.push(dispatcher.run({ op: Op.Close, route: readerRoute(reader), internal: true }));
  for (let i = outOfService.length; i < options.readers; i++) readerCloses.push(dispatcher.run({ op: Op.Close, route: READERS, internal: true }));
  const results = await Promise.allSettled(readerCloses);
  results.push(...(await Promise.allSettled([dispatcher.run({ op: Op.Close, route: WRITER, internal: true })])));
  parts.native.join();
  stoppedAtClose(parts.native);
  // The checkpointOnClose checkpoint, as the writer's Close (the last) reported it (onCheckpoint).
  const writer = results.at(-1)!;
  if (writer.status === 'fulfilled') parts.toolkit.closeCheckpointRan(writer.value as number[] | undefined);
  parts.context.observers.connections('close', options.readers);
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw (failure as PromiseRejectedResult).reason;
}
