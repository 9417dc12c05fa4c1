// Covers group commit of plain writes on the writer: 2,000 concurrent inserts all resolve and are
// committed in groups (stats().groupCommit); per-statement results stay per statement (distinct
// lastInsertRowid matching each row's rowid, changes 1; an UPDATE of 3 rows reports 3); a failing
// entry (UNIQUE violation, also with OR ROLLBACK) rejects alone while the others commit; statements
// that must never share a transaction (CREATE TABLE, PRAGMA, VACUUM, ATTACH/DETACH, BEGIN…COMMIT,
// a stray BEGIN) keep their semantics when issued among concurrent inserts; groupCommit: false
// (pool and write queue) never groups; the groupCommit option checks; and promises that resolve
// only after COMMIT (another pool on the same file already sees the row).
import { beforeEach, describe, expect, it } from 'vitest';
import { SqliteError, open, type Pool, type RunResult } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('group');
let db: Pool;

beforeEach(async () => {
  // Foreign keys off: one test turns them on with a PRAGMA among grouped writes.
  db = await pools.fresh({ readers: 2, foreignKeys: false }, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)');
});

const insert = (pool: Pool, v: string): Promise<RunResult> => pool.run('INSERT INTO t (v) VALUES (?)', [v]);

async function count(pool: Pool = db, table = 't'): Promise<number> {
  const row = await pool.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
  return row!.n;
}

describe('grouping', () => {
  it('2,000 concurrent inserts all resolve, and grouping actually happens', async () => {
    const before = db.stats().groupCommit;
    expect(before).toEqual({ groups: 0, writes: 0 });
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => insert(db, `v${i}`)));
    expect(results).toHaveLength(2000);
    const { groups, writes } = db.stats().groupCommit;
    expect(groups).toBeGreaterThan(0);
    expect(writes).toBeGreaterThan(0);
    // Every group holds at least two writes, and no more writes were grouped than submitted.
    expect(writes).toBeGreaterThanOrEqual(2 * groups);
    expect(writes).toBeLessThanOrEqual(2000);
    expect(await count()).toBe(2000);
  });

  it('per-statement results: distinct lastInsertRowid matching each row, changes 1 each', async () => {
    const values = Array.from({ length: 2000 }, (_, i) => `row-${i}`);
    const results = await Promise.all(values.map((v) => insert(db, v)));
    expect(db.stats().groupCommit.groups).toBeGreaterThan(0);
    const rowids = results.map((r) => Number(r.lastInsertRowid));
    expect(new Set(rowids).size).toBe(2000);
    for (const result of results) expect(result.changes).toBe(1);
    const rows = await db.all<{ id: number; v: string }>('SELECT rowid AS id, v FROM t');
    const actual = new Map(rows.map((row) => [row.v, row.id]));
    values.forEach((v, i) => expect(rowids[i], v).toBe(actual.get(v)));
  });

  it('an UPDATE affecting 3 rows reports changes 3 even when grouped', async () => {
    await db.exec('CREATE TABLE u (g INTEGER NOT NULL, n INTEGER NOT NULL DEFAULT 0)');
    await db.batch(Array.from({ length: 300 }, (_, i) => ({ sql: 'INSERT INTO u (g) VALUES (?)', params: [Math.floor(i / 3)] })));
    const groupsBefore = db.stats().groupCommit.groups;
    const updates: Promise<RunResult>[] = [];
    const inserts: Promise<RunResult>[] = [];
    for (let i = 0; i < 100; i++) {
      for (let k = 0; k < 5; k++) inserts.push(insert(db, `u-${i}-${k}`));
      updates.push(db.run('UPDATE u SET n = n + 1 WHERE g = ?', [i]));
    }
    const updated = await Promise.all(updates);
    const inserted = await Promise.all(inserts);
    expect(db.stats().groupCommit.groups).toBeGreaterThan(groupsBefore);
    for (const result of updated) expect(result.changes).toBe(3);
    for (const result of inserted) expect(result.changes).toBe(1);
    const sums = await db.all<{ g: number; s: number }>('SELECT g, sum(n) AS s FROM u GROUP BY g');
    expect(sums).toHaveLength(100);
    for (const { s } of sums) expect(s).toBe(3);
  });
});

