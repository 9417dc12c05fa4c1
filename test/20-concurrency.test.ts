// Covers concurrent use of one pool: 10,000 concurrent reads each get their own row, 1,000
// concurrent writes all succeed (no SQLITE_BUSY), statements with RETURNING issued through
// get()/all() reach the writer, reads after a resolved write see it, the operation counters of
// stats() add up once everything settled, and the ':memory:' pool (one connection, no readers).
import { beforeAll, describe, expect, it } from 'vitest';
import { open, type Pool } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { seeded } from './helpers/prng.ts';
import { settleOrReport, type Outcome } from './helpers/waits.ts';

const READERS = 4;
const ROWS = 10_000;

const pools = tempPools('concurrency');
/** The shared database file, which some tests open more pools on. */
let file: string;
let db: Pool;

const valueOf = (id: number): string => `value-${id}-${(id * 2654435761) % 1_000_003}`;

/** The outcomes that are not fulfilled with the expected value (pending ones are counted apart). */
function misdelivered<T>(outcomes: Outcome<T>[], expected: unknown[]): { i: number; got: unknown; want: unknown }[] {
  return outcomes
    .map((outcome, i) => ({ i, outcome, want: expected[i] }))
    .filter(({ outcome, want }) => outcome.status !== 'pending' && !(outcome.status === 'fulfilled' && JSON.stringify(outcome.value) === JSON.stringify(want)))
    .map(({ i, outcome, want }) => ({ i, got: outcome.status === 'fulfilled' ? outcome.value : String((outcome as PromiseRejectedResult).reason), want }));
}

beforeAll(async () => {
  file = pools.file('concurrency');
  db = await pools.openAt(file, { readers: READERS });
  await db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, value TEXT NOT NULL)');
  await db.exec('CREATE TABLE writes (id INTEGER PRIMARY KEY, n INTEGER NOT NULL UNIQUE, note TEXT)');
  await db.exec('CREATE TABLE returning_t (id INTEGER PRIMARY KEY, label TEXT NOT NULL)');
  // 10,000 rows in one transaction (exec runs several statements on the writer).
  const values = Array.from({ length: ROWS }, (_, i) => `(${i + 1}, '${valueOf(i + 1)}')`);
  await db.exec(`BEGIN; INSERT INTO items (id, value) VALUES ${values.join(', ')}; COMMIT;`);
});

describe('concurrent reads', () => {
  it('has the 10,000 rows', async () => {
    expect(await db.get('SELECT COUNT(*) AS n, MIN(id) AS lo, MAX(id) AS hi FROM items')).toEqual({ n: ROWS, lo: 1, hi: ROWS });
  });

  it('resolves 10,000 concurrent gets by random id, each with its own row', async () => {
    const next = seeded(20240611);
    const ids = Array.from({ length: 10_000 }, () => 1 + Math.floor(next() * ROWS));
    const rows = await Promise.all(ids.map((id) => db.get<{ id: number; value: string }>('SELECT id, value FROM items WHERE id = ?', [id])));
    expect(rows).toHaveLength(ids.length);
    const wrong: string[] = [];
    rows.forEach((row, i) => {
      const id = ids[i]!;
      if (!row || row.id !== id || row.value !== valueOf(id)) wrong.push(`#${i}: asked ${id}, got ${JSON.stringify(row)}`);
    });
    expect(wrong.slice(0, 10)).toEqual([]);
  });

  it('resolves concurrent gets and alls with different statements and row modes', async () => {
    const next = seeded(7);
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 3000; i++) {
      const id = 1 + Math.floor(next() * (ROWS - 5));
      switch (i % 3) {
        case 0:
          jobs.push(db.get('SELECT value FROM items WHERE id = ?', [id], { rowMode: 'array' }).then((row) => expect(row).toEqual([valueOf(id)])));
          break;
        case 1:
          jobs.push(
            db.all<{ id: number }>('SELECT id FROM items WHERE id BETWEEN ? AND ? ORDER BY id', [id, id + 4]).then((rows) =>
              expect(rows.map((r) => r.id)).toEqual([id, id + 1, id + 2, id + 3, id + 4]),
            ),
          );
          break;
        default:
          jobs.push(db.get('SELECT :id AS echo, value FROM items WHERE id = :id', { id }).then((row) => expect(row).toEqual({ echo: id, value: valueOf(id) })));
      }
    }
    await Promise.all(jobs);
  });
});

