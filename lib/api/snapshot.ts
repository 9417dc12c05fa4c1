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
  // Without readers (':memory:', readers: 0) the snapshot runs on the writer: query_only makes it
  // refuse writes (SQLITE_READONLY) as a reader does, instead of letting them run and vanish in
  // the snapshot's rollback. The writer is held meanwhile, so nothing else runs under it. A
  // writer already query_only (the pragmas option, onConnection) is left as it is.
  let queryOnlyOn = false;
  try {
    if (lease.write) queryOnlyOn = (await lease.controlRead('PRAGMA query_only'))?.[0] === 0;
    // BEGIN then a read of the schema: the read transaction (the snapshot) starts now.
    await lease.control(Op.Exec, `BEGIN DEFERRED; SELECT 1 FROM sqlite_schema LIMIT 1${queryOnlyOn ? '; PRAGMA query_only = ON' : ''}`);
    holder = context.holders.begin('read() snapshot');
    return await Promise.race([Promise.resolve().then(() => fn(lease)), expired]);
  } finally {
    clearTimeout(timer);
    context.holders.end(holder);
    // Ended before query_only goes off: a call on the handle from now on is refused
    // (ScopeEndedError) instead of running as a write between that and the rollback.
    lease.end();
    try {
      if (queryOnlyOn) await lease.control(Op.Exec, 'PRAGMA query_only = OFF');
    } finally {
      await lease.release();
    }
  }
}