describe('failures stay per statement', () => {
  it('UNIQUE violations in the middle of a concurrent burst reject alone; all others commit', async () => {
    await insert(db, 'taken');
    const total = 2000;
    const failing = new Set<number>();
    for (let i = 50; i < total; i += 100) failing.add(i);
    const outcomes = await Promise.allSettled(
      Array.from({ length: total }, (_, i) => insert(db, failing.has(i) ? 'taken' : `b${i}`)),
    );
    expect(db.stats().groupCommit.groups).toBeGreaterThan(0);
    outcomes.forEach((outcome, i) => {
      if (failing.has(i)) {
        expect(outcome.status, `entry ${i}`).toBe('rejected');
        const { reason } = outcome as PromiseRejectedResult;
        expect(reason).toBeInstanceOf(SqliteError);
        expect((reason as SqliteError).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
      } else {
        expect(outcome.status, `entry ${i}`).toBe('fulfilled');
        expect((outcome as PromiseFulfilledResult<RunResult>).value.changes).toBe(1);
      }
    });
    expect(await count()).toBe(1 + total - failing.size);
    const rows = await db.all<{ v: string }>("SELECT v FROM t WHERE v LIKE 'b%'");
    const present = new Set(rows.map((row) => row.v));
    for (let i = 0; i < total; i++) expect(present.has(`b${i}`), `b${i}`).toBe(!failing.has(i));
  });

  it('an INSERT OR ROLLBACK failing inside a burst (the whole transaction rolls back) rejects alone', async () => {
    await insert(db, 'taken');
    const total = 1000;
    const failing = new Set([100, 400, 401, 999]);
    const outcomes = await Promise.allSettled(
      Array.from({ length: total }, (_, i) =>
        failing.has(i) ? db.run('INSERT OR ROLLBACK INTO t (v) VALUES (?)', ['taken']) : insert(db, `r${i}`),
      ),
    );
    outcomes.forEach((outcome, i) => {
      if (failing.has(i)) {
        expect(outcome.status, `entry ${i}`).toBe('rejected');
        const { reason } = outcome as PromiseRejectedResult;
        expect(reason).toBeInstanceOf(SqliteError);
        expect((reason as SqliteError).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
      } else {
        expect(outcome.status, `entry ${i}`).toBe('fulfilled');
      }
    });
    expect(await count()).toBe(1 + total - failing.size);
    const rows = await db.all<{ id: number; v: string }>("SELECT rowid AS id, v FROM t WHERE v LIKE 'r%'");
    const actual = new Map(rows.map((row) => [row.v, row.id]));
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') expect(Number(outcome.value.lastInsertRowid), `r${i}`).toBe(actual.get(`r${i}`));
    });
  });
});

