// db.iterate() chunk by chunk, counted at the addon's submit(): a result of N rows comes back
// complete and in order with the round trips the chunk sizing rule says (one for a result that
// fits the first chunk, nothing pinned and no IterateEnd), with the adaptive sizes 256, 512, 1024
// or the caller's chunkSize, and cut at ITERATE_CHUNK_BYTES; a turn of the event loop every
// TURN_ROWS rows; never more than one chunk read ahead; early break, return, abort and close() free the held reader at once; a write statement
// is refused, and so is an integer beyond a JS number (nothing stays held); rowMode 'array',
// safeIntegers and observers see every chunk; a lease's iteration
// fetches on demand with the same one-trip rule.
import { beforeEach, describe, expect, it } from 'vitest';
import { TURN_ROWS, chunkRows } from '../lib/api/iteration.ts';
import { PoolClosedError, SqliteError, type Pool, type QueryEvent } from '../lib/index.ts';
import { ITERATE_CHUNK_BYTES, Op } from '../lib/native/contract.ts';
import { tempPools } from './helpers/pools.ts';
import { recordSubmits } from './helpers/submits.ts';

const pools = tempPools('iterate-chunks');

const submitted = recordSubmits();

const ITERATION_OPS = new Set<number>([Op.IterateStart, Op.IterateNext, Op.IterateEnd, Op.Pin, Op.Unpin]);

/** The iteration ops submitted since the last reset (Pin and Unpin included: there should be none). */
function trips(): number[] {
  return submitted.filter((s) => ITERATION_OPS.has(s.op)).map((s) => s.op);
}

function resetTrips(): void {
  submitted.length = 0;
}

/** Chunk requests (start + next) a complete iteration of `n` rows takes under the sizing rule. */
function expectedChunks(n: number, chunkSize: number | undefined): number[] {
  const sizes: number[] = [];
  let covered = 0;
  do {
    const rows = chunkRows(sizes.length, chunkSize);
    sizes.push(rows);
    covered += rows;
  } while (covered < n);
  return sizes;
}

async function fill(db: Pool, rows: number): Promise<void> {
  await db.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  await db.run(
    `INSERT INTO big (id, v)
     SELECT x, 'row-' || x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT x FROM c)`,
    [rows],
  );
}

async function collect(db: Pool, n: number, chunkSize?: number): Promise<number[]> {
  const ids: number[] = [];
  const options = chunkSize === undefined ? undefined : { chunkSize };
  for await (const row of db.iterate<{ id: number; v: string }>('SELECT id, v FROM big WHERE id <= ? ORDER BY id', [n], options)) {
    if (row.v !== `row-${row.id}`) throw new Error(`row ${row.id} holds ${row.v}`);
    ids.push(row.id);
  }
  return ids;
}

