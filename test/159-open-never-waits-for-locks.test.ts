// Covers open() while another connection holds the write lock: the PRAGMA optimize it runs
// (statistics for the planner, best effort) never waits busyTimeout for that lock, so open()
// settles while the lock is still held, and a `migrations` run's lockTimeout is what bounds its
// wait. Orderings only: the lock is let go by a watchdog well after open() should have settled.

import { describe, expect, it } from 'vitest';
import { MigrationError, open, type Pool } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('open-never-waits');

/** A pool on a new file holding a write transaction until `release()` (or the watchdog). */
async function lockHolder(): Promise<{ path: string; release: () => Promise<void>; released: () => boolean }> {
  const path = pools.file();
  const holder = await pools.openAt(path, { readers: 1 });
  // Statistics exist (ANALYZE ran) and a table has none: PRAGMA optimize at open wants to write.
  await holder.exec('CREATE TABLE z (w UNIQUE); INSERT INTO z VALUES (1); ANALYZE; CREATE TABLE a (id INTEGER PRIMARY KEY, x UNIQUE)');
  let letGo!: () => void;
  const held = new Promise<void>((resolve) => (letGo = resolve));
  let entered!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  let done = false;
  const transaction = holder.transaction(
    async (tx) => {
      await tx.run('INSERT INTO a (x) VALUES (1)');
      entered();
      await held;
    },
    { timeout: 60_000 },
  );
  await inside;
  const watchdog = setTimeout(letGo, 20_000);
  const release = async (): Promise<void> => {
    clearTimeout(watchdog);
    done = true;
    letGo();
    await transaction;
  };
  transaction.finally(() => (done = true)).catch(() => undefined);
  return { path, release, released: () => done };
}

describe('open() while another connection holds the write lock', () => {
  it('settles before the lock is let go, whatever busyTimeout says', async () => {
    const lock = await lockHolder();
    let pool: Pool | undefined;
    try {
      pool = await open(lock.path, { readers: 1, busyTimeout: 60_000 });
      expect(lock.released()).toBe(false);
      // The skipped optimize is the pool's own: not an operation of the caller's that failed.
      expect(pool.stats().operations).toMatchObject({ started: 0, failed: 0 });
      expect(await pool.get('SELECT count(*) AS n FROM z')).toEqual({ n: 1 });
    } finally {
      await lock.release();
      await pool?.close();
    }
  });

  it('with `migrations`, rejects with LITEPOOL_MIGRATION_LOCKED after its lockTimeout, before the lock is let go', async () => {
    const lock = await lockHolder();
    try {
      const migrations = { migrations: [{ version: '1.0.0', name: 'first', up: 'CREATE TABLE m (y)' }], lockTimeout: 200 };
      const error = await open(lock.path, { readers: 1, busyTimeout: 60_000, migrations }).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(lock.released()).toBe(false);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).code).toBe('LITEPOOL_MIGRATION_LOCKED');
    } finally {
      await lock.release();
    }
  });
});