describe('statements that are never grouped', () => {
  it('CREATE TABLE, PRAGMA, VACUUM, ATTACH/DETACH and BEGIN…COMMIT among concurrent inserts keep their semantics', async () => {
    const aux = pools.file();
    const lease = await db.acquire({ write: true });
    const fkBefore = await lease.get<{ foreign_keys: number }>('PRAGMA foreign_keys');
    await lease.release();
    expect(fkBefore).toEqual({ foreign_keys: 0 });

    const burst = (from: number): Promise<RunResult>[] => Array.from({ length: 200 }, (_, i) => insert(db, `n${from + i}`));
    const inserts: Promise<RunResult>[] = [];
    const special: Promise<unknown>[] = [];
    inserts.push(...burst(0));
    special.push(db.run('CREATE TABLE parent (id INTEGER PRIMARY KEY)'));
    inserts.push(...burst(200));
    special.push(db.run('CREATE TABLE child (p INTEGER REFERENCES parent (id))'));
    inserts.push(...burst(400));
    // A no-op inside a transaction: only takes effect when run on its own.
    special.push(db.run('PRAGMA foreign_keys = ON'));
    inserts.push(...burst(600));
    // Fails inside a transaction ("cannot VACUUM from within a transaction").
    special.push(db.run('VACUUM'));
    inserts.push(...burst(800));
    // Fails inside a transaction ("cannot ATTACH database within transaction").
    special.push(db.run('ATTACH DATABASE ? AS aux', [aux]));
    inserts.push(...burst(1000));
    special.push(db.run('CREATE TABLE aux.side (x INTEGER)'));
    inserts.push(...burst(1200));
    special.push(db.run('INSERT INTO aux.side (x) VALUES (42)'));
    inserts.push(...burst(1400));
    special.push(db.run('DETACH DATABASE aux'));
    inserts.push(...burst(1600));
    // Fails inside a transaction ("cannot start a transaction within a transaction").
    special.push(db.exec("BEGIN IMMEDIATE; INSERT INTO t (v) VALUES ('explicit'); COMMIT"));
    inserts.push(...burst(1800));
    special.push(db.run('PRAGMA user_version = 7'));
    inserts.push(...burst(2000));

    const specialOutcomes = await Promise.allSettled(special);
    specialOutcomes.forEach((outcome, i) => {
      expect(outcome.status, `special statement ${i}: ${outcome.status === 'rejected' ? String(outcome.reason) : ''}`).toBe('fulfilled');
    });
    const insertOutcomes = await Promise.allSettled(inserts);
    expect(insertOutcomes.every((o) => o.status === 'fulfilled')).toBe(true);
    expect(db.stats().groupCommit.groups).toBeGreaterThan(0);

    expect(await count()).toBe(2200 + 1);
    expect(await db.get('SELECT v FROM t WHERE v = ?', ['explicit'])).toEqual({ v: 'explicit' });
    // foreign_keys = ON took effect on the writer: a dangling reference is refused.
    const fkError = await db.run('INSERT INTO child (p) VALUES (12345)').then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(fkError).toBeInstanceOf(SqliteError);
    expect((fkError as SqliteError).code).toBe('SQLITE_CONSTRAINT_FOREIGNKEY');
    expect(await db.get('PRAGMA user_version')).toEqual({ user_version: 7 });
    // The attached database got its row and was detached again.
    const side = await open(aux, { readers: 1 });
    try {
      expect(await side.all('SELECT x FROM side')).toEqual([{ x: 42 }]);
    } finally {
      await side.close();
    }
    await expect(db.run('INSERT INTO aux.side (x) VALUES (1)')).rejects.toBeInstanceOf(SqliteError);
  });

  it('a stray BEGIN among concurrent inserts is refused as when alone, and swallows none of them', async () => {
    const alone = await db.run('BEGIN').then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(alone).toBeInstanceOf(Error);
    const aloneCode = (alone as { code: string }).code;
    const inserts: Promise<RunResult>[] = [];
    for (let i = 0; i < 500; i++) inserts.push(insert(db, `s${i}`));
    const stray = db.run('BEGIN');
    for (let i = 500; i < 1000; i++) inserts.push(insert(db, `s${i}`));
    const strayError = await stray.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(strayError).toBeInstanceOf(Error);
    expect((strayError as { code: string }).code).toBe(aloneCode);
    await Promise.all(inserts);
    expect(await count()).toBe(1000);
    // The writer is back in autocommit mode: a fresh pool sees every row.
    const other = await open(db.path, { readers: 1 });
    try {
      expect(await count(other)).toBe(1000);
    } finally {
      await other.close();
    }
  });
});