const inOrder = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('round trips of db.iterate() on a pool with readers', () => {
  let db: Pool;
  beforeEach(async () => {
    db = await pools.open({ readers: 2 });
    await fill(db, 5000);
  });

  for (const chunkSize of [10, undefined]) {
    const first = chunkRows(0, chunkSize);
    const sizes = [0, 1, first - 1, first, first + 1, 5000];
    for (const n of sizes) {
      it(`${n} rows with chunkSize ${chunkSize ?? 'adaptive'}: all of them, in order, in ${expectedChunks(n, chunkSize).length} round trip(s)`, async () => {
        resetTrips();
        expect(await collect(db, n, chunkSize)).toEqual(inOrder(n));
        const chunks = expectedChunks(n, chunkSize);
        // A chunk steps one row past its last: a result that ends with a chunk needs no IterateEnd
        // and no empty chunk after it; nothing is pinned with a Pin request.
        expect(trips()).toEqual([Op.IterateStart, ...chunks.slice(1).map(() => Op.IterateNext)]);
        expect(submitted.filter((s) => s.op === Op.IterateStart || s.op === Op.IterateNext).map((s) => s.chunkRows)).toEqual(chunks);
        expect(db.stats().readers.pinned).toBe(0);
      });
    }
  }

  it('the adaptive sizes are 256, 512, then 1024 rows a chunk', () => {
    expect([0, 1, 2, 3, 10].map((k) => chunkRows(k, undefined))).toEqual([256, 512, 1024, 1024, 1024]);
    expect([0, 1, 5].map((k) => chunkRows(k, 7))).toEqual([7, 7, 7]);
  });

  it('a chunk ends at ITERATE_CHUNK_BYTES of row data, below its row count', async () => {
    const text = 'x'.repeat(100_000);
    await db.exec('CREATE TABLE wide (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    for (let i = 1; i <= 50; i++) await db.run('INSERT INTO wide (id, v) VALUES (?, ?)', [i, text]);
    // Two cells of 16 bytes and the text: the row that reaches the bound is the chunk's last.
    const perChunk = Math.ceil(ITERATE_CHUNK_BYTES / (2 * 16 + text.length));
    resetTrips();
    const ids: number[] = [];
    for await (const row of db.iterate<{ id: number; v: string }>('SELECT id, v FROM wide ORDER BY id')) {
      expect(row.v.length).toBe(text.length);
      ids.push(row.id);
    }
    expect(ids).toEqual(inOrder(50));
    expect(trips().length).toBe(Math.ceil(50 / perChunk));
    expect(db.stats().readers.pinned).toBe(0);
  });

  it('the event loop gets a turn at least every TURN_ROWS rows, however large the chunk', async () => {
    const fired: number[] = [];
    let seen = 0;
    for await (const _ of db.iterate('SELECT id FROM big ORDER BY id')) {
      seen++;
      // Row 800 sits in the third chunk (rows 769 to 1,792): its callback runs within TURN_ROWS rows.
      if (seen === 1 || seen === 800) setImmediate(() => fired.push(seen));
    }
    expect(seen).toBe(5000);
    expect(fired.length).toBe(2);
    expect(fired[0]).toBeLessThanOrEqual(TURN_ROWS);
    expect(fired[1]).toBeLessThanOrEqual(768 + TURN_ROWS + 1);
  });

  it('reads at most one chunk ahead of a consumer that stops pulling', async () => {
    const iterator = db.iterate<{ id: number }>('SELECT id FROM big ORDER BY id', [], { chunkSize: 10 });
    resetTrips();
    expect((await iterator.next()).value).toEqual({ id: 1 });
    // Let everything in flight arrive: plain reads go through the other reader meanwhile.
    for (let i = 0; i < 20; i++) expect(await db.get('SELECT 1 AS one')).toEqual({ one: 1 });
    expect(trips()).toEqual([Op.IterateStart, Op.IterateNext]);
    expect(db.stats().readers.pinned).toBe(1);
    // Taking the rest of the first chunk asks for nothing more; its last row's pull asks for one.
    for (let i = 2; i <= 10; i++) expect((await iterator.next()).value).toEqual({ id: i });
    expect(trips()).toEqual([Op.IterateStart, Op.IterateNext]);
    expect((await iterator.next()).value).toEqual({ id: 11 });
    expect(trips()).toEqual([Op.IterateStart, Op.IterateNext, Op.IterateNext]);
    await iterator.return(undefined);
    expect(trips()).toEqual([Op.IterateStart, Op.IterateNext, Op.IterateNext, Op.IterateEnd]);
    expect(db.stats().readers.pinned).toBe(0);
  });

  it('break after 5 rows of a long result ends the statement once and frees the reader', async () => {
    resetTrips();
    const seen: number[] = [];
    for await (const row of db.iterate<{ id: number }>('SELECT id FROM big ORDER BY id')) {
      seen.push(row.id);
      if (seen.length === 5) break;
    }
    expect(seen).toEqual(inOrder(5));
    expect(trips().filter((op) => op === Op.IterateEnd)).toEqual([Op.IterateEnd]);
    expect(trips().at(-1)).toBe(Op.IterateEnd);
    expect(db.stats().readers.pinned).toBe(0);
    // The one pinnable reader (readers: 2) is free for a lease at once.
    const lease = await db.acquire({ timeout: 1000 });
    await lease.release();
  });

  it('break inside a result that fit its first chunk sends nothing more', async () => {
    resetTrips();
    for await (const row of db.iterate<{ id: number }>('SELECT id FROM big WHERE id <= 100 ORDER BY id')) {
      if (row.id === 3) break;
    }
    expect(trips()).toEqual([Op.IterateStart]);
    expect(db.stats().readers.pinned).toBe(0);
  });

  it('aborting mid-stream rejects with the reason, hands out no row fetched after it, and frees the reader', async () => {
    const controller = new AbortController();
    const reason = new Error('enough');
    const seen: number[] = [];
    resetTrips();
    const consume = async () => {
      for await (const row of db.iterate<{ id: number }>('SELECT id FROM big ORDER BY id', [], { chunkSize: 10, signal: controller.signal })) {
        seen.push(row.id);
        if (row.id === 25) controller.abort(reason);
      }
    };
    await expect(consume()).rejects.toBe(reason);
    // The chunk in hand (rows 21-30) may still be handed out; nothing past it.
    expect(seen.length).toBeGreaterThanOrEqual(25);
    expect(seen.length).toBeLessThanOrEqual(30);
    expect(seen).toEqual(inOrder(seen.length));
    expect(trips().filter((op) => op === Op.IterateEnd).length).toBe(1);
    expect(db.stats().readers.pinned).toBe(0);
    const lease = await db.acquire({ timeout: 1000 });
    await lease.release();
  });

  it('plain reads keep flowing while an iteration holds a reader; a lease waits for the pin', async () => {
    const iterator = db.iterate('SELECT id FROM big ORDER BY id');
    await iterator.next();
    expect(db.stats().readers.pinned).toBe(1);
    expect(await db.all('SELECT id FROM big WHERE id <= 3 ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    await expect(db.acquire({ timeout: 50 })).rejects.toMatchObject({ code: 'LITEPOOL_ACQUIRE_TIMEOUT' });
    await iterator.return(undefined);
    const lease = await db.acquire({ timeout: 1000 });
    await lease.release();
  });

  it('a write statement is refused with SQLITE_READONLY and holds nothing', async () => {
    const attempt = async () => {
      for await (const _ of db.iterate("INSERT INTO big (v) VALUES ('x') RETURNING id")) void _;
    };
    await expect(attempt()).rejects.toSatisfy((error: unknown) => error instanceof SqliteError && error.code === 'SQLITE_READONLY');
    expect(await db.get<{ n: number }>('SELECT count(*) AS n FROM big')).toEqual({ n: 5000 });
    expect(db.stats().readers.pinned).toBe(0);
    const lease = await db.acquire({ timeout: 1000 });
    await lease.release();
  });

  it('an integer a JS number cannot hold fails the iteration, in its first chunk or a later one, and holds nothing', async () => {
    for (const at of [1, 700]) {
      const seen: number[] = [];
      const attempt = async () => {
        const sql = 'SELECT id, CASE WHEN id = ? THEN 1152921504606846976 ELSE 0 END AS n FROM big ORDER BY id';
        for await (const row of db.iterate<{ id: number }>(sql, [at])) seen.push(row.id);
      };
      await expect(attempt()).rejects.toMatchObject({ code: 'LITEPOOL_INTEGER_OVERFLOW' });
      expect(seen.length).toBeLessThan(at);
      expect(db.stats().readers.pinned).toBe(0);
      const lease = await db.acquire({ timeout: 1000 });
      await lease.release();
    }
  });

  it("rowMode 'array' and an observer see every chunk: one iterate event with every row", async () => {
    const events: QueryEvent[] = [];
    const stop = db.observe({ onQuery: (e) => events.push(e) });
    try {
      const rows: unknown[] = [];
      for await (const row of db.iterate('SELECT id, v FROM big WHERE id <= 2000 ORDER BY id', [], { rowMode: 'array' })) rows.push(row);
      expect(rows.length).toBe(2000);
      expect(rows[0]).toEqual([1, 'row-1']);
      expect(rows[1999]).toEqual([2000, 'row-2000']);
    } finally {
      stop();
    }
    expect(events.filter((e) => e.operation === 'iterate').map((e) => [e.rows, e.role, e.inTransaction])).toEqual([[2000, 'reader', false]]);
  });

  it('close() with an iteration holding a reader resolves; the iteration then rejects with PoolClosedError', async () => {
    const pool = await pools.open({ readers: 2 });
    await fill(pool, 3000);
    const iterator = pool.iterate<{ id: number }>('SELECT id FROM big ORDER BY id', [], { chunkSize: 10 });
    expect((await iterator.next()).value).toEqual({ id: 1 });
    await pool.close();
    const rest = async () => {
      for (;;) if ((await iterator.next()).done) return;
    };
    await expect(rest()).rejects.toBeInstanceOf(PoolClosedError);
  });
});

describe('iterate() with safeIntegers', () => {
  it('yields bigints in every chunk', async () => {
    const db = await pools.open({ readers: 2, safeIntegers: true });
    await fill(db, 600);
    const ids: bigint[] = [];
    for await (const row of db.iterate<{ id: bigint }>('SELECT id FROM big ORDER BY id')) ids.push(row.id);
    expect(ids.length).toBe(600);
    expect(ids.every((id, i) => id === BigInt(i + 1))).toBe(true);
  });
});

describe("a lease's iteration", () => {
  it('fetches on demand with the same rule: a result that ends with its first chunk takes one round trip', async () => {
    const db = await pools.open({ readers: 2 });
    await fill(db, 100);
    const lease = await db.acquire();
    try {
      resetTrips();
      const ids: number[] = [];
      for await (const row of lease.iterate<{ id: number }>('SELECT id FROM big ORDER BY id', [], { chunkSize: 100 })) ids.push(row.id);
      expect(ids).toEqual(inOrder(100));
      expect(trips()).toEqual([Op.IterateStart]);
      resetTrips();
      const first = lease.iterate<{ id: number }>('SELECT id FROM big ORDER BY id', [], { chunkSize: 10 });
      expect((await first.next()).value).toEqual({ id: 1 });
      // No read-ahead on a lease: its other operations share the connection.
      expect(await lease.get('SELECT 1 AS one')).toEqual({ one: 1 });
      expect(trips()).toEqual([Op.IterateStart]);
      await first.return(undefined);
      expect(trips()).toEqual([Op.IterateStart, Op.IterateEnd]);
      // An open iteration keeps its statement to itself: the same SQL run meanwhile on the same
      // connection, and iterated again after, each see their own rows.
      const sql = 'SELECT id FROM big WHERE id > ? ORDER BY id';
      const open = lease.iterate<{ id: number }>(sql, [10], { chunkSize: 5 });
      const seen: number[] = [];
      for (let i = 0; i < 7; i++) seen.push((await open.next()).value!.id);
      expect((await lease.all<{ id: number }>(sql, [95])).map((r) => r.id)).toEqual([96, 97, 98, 99, 100]);
      for await (const row of open) seen.push(row.id);
      expect(seen).toEqual(Array.from({ length: 90 }, (_, i) => i + 11));
      const again: number[] = [];
      for await (const row of lease.iterate<{ id: number }>(sql, [97])) again.push(row.id);
      expect(again).toEqual([98, 99, 100]);
    } finally {
      await lease.release();
    }
  });
});

describe('the options of db.iterate() are read once', () => {
  /** Options whose getters answer a valid value first and an invalid one after, counting reads. */
  function shiftingOptions(): { options: object; reads: Record<string, number> } {
    const reads: Record<string, number> = { chunkSize: 0, rowMode: 0, timeout: 0 };
    const answers: Record<string, unknown[]> = { chunkSize: [7, 0], rowMode: ['array', 'bogus'], timeout: [5000, -1] };
    const options = {};
    for (const key of Object.keys(answers)) {
      Object.defineProperty(options, key, { enumerable: true, get: () => answers[key]![Math.min(reads[key]!++, 1)] });
    }
    return { options, reads };
  }

  for (const readers of [2, 0]) {
    it(`a getter answering a valid value, then an invalid one, runs with the value checked (readers: ${readers})`, async () => {
      const db = await pools.open({ readers });
      await fill(db, 20);
      const { options, reads } = shiftingOptions();
      resetTrips();
      const rows: unknown[] = [];
      for await (const row of db.iterate('SELECT id FROM big ORDER BY id', [], options as never)) rows.push(row);
      // rowMode 'array' and chunks of 7, as first read; each getter read exactly once.
      expect(rows).toEqual(inOrder(20).map((id) => [id]));
      expect(submitted.filter((s) => s.op === Op.IterateStart || s.op === Op.IterateNext).map((s) => s.chunkRows)).toEqual([7, 7, 7]);
      expect(reads).toEqual({ chunkSize: 1, rowMode: 1, timeout: 1 });
    });
  }
});
