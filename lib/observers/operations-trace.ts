// Owns the observation of the operations toolkit: every checkpoint the pool runs (onCheckpoint;
// those it runs as a request of their own also on the `litepool:checkpoint` channel), the WAL
// monitor's events (onWal), and copies, db.backup() and db.vacuumInto() (the `litepool:backup`
// channel). A channel context is built only while someone subscribes; an observer that throws is
// warned once by the hub and changes nothing. Runs on the JS thread.

import type { TracingChannel } from 'node:diagnostics_channel';
import type { CheckpointEvent, CheckpointMode, CheckpointResult, CheckpointSource, WalEvent } from '../types.ts';
import { backupChannel, checkpointChannel, type BackupChannelContext, type CheckpointChannelContext } from './channels.ts';
import type { ObserverHub } from './hub.ts';

interface Settled {
  result?: unknown;
  error?: unknown;
  durationMs?: number;
}

/**
 * Runs `run` inside `channel`'s tracing when `context` is set: `start` (with `run` called inside
 * `start.runStores`, in the caller's context), `end`, then once it settled `error` (when it
 * failed), `asyncStart` and exactly one `asyncEnd`, as litepool:query does. `settled` runs first
 * either way (observers hear before the channel ends).
 */
function traced<T, C extends Settled>(
  channel: TracingChannel<unknown, C>,
  context: C | undefined,
  run: () => Promise<T>,
  settled: (durationMs: number, value: T | undefined, failed: boolean) => void,
): Promise<T> {
  const started = performance.now();
  let promise: Promise<T>;
  try {
    promise = context === undefined ? run() : channel.start.runStores(context, run);
  } catch (error) {
    promise = Promise.reject(error);
  } finally {
    if (context !== undefined) channel.end.publish(context);
  }
  const finish = (value: T | undefined, error: unknown, failed: boolean): void => {
    const durationMs = performance.now() - started;
    settled(durationMs, value, failed);
    if (context === undefined) return;
    context.durationMs = durationMs;
    if (failed) {
      context.error = error;
      channel.error.publish(context);
    } else {
      context.result = value;
    }
    channel.asyncStart.publish(context);
    channel.asyncEnd.publish(context);
  };
  return promise.then(
    (value) => {
      finish(value, undefined, false);
      return value;
    },
    (error: unknown) => {
      finish(undefined, error, true);
      throw error;
    },
  );
}

/**
 * Runs a checkpoint: once it succeeded observers hear it (onCheckpoint, `durationMs` from the
 * call to the result), and the `litepool:checkpoint` channel traces it when someone subscribes.
 */
export function traceCheckpoint(hub: ObserverHub, mode: CheckpointMode, source: CheckpointSource, run: () => Promise<CheckpointResult>): Promise<CheckpointResult> {
  const context: CheckpointChannelContext | undefined = checkpointChannel.hasSubscribers
    ? { database: hub.database, pool: hub.pool, mode, source }
    : undefined;
  if (context === undefined && !hub.active) return run();
  return traced(checkpointChannel, context, run, (durationMs, result) => {
    if (result !== undefined && hub.active) reportCheckpoint(hub, { ...result, mode, source, durationMs });
  });
}

/** Tells observers about a checkpoint that ran inside another request (the one at close). */
export function reportCheckpoint(hub: ObserverHub, event: CheckpointEvent): void {
  hub.emit('onCheckpoint', event);
}

/** Tells observers what the WAL monitor saw (onWal). */
export function reportWal(hub: ObserverHub, event: WalEvent): void {
  hub.emit('onWal', event);
}

/** Runs a copy of the database inside the `litepool:backup` tracing, when someone subscribes. */
export function traceCopy<T>(hub: ObserverHub, operation: 'backup' | 'vacuumInto', destination: string, run: () => Promise<T>): Promise<T> {
  if (!backupChannel.hasSubscribers) return run();
  const context: BackupChannelContext = { database: hub.database, pool: hub.pool, operation, destination };
  return traced(backupChannel, context, run, () => undefined);
}