describe('concurrent writes', () => {
  it('resolves 1,000 concurrent INSERTs, none rejected, all rows present', async () => {
    const settled = await Promise.allSettled(
      Array.from({ length: 1000 }, (_, n) => db.run('INSERT INTO writes (n, note) VALUES (?, ?)', [n, `note ${n}`])),
    );
    const rejected = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(rejected.map((s) => `${(s.reason as { code?: string }).code}: ${(s.reason as Error).message}`)).toEqual([]);
    const ids = new Set<number>();
    for (const s of settled) {
      const result = (s as PromiseFulfilledResult<{ changes: number; lastInsertRowid: number | bigint }>).value;
      expect(result.changes).toBe(1);
      ids.add(Number(result.lastInsertRowid));
    }
    expect(ids.size).toBe(1000);
    const count = await db.get<{ n: number; lo: number; hi: number }>('SELECT COUNT(*) AS n, MIN(n) AS lo, MAX(n) AS hi FROM writes');
    expect(count).toEqual({ n: 1000, lo: 0, hi: 999 });
    const rows = await db.all<{ id: number; n: number; note: string }>('SELECT id, n, note FROM writes ORDER BY n');
    expect(rows.every((row, i) => row.n === i && row.note === `note ${i}`)).toBe(true);
    expect(new Set(rows.map((r) => r.id))).toEqual(ids);
  });

  it('resolves concurrent writes interleaved with reads', async () => {
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 500; i++) {
      jobs.push(db.run('UPDATE items SET value = ? WHERE id = ?', [`${valueOf(i + 1)}`, i + 1]));
      jobs.push(db.get('SELECT COUNT(*) AS n FROM items').then((row) => expect(row).toEqual({ n: ROWS })));
    }
    const settled = await Promise.allSettled(jobs);
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
  });
});

describe('statements that write, issued through get() and all()', () => {
  it("all('INSERT ... RETURNING id') reaches the writer and returns every id", async () => {
    const rows = await db.all<{ id: number; label: string }>(
      "INSERT INTO returning_t (label) VALUES ('all-1'), ('all-2'), ('all-3') RETURNING id, label",
    );
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r.label)).toEqual(['all-1', 'all-2', 'all-3']);
    const stored = await db.all<{ id: number }>("SELECT id FROM returning_t WHERE label LIKE 'all-%' ORDER BY id");
    expect(stored.map((r) => r.id)).toEqual(rows.map((r) => r.id).sort((a, b) => a - b));
  });

  it("get('INSERT ... RETURNING id') reaches the writer, returns the id, and runs to completion", async () => {
    const row = await db.get<{ id: number }>("INSERT INTO returning_t (label) VALUES ('get-1') RETURNING id");
    expect(typeof row?.id).toBe('number');
    expect(await db.get('SELECT label FROM returning_t WHERE id = ?', [row!.id])).toEqual({ label: 'get-1' });
    // A multi-row insert through get() returns the first row but inserts every row.
    const first = await db.get<{ label: string }>("INSERT INTO returning_t (label) VALUES ('multi-1'), ('multi-2'), ('multi-3') RETURNING label");
    expect(first).toEqual({ label: 'multi-1' });
    expect(await db.get("SELECT COUNT(*) AS n FROM returning_t WHERE label LIKE 'multi-%'")).toEqual({ n: 3 });
  });

  it('array row mode works for RETURNING, and the same statement works again (cached routing)', async () => {
    for (let i = 0; i < 3; i++) {
      const row = await db.get('INSERT INTO returning_t (label) VALUES (?) RETURNING label', [`again-${i}`], { rowMode: 'array' });
      expect(row).toEqual([`again-${i}`]);
    }
    expect(await db.get("SELECT COUNT(*) AS n FROM returning_t WHERE label LIKE 'again-%'")).toEqual({ n: 3 });
  });

  it('many concurrent RETURNING statements through get() all succeed', async () => {
    const rows = await Promise.all(
      Array.from({ length: 200 }, (_, i) => db.get<{ label: string }>('INSERT INTO returning_t (label) VALUES (?) RETURNING label', [`burst-${i}`])),
    );
    expect(rows.map((r) => r?.label)).toEqual(Array.from({ length: 200 }, (_, i) => `burst-${i}`));
    expect(await db.get("SELECT COUNT(*) AS n FROM returning_t WHERE label LIKE 'burst-%'")).toEqual({ n: 200 });
  });
});

