// Owns how the operations toolkit treats a LiteFS replica (`replication: 'litefs'`): maintenance
// that writes the database (checkpoints, optimize, analyze, vacuum) is refused with
// ReadOnlyReplicaError before it starts, as writes are, and the I/O or read-only error of one that
// raced a change of primary is reported as ReadOnlyReplicaError; the pool's own background writes
// (PRAGMA optimize at open and every optimizeInterval, the WAL monitor's checkpoints) are skipped
// while this node is a replica. Copies and checks only read, and are never refused. Runs on the
// JS thread.

import type { WriteGuard } from '../api/operations.ts';

export class MaintenanceGuard {
  readonly #guard: WriteGuard | undefined;

  /** `guard`: the pool's write guard (the LiteFS replica watcher), or undefined for none. */
  constructor(guard: WriteGuard | undefined) {
    this.#guard = guard;
  }

  /** Throws ReadOnlyReplicaError when this node must not write now. */
  check(): void {
    this.#guard?.checkWritable();
  }

  /** False while this node must not write (background maintenance then skips its turn). */
  get writable(): boolean {
    if (!this.#guard) return true;
    try {
      this.#guard.checkWritable();
      return true;
    } catch {
      return false;
    }
  }

  /** Runs a maintenance write: refused first on a replica, its failure named as the guard names it. */
  async write<T>(run: () => Promise<T>): Promise<T> {
    this.check();
    if (!this.#guard) return run();
    try {
      return await run();
    } catch (error) {
      throw this.#guard.translate(error);
    }
  }
}
