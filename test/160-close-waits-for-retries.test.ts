// Covers close() and an operation under the retry policy that is between attempts (another
// connection holds the write lock): close() waits for it as for any accepted write, so the write
// commits (or fails with its own typed error), and it settles before close() does. Without that,
// its next attempt reached the closed pool: an untyped error, or a promise never settled.

import { describe, expect, it } from 'vitest';
import { open } from '../lib/index.ts';
import { tempPools, TABLE_T } from './helpers/pools.ts';

const pools = tempPools('close-waits-for-retries');

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('close() while an operation waits to retry', () => {
  for (const kind of ['run', 'batch', 'insertMany', 'exec'] as const) {
    it(`lets ${kind}() retrying after SQLITE_BUSY finish first`, async () => {
      const path = pools.file();
      const holder = await pools.openAt(path, { readers: 1 });
      await holder.exec(TABLE_T);
      let letGo!: () => void;
      const held = new Promise<void>((resolve) => (letGo = resolve));
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const watchdog = setTimeout(() => letGo(), 20_000);
      const transaction = holder.transaction(async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('holder')");
        entered();
        await held;
      });
      await inside;
      const db = await open(path, { readers: 1, busyTimeout: 10, retry: { attempts: 100, baseDelay: 20, maxDelay: 50 } });
      const write = {
        run: () => db.run("INSERT INTO t (v) VALUES ('retried')"),
        batch: () => db.batch([{ sql: 'INSERT INTO t (v) VALUES (?)', params: ['retried'] }]),
        insertMany: () => db.insertMany('t', [{ v: 'retried' }]),
        exec: () => db.exec("INSERT INTO t (v) VALUES ('retried')"),
      }[kind]();
      const order: string[] = [];
      const settled = write.then(
        () => order.push('write committed'),
        (error: unknown) => order.push(`write failed: ${String(error)}`),
      );
      await delay(150); // a few attempts have failed with SQLITE_BUSY by now
      const closed = db.close().then(() => order.push('closed'));
      setTimeout(letGo, 300);
      await transaction;
      // A write that never settled would leave `order` short: the watchdog ends the wait.
      await Promise.race([Promise.all([settled, closed]), delay(20_000)]);
      clearTimeout(watchdog);
      expect(order).toEqual(['write committed', 'closed']);
      expect(await holder.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'holder' }, { v: 'retried' }]);
    });
  }
});