describe('first use of a writing statement through get(), many at once', () => {
  // The first time the JS side sees such a SQL text it sends it to a reader, which reports that
  // the statement is not read-only; the request is then re-sent to the writer. Many such
  // requests complete in the same batch.
  it('300 concurrent get(INSERT ... RETURNING) with a new SQL text each settle with their own row', async () => {
    const pool = await open(file, { readers: READERS });
    const sql = "INSERT INTO returning_t (label) VALUES (?) RETURNING 'first-use' AS kind, label";
    const labels = Array.from({ length: 300 }, (_, i) => `first-use-${i}`);
    const outcomes = await settleOrReport(labels.map((label) => pool.get(sql, [label])));
    const pending = outcomes.filter((outcome) => outcome.status === 'pending').length;
    expect(misdelivered(outcomes, labels.map((label) => ({ kind: 'first-use', label }))).slice(0, 5)).toEqual([]);
    expect(pending, `operations that never settled; stats: ${JSON.stringify(pool.stats())}`).toBe(0);
    expect(await pool.get("SELECT COUNT(*) AS n FROM returning_t WHERE label LIKE 'first-use-%'")).toEqual({ n: 300 });
    await pool.close();
  });

  it('a first-use write through get() mixed with plain reads: every promise gets its own result', async () => {
    const pool = await open(file, { readers: READERS });
    const operations: Promise<unknown>[] = [];
    const expected: unknown[] = [];
    for (let i = 1; i <= 400; i++) {
      if (i % 4 === 0) {
        operations.push(pool.get("INSERT INTO returning_t (label) VALUES (?) RETURNING 'mixed' AS kind, label", [`mixed-${i}`]));
        expected.push({ kind: 'mixed', label: `mixed-${i}` });
      } else {
        operations.push(pool.get('SELECT id, value FROM items WHERE id = ?', [i]));
        expected.push({ id: i, value: valueOf(i) });
      }
    }
    const outcomes = await settleOrReport(operations);
    const pending = outcomes.filter((outcome) => outcome.status === 'pending').length;
    expect(misdelivered(outcomes, expected).slice(0, 5)).toEqual([]);
    expect(pending, `operations that never settled; stats: ${JSON.stringify(pool.stats())}`).toBe(0);
    await pool.close();
  });
});

