// Owns the pool's side of `replication: 'litefs'`: starting the replica watcher when a pool opens
// and handing out `db.replica`. The watcher itself (primary detection, positions) lives in
// lib/replication/litefs.ts; it is also the pool's write guard (api/operations.ts). Runs on the JS
// thread.

import { invalidArgument } from '../errors.ts';
import type { ResolvedOptions } from '../input/options.ts';
import { LiteFsReplica, type Replica } from '../replication/litefs.ts';

/** The replica watcher of a pool opened with `replication: 'litefs'`; undefined otherwise. */
export function startReplica(options: ResolvedOptions): LiteFsReplica | undefined {
  return options.replication === 'litefs' ? new LiteFsReplica(options.file) : undefined;
}

/** What `db.replica` returns: the watcher, or a TypeError when the pool is not on LiteFS. */
export function replicaOf(replica: LiteFsReplica | undefined): Replica {
  if (!replica) throw invalidArgument("db.replica is only available with replication: 'litefs'");
  return replica;
}
