// Owns read snapshots (db.read): one reader inside one read transaction for the length of a
// callback, ended after maxReadDuration at the latest. Runs on the JS thread.

import type { Holder } from '../connections/holders.ts';
import { TransactionTimeoutError } from '../errors.ts';
import { Op } from '../native/contract.ts';
import type { PoolContext } from './context.ts';
import { acquireLease, type Lease, type LeaseSettings } from './lease.ts';

/**
 * Runs `fn` on one reader inside one read transaction: every query sees the same snapshot, and
 * rows committed meanwhile stay invisible until it ends. Ended (and its reader released) when
 * `fn` settles or when it runs past `maxDuration`, so a forgotten snapshot cannot starve WAL
 * checkpoints.
 */
export async function readSnapshot<T>(
  context: PoolContext,
  fn: (conn: Lease) => Promise<T> | T,
  settings: LeaseSettings & { maxDuration: number },
): Promise<T> {
  const lease = await acquireLease(context, { ...settings, write: false, register: false, inTransaction: true });
  let holder: Holder | undefined;
  let expire: ((reason: unknown) => void) | undefined;
  const expired = new Promise<never>((_, reject) => {
    expire = reject;
  });
  expired.catch(() => undefined);
  const timer = setTimeout(() => {
    const error = new TransactionTimeoutError(settings.maxDuration, 'read snapshot');
    lease.end(error);
    expire!(error);
  }, settings.maxDuration);
  // Without readers (':memory:', readers: 0) the snapshot runs on the writer, which its read
  // lease holds with query_only on (lease.ts): writes are refused (SQLITE_READONLY) as on a
  // reader, instead of running and vanishing in the snapshot's rollback. fn's own
  // `PRAGMA query_only` is refused (SQLITE_AUTH) as on a reader: the lease's writer session is
  // read-only (RequestFlag.ReadOnly).
  const onWriter = context.readers.max === 0;
  try {
    // BEGIN then a read of the schema: the read transaction (the snapshot) starts now.
    await lease.control(Op.Exec, 'BEGIN DEFERRED; SELECT 1 FROM sqlite_schema LIMIT 1');
    holder = context.holders.begin('read() snapshot');
    return await Promise.race([Promise.resolve().then(() => fn(lease)), expired]);
  } finally {
    clearTimeout(timer);
    context.holders.end(holder);
    // Ended first, so a call on the handle from now on is refused with ScopeEndedError.
    lease.end();
    try {
      // On the writer, query_only goes back on (behind whatever fn still runs there), however fn
      // ended: a second guard beside the refusal above (the release below turns it off again
      // only when the lease turned it on; a writer query_only before keeps it).
      if (onWriter) await lease.control(Op.Exec, 'PRAGMA query_only = ON');
    } finally {
      // Released: rolled back (what fn wrote after lifting query_only goes too), then query_only
      // off on the writer when the lease turned it on.
      await lease.release();
    }
  }
}
