// Owns the observation of what holds a connection for a while: acquisitions (leases, snapshots,
// a transaction's wait for the writer: onAcquire and the `litepool:acquire` channel) and whole
// transactions (the `litepool:transaction` channel). Nothing is built while nobody observes.
// Runs on the JS thread.

import type { TransactionBehavior } from '../types.ts';
import { acquireChannel, migrateChannel, transactionChannel, type AcquireChannelContext } from './channels.ts';
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

/** What the migration runner tells per step (lib/migrations/runner.ts). */
interface MigrationStep {
  phase: 'start' | 'applied' | 'failed';
  direction: 'up' | 'down';
  version: string;
  name: string;
  durationMs?: number;
}

/**
 * Runs a migration run (`run` gets the runner's hooks): observers hear every migration applied
 * (onMigration: start, applied, failed), and the `litepool:migrate` channel traces the run when
 * someone subscribes.
 */
export function traceMigration<T>(hub: ObserverHub, options: unknown, run: (hooks: { onEvent: (step: MigrationStep) => void }) => Promise<T>): Promise<T> {
  const hooks = {
    onEvent: (step: MigrationStep): void => {
      if (!hub.active || step.direction !== 'up') return;
      const { phase, version, name, durationMs } = step;
      hub.migration(durationMs === undefined ? { phase, version, name } : { phase, version, name, durationMs });
    },
  };
  if (!migrateChannel.hasSubscribers) return run(hooks);
  const given = (typeof options === 'object' && options !== null ? options : {}) as { dir?: unknown; dryRun?: unknown };
  const context = { database: hub.database, pool: hub.pool, dryRun: given.dryRun === true, ...(typeof given.dir === 'string' ? { dir: given.dir } : {}) };
  return migrateChannel.tracePromise(() => run(hooks), context);
}
