// close() lets the maintenance calls it accepted finish before it closes the connections: a
// backup in the middle of its steps completes (a valid copy, no temporary file left), and
// integrity and foreign-key checks waiting for a reader (held by another check or a lease) run
// and resolve, instead of their next request landing behind the Close requests and never
// settling. Calls made after close() began are refused. A migration running when close() is
// called finishes, in its transaction or without one, and its ledger row says applied.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { open } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { ledgerOf, Scratch } from './migrations-helpers.ts';

const pools = tempPools('close-maintenance');

/** Settles with 'resolved' or the error, or 'pending' if still unsettled after `ms`. */
function settledWithin(promise: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([
    promise.then(() => 'resolved', (error: unknown) => error),
    new Promise((resolve) => setTimeout(() => resolve('pending'), ms).unref()),
  ]);
}

describe('close() and maintenance calls in flight', () => {
  it('a backup in the middle of its steps completes with a valid copy', async () => {
    const db = await pools.open({ readers: 1 });
    await db.exec('CREATE TABLE t (x BLOB)');
    await db.run('INSERT INTO t SELECT zeroblob(1000) FROM (WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000) SELECT i FROM c)');
    const dest = join(pools.dir, 'copy.db');
    let steps = 0;
    const copy = db.backup(dest, { pagesPerStep: 1, onProgress: () => void steps++ });
    while (steps < 3) await new Promise((resolve) => setImmediate(resolve));
    const closing = db.close();
    expect(await settledWithin(copy, 30_000)).toBe('resolved');
    await closing;
    expect(readdirSync(pools.dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const copied = await open(dest, { readers: 1 });
    try {
      expect(await copied.get('SELECT count(*) AS n FROM t')).toEqual({ n: 5000 });
      expect((await copied.integrityCheck()).ok).toBe(true);
    } finally {
      await copied.close();
    }
  });

  it('checks waiting for a reader run and resolve; later calls are refused', async () => {
    for (const readers of [1, 2]) {
      const db = await pools.open({ readers });
      await db.exec('CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p REFERENCES p(id))');
      const lease = readers === 2 ? await db.acquire() : undefined;
      const checks = [db.integrityCheck(), db.integrityCheck({ quick: true }), db.foreignKeyCheck(), db.integrityCheck()];
      const closing = db.close();
      const outcomes = await Promise.all(checks.map((check) => settledWithin(check, 30_000)));
      expect(outcomes).toEqual(['resolved', 'resolved', 'resolved', 'resolved']);
      expect(await Promise.all(checks.slice(0, 2))).toEqual([expect.objectContaining({ ok: true }), expect.objectContaining({ ok: true })]);
      await closing;
      expect(await settledWithin(db.integrityCheck(), 5_000)).toEqual(expect.objectContaining({ code: 'LITEPOOL_POOL_CLOSED' }));
      expect(lease?.ended ?? true).toBe(true);
    }
  });
});

describe('close() during migrate()', () => {
  const scratch = new Scratch();
  afterAll(() => scratch.remove());
  const slow = 'INSERT INTO a WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300000) SELECT i FROM c;';

  for (const kind of ['in its transaction', 'without a transaction']) {
    it(`lets a migration ${kind} finish, and its ledger row says applied`, async () => {
      const dir = scratch.files({
        '1.0.0__a.sql': 'CREATE TABLE a (x);',
        '1.1.0__b.sql': kind === 'without a transaction' ? `-- litepool:no-transaction\n${slow}` : slow,
      });
      const file = scratch.db();
      let started = false;
      const db = await open(file, { readers: 1, observers: [{ onMigration: (e) => void (e.phase === 'start' && e.version === '1.1.0' && (started = true)) }] });
      const migrating = db.migrate({ dir });
      while (!started) await new Promise((resolve) => setTimeout(resolve, 1));
      const closing = db.close();
      expect(await settledWithin(migrating, 30_000)).toBe('resolved');
      await closing;
      const again = await open(file, { readers: 1 });
      try {
        expect(await ledgerOf(again)).toEqual([
          expect.objectContaining({ version: '1.0.0', state: 'applied' }),
          expect.objectContaining({ version: '1.1.0', state: 'applied' }),
        ]);
        expect(await again.get('SELECT count(*) AS n FROM a')).toEqual({ n: 300000 });
      } finally {
        await again.close();
      }
    });
  }
});

describe('where a copy may go', () => {
  it('backup() and vacuumInto() refuse a missing directory and a directory, naming dest, before any work', async () => {
    const db = await pools.open({ readers: 1 });
    await db.exec('CREATE TABLE t (x)');
    for (const copy of [(dest: string) => db.backup(dest), (dest: string) => db.vacuumInto(dest)]) {
      const missing = join(pools.dir, 'no-such-dir', 'copy.db');
      expect(await settledWithin(copy(missing), 5_000)).toEqual(
        expect.objectContaining({ code: 'LITEPOOL_OUT_OF_RANGE', message: expect.stringContaining('directory that does not exist') }),
      );
      expect(await settledWithin(copy(pools.dir), 5_000)).toEqual(expect.objectContaining({ code: 'LITEPOOL_OUT_OF_RANGE', message: expect.stringContaining('is a directory') }));
    }
    expect(readdirSync(pools.dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});

describe('close() awaited inside a migration run of the same pool', () => {
  const scratch = new Scratch();
  afterAll(() => scratch.remove());

  it('lets the run go (it fails, rolled back) instead of waiting for it', async () => {
    const file = scratch.db();
    const db = await open(file, { readers: 1 });
    let closed: unknown = 'not called';
    const migrating = db.migrate({
      migrations: [
        {
          version: '1.0.0',
          name: 'closes',
          up: async (tx: { exec(sql: string): Promise<unknown> }) => {
            await tx.exec('CREATE TABLE a (x)');
            closed = await db.close().then(() => 'closed', (error: unknown) => error);
          },
        },
      ],
    } as never);
    expect(await settledWithin(migrating, 30_000)).not.toBe('pending');
    expect(closed).toBe('closed');
    expect(db.closed).toBe(true);
    const again = await open(file, { readers: 1 });
    try {
      expect(await again.get("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'a'")).toEqual({ n: 0 });
    } finally {
      await again.close();
    }
  });
});