describe('read-your-writes', () => {
  it('a read issued after a run() resolved sees the write', async () => {
    for (let i = 0; i < 200; i++) {
      const { lastInsertRowid } = await db.run('INSERT INTO returning_t (label) VALUES (?)', [`ryw-${i}`]);
      expect(await db.get('SELECT label FROM returning_t WHERE id = ?', [lastInsertRowid])).toEqual({ label: `ryw-${i}` });
      const { n } = (await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM returning_t WHERE label LIKE 'ryw-%'"))!;
      expect(n).toBe(i + 1);
    }
  });

  it('every reader sees a schema change once it resolved (SELECT * picks up new columns)', async () => {
    await db.exec('CREATE TABLE shape (a INTEGER)');
    await db.run('INSERT INTO shape (a) VALUES (1)');
    const expected: Record<string, number> = { a: 1 };
    for (let k = 0; k < 3; k++) {
      // Every reader prepares (and caches) the statement with the current columns...
      const before = await Promise.all(Array.from({ length: 200 }, () => db.get('SELECT * FROM shape')));
      expect(before.every((row) => JSON.stringify(row) === JSON.stringify(expected))).toBe(true);
      // ...then a column is added, and every reader must report it.
      await db.exec(`ALTER TABLE shape ADD COLUMN c${k} INTEGER DEFAULT ${k + 10}`);
      expected[`c${k}`] = k + 10;
      const after = await Promise.all(Array.from({ length: 200 }, () => db.get('SELECT * FROM shape')));
      const shapes = new Set(after.map((row) => JSON.stringify(row)));
      expect([...shapes]).toEqual([JSON.stringify(expected)]);
      const arrays = await Promise.all(Array.from({ length: 50 }, () => db.all('SELECT * FROM shape', [], { rowMode: 'array' })));
      expect(new Set(arrays.map((rows) => JSON.stringify(rows)))).toEqual(new Set([JSON.stringify([Object.values(expected)])]));
    }
  });

  it('every reader sees a write once it resolved', async () => {
    await db.run('UPDATE items SET value = ? WHERE id = 1', ['seen-everywhere']);
    // Enough concurrent reads that every reader thread serves some of them.
    const rows = await Promise.all(Array.from({ length: 2000 }, () => db.get<{ value: string }>('SELECT value FROM items WHERE id = 1')));
    expect(rows.every((row) => row?.value === 'seen-everywhere')).toBe(true);
  });
});

describe('stats()', () => {
  it('reports readers.size equal to the readers option', () => {
    expect(db.stats().readers.size).toBe(READERS);
  });

  it('operations.started === completed + failed + cancelled once everything settled', async () => {
    // Some failures too, so the failed counter moves.
    const failures = await Promise.allSettled([
      db.get('SELECT * FROM no_such_table'),
      db.run('INSERT INTO writes (n) VALUES (0)'),
      db.get('SELECT ?', []),
    ]);
    expect(failures.every((s) => s.status === 'rejected')).toBe(true);
    await Promise.allSettled(Array.from({ length: 500 }, (_, i) => db.get('SELECT ? AS i', [i])));
    const { operations, inFlight, queued } = db.stats();
    expect(inFlight).toBe(0);
    expect(queued).toBe(0);
    expect(operations.started).toBeGreaterThan(10_000);
    expect(operations.failed).toBeGreaterThanOrEqual(3);
    expect(operations.started).toBe(operations.completed + operations.failed + operations.cancelled);
  });

  it('other pools report their own reader count', async () => {
    for (const readers of [1, 2, 7]) {
      const pool = await open(file, { readers });
      try {
        expect(pool.stats().readers.size).toBe(readers);
        expect(await pool.get('SELECT COUNT(*) AS n FROM items')).toEqual({ n: ROWS });
      } finally {
        await pool.close();
      }
    }
  });
});

describe('a file pool with readers: 0', () => {
  it('runs every operation on the writer and reports readers.size 0', async () => {
    const pool = await open(file, { readers: 0 });
    try {
      expect(pool.stats().readers.size).toBe(0);
      const rows = await Promise.all(Array.from({ length: 500 }, (_, i) => pool.get<{ id: number; value: string }>('SELECT id, value FROM items WHERE id = ?', [i + 1])));
      // Row i is the row of id i + 1, as the main pool reads it (an earlier test rewrote id 1).
      const want = await db.all<{ id: number; value: string }>('SELECT id, value FROM items WHERE id <= 500 ORDER BY id');
      expect(want.slice(1)).toEqual(Array.from({ length: 499 }, (_, i) => ({ id: i + 2, value: valueOf(i + 2) })));
      expect(rows).toEqual(want);
      const { lastInsertRowid } = await pool.run('INSERT INTO returning_t (label) VALUES (?)', ['zero-readers']);
      expect(await pool.get('SELECT label FROM returning_t WHERE id = ?', [lastInsertRowid])).toEqual({ label: 'zero-readers' });
    } finally {
      await pool.close();
    }
  });
});

describe("':memory:'", () => {
  it('creates a table, inserts, selects, and reports readers.size 0', async () => {
    const memory = await open(':memory:');
    try {
      expect(memory.stats().readers.size).toBe(0);
      await memory.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => memory.run('INSERT INTO t (name) VALUES (?)', [`m${i}`])));
      expect(results.every((r) => r.changes === 1)).toBe(true);
      expect(await memory.get('SELECT COUNT(*) AS n FROM t')).toEqual({ n: 100 });
      expect(await memory.get('SELECT name FROM t WHERE id = 42')).toEqual({ name: 'm41' });
      const rows = await memory.all<{ name: string }>('SELECT name FROM t ORDER BY id LIMIT 3');
      expect(rows).toEqual([{ name: 'm0' }, { name: 'm1' }, { name: 'm2' }]);
      const { operations } = memory.stats();
      expect(operations.started).toBe(operations.completed + operations.failed + operations.cancelled);
      expect(memory.stats().readers.size).toBe(0);
    } finally {
      await memory.close();
    }
  });

  it('ignores the readers option for :memory:', async () => {
    const memory = await open(':memory:', { readers: 4 });
    try {
      expect(memory.stats().readers.size).toBe(0);
      await memory.exec('CREATE TABLE t (x)');
      await memory.run('INSERT INTO t VALUES (1)');
      expect(await memory.get('SELECT x FROM t')).toEqual({ x: 1 });
    } finally {
      await memory.close();
    }
  });
});
