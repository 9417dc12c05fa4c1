// Owns the observation of what holds a connection for a while: acquisitions (leases, snapshots,
// a transaction's wait for the writer: onAcquire and the `litepool:acquire` channel) and whole
// transactions (the `litepool:transaction` channel). Nothing is built while nobody observes.
// Runs on the JS thread.

import type { TransactionBehavior } from '../types.ts';
import { acquireChannel, transactionChannel, type AcquireChannelContext } from './channels.ts';
import type { ObserverHub } from './hub.ts';

/**
 * Runs `acquire`; once it got its connection, observers hear how long it waited (onAcquire) and,
 * with `publish`, the `litepool:acquire` channel traces it (waitedMs filled before asyncEnd).
 */
export function traceAcquire<T>(hub: ObserverHub, write: boolean, publish: boolean, acquire: () => Promise<T>): Promise<T> {
  const context: AcquireChannelContext | undefined =
    publish && acquireChannel.hasSubscribers ? { database: hub.database, pool: hub.pool, write } : undefined;
  if (!hub.active && context === undefined) return acquire();
  const started = performance.now();
  const run = (): Promise<T> =>
    acquire().then((granted) => {
      const waitedMs = performance.now() - started;
      if (context !== undefined) context.waitedMs = waitedMs;
      if (hub.active) hub.acquire({ write, waitedMs });
      return granted;
    });
  return context === undefined ? run() : acquireChannel.tracePromise(run, context);
}

/** Runs a whole transaction (retries included) inside the `litepool:transaction` tracing, when someone subscribes. */
export function traceTransaction<T>(hub: ObserverHub, behavior: TransactionBehavior, run: () => Promise<T>): Promise<T> {
  if (!transactionChannel.hasSubscribers) return run();
  return transactionChannel.tracePromise(run, { database: hub.database, pool: hub.pool, behavior });
}
