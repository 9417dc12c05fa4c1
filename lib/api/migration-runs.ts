// Owns what a pool knows of its migration runs (db.migrate(), db.migrations.down(), repair()):
// the leases they hold, which close() waits for, and whether code runs inside one of them. A
// close() called from inside a run of the same pool (a JS migration awaiting it, an observer hook
// of the run) releases the run's leases instead of waiting for a run that waits for it. Runs on
// the JS thread.

import { IdleFreeContext } from './idle-free-context.ts';
import type { Lease } from './lease.ts';

/** The run the calling code belongs to, if any (undefined outside every run). */
const current = new IdleFreeContext<MigrationRuns>();

/** One pool's migration runs. */
export class MigrationRuns {
  /** The leases its runs hold now. */
  readonly leases = new Set<Lease>();

  /** Runs `fn` as a migration run of this pool. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return current.run(this, fn);
  }

  /** Whether the calling code runs inside a migration run of this pool. */
  get inside(): boolean {
    return current.current === this;
  }
}
