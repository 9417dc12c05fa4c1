// Owns the pool's internal emitter of operations events: WAL warnings and pins, checkpoints and
// backups. The pool and its maintenance parts report here; listeners (observers, diagnostics
// channels) subscribe with on(). A listener that throws never changes the operation's outcome.
// Runs on the JS thread.

import type { CheckpointMode, CheckpointResult } from '../operations-types.ts';

/** The WAL grew past `warnBytes`, or a checkpoint could not progress because a reader holds it. */
export interface WalEvent {
  kind: 'warn' | 'pinned';
  /** Size of the -wal file in bytes. */
  walBytes: number;
  /** What holds the WAL back (`read() snapshot`, `read lease`, `iteration (SELECT …)`), when this pool holds it. */
  heldBy?: string;
  /** For how long it has been held, in ms. */
  heldMs?: number;
}

/** A checkpoint the pool ran (db.checkpoint(), the WAL monitor). */
export interface CheckpointEvent extends CheckpointResult {
  mode: CheckpointMode;
  durationMs: number;
}

/** A backup or vacuumInto() that finished (`error` set when it failed or was aborted). */
export interface BackupEvent {
  kind: 'backup' | 'vacuumInto';
  dest: string;
  pages: number;
  durationMs: number;
  error?: unknown;
}

interface Listeners {
  wal: (event: WalEvent) => void;
  checkpoint: (event: CheckpointEvent) => void;
  backup: (event: BackupEvent) => void;
}

/** Where the pool's operations parts report what happened. */
export class OperationEvents {
  readonly #listeners: { [K in keyof Listeners]: Set<Listeners[K]> } = { wal: new Set(), checkpoint: new Set(), backup: new Set() };

  /** Subscribes to one kind of event; the result unsubscribes. */
  on<K extends keyof Listeners>(kind: K, listener: Listeners[K]): () => void {
    this.#listeners[kind].add(listener);
    return () => {
      this.#listeners[kind].delete(listener);
    };
  }

  wal(event: WalEvent): void {
    this.#emit('wal', event);
  }

  checkpoint(event: CheckpointEvent): void {
    this.#emit('checkpoint', event);
  }

  backup(event: BackupEvent): void {
    this.#emit('backup', event);
  }

  #emit<K extends keyof Listeners>(kind: K, event: Parameters<Listeners[K]>[0]): void {
    for (const listener of this.#listeners[kind]) {
      try {
        (listener as (e: typeof event) => void)(event);
      } catch {
        // A listener's failure is its own; the operation already happened.
      }
    }
  }
}

/** The key under which a Pool exposes its OperationEvents (internal: not part of the public API). */
export const kOperationEvents: unique symbol = Symbol('litepool.operationEvents');