describe('groupCommit: false', () => {
  it('a pool with groupCommit: false never groups', async () => {
    await db.close();
    db = await pools.openAt(db.path, { readers: 2, groupCommit: false });
    await Promise.all(Array.from({ length: 2000 }, (_, i) => insert(db, `f${i}`)));
    expect(db.stats().groupCommit).toEqual({ groups: 0, writes: 0 });
    expect(await count()).toBe(2000);
  });

  it('a write queue with groupCommit: false works and its entries are never grouped', async () => {
    // Warm up grouping on this pool first, so the counters are live.
    await Promise.all(Array.from({ length: 500 }, (_, i) => insert(db, `w${i}`)));
    const before = db.stats().groupCommit;
    const queue = db.writeQueue({ groupCommit: false, inFlight: 256, capacity: 2000 });
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => queue.enqueue('INSERT INTO t (v) VALUES (?)', [`q${i}`])));
    expect(results).toHaveLength(1000);
    for (let i = 0; i < 1000; i++) expect((results[i] as RunResult).changes).toBe(1);
    await queue.shutdown();
    expect(db.stats().groupCommit).toEqual(before);
    expect(await count()).toBe(1500);
    expect(() => db.writeQueue({ groupCommit: 'no' as never })).toThrow(TypeError);
  });

  it('a write queue with groupCommit on (default) groups its entries', async () => {
    const queue = db.writeQueue({ inFlight: 256, capacity: 2000 });
    for (let i = 0; i < 2000; i++) queue.push('INSERT INTO t (v) VALUES (?)', [`g${i}`]);
    await queue.shutdown();
    expect(queue.stats().completed).toBe(2000);
    expect(db.stats().groupCommit.groups).toBeGreaterThan(0);
  });
});

describe('option checks', () => {
  it('maxBatch 0 and maxDelayMs -1 are RangeErrors; an unknown key is a TypeError', async () => {
    const target = pools.file('options');
    await expect(open(target, { groupCommit: { maxBatch: 0 } })).rejects.toBeInstanceOf(RangeError);
    await expect(open(target, { groupCommit: { maxDelayMs: -1 } })).rejects.toBeInstanceOf(RangeError);
    await expect(open(target, { groupCommit: { foo: 1 } as never })).rejects.toBeInstanceOf(TypeError);
    await expect(open(target, { groupCommit: 'yes' as never })).rejects.toBeInstanceOf(TypeError);
  });

  it('explicit settings work: { maxBatch: 8, maxDelayMs: 1 }', async () => {
    await db.close();
    db = await pools.openAt(db.path, { readers: 1, groupCommit: { maxBatch: 8, maxDelayMs: 1 } });
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => insert(db, `e${i}`)));
    expect(new Set(results.map((r) => Number(r.lastInsertRowid))).size).toBe(500);
    const { groups, writes } = db.stats().groupCommit;
    expect(groups).toBeGreaterThan(0);
    expect(writes).toBeLessThanOrEqual(8 * groups);
    expect(await count()).toBe(500);
  });
});

describe('durability of a resolution', () => {
  it('a promise resolves only after COMMIT: another pool on the file already sees the row', async () => {
    const other = await open(db.path, { readers: 2 });
    try {
      const checks: Promise<void>[] = [];
      const missing: string[] = [];
      let first: string | undefined;
      const promises = Array.from({ length: 1000 }, (_, i) => {
        const v = `c${i}`;
        const promise = insert(db, v);
        checks.push(
          promise.then(async () => {
            first ??= v;
            const row = await other.get('SELECT v FROM t WHERE v = ?', [v]);
            if (row === undefined) missing.push(v);
          }),
        );
        return promise;
      });
      await Promise.all(promises);
      await Promise.all(checks);
      // Writes run in submission order, so the first group to commit holds c0: it resolves first.
      expect(first).toBe('c0');
      expect(db.stats().groupCommit.groups).toBeGreaterThan(0);
      expect(missing).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
