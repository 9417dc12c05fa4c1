// db.iterate() while every pinnable reader is taken (readers: 2, so one pin, held here by a
// lease): a result that fits the first chunk comes back at once, in one round trip, without
// waiting for the lease (its first chunk runs with RequestFlag.FirstChunkOnly); a longer one
// waits for a pin like acquire() (acquireTimeout), then starts over holding a reader and hands out
// every row once, in order; observers count only the rows handed out.
import { beforeEach, describe, expect, it } from 'vitest';
import { AcquireTimeoutError, type Pool, type QueryEvent } from '../lib/index.ts';
import { Op, RequestFlag } from '../lib/native/contract.ts';
import { tempPools } from './helpers/pools.ts';
import { recordSubmits } from './helpers/submits.ts';

const pools = tempPools('iterate-without-pin');
const submitted = recordSubmits();

/** The IterateStart submits since the last reset, as 'hold' or 'end' (which flag each carried). */
function starts(): string[] {
  return submitted
    .filter((s) => s.op === Op.IterateStart)
    .map((s) => (s.flags & RequestFlag.HoldReader ? 'hold' : s.flags & RequestFlag.FirstChunkOnly ? 'end' : 'neither'));
}

async function ids(db: Pool, n: number): Promise<number[]> {
  const out: number[] = [];
  for await (const row of db.iterate<{ id: number }>('SELECT id FROM big WHERE id <= ? ORDER BY id', [n])) out.push(row.id);
  return out;
}

const inOrder = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('db.iterate() with every pinnable reader taken', () => {
  let db: Pool;
  beforeEach(async () => {
    db = await pools.open({ readers: 2, acquireTimeout: 300 });
    await db.exec('CREATE TABLE big (id INTEGER PRIMARY KEY)');
    await db.run('INSERT INTO big (id) SELECT value FROM generate_series(1, 2000)').catch(async () => {
      // Without the series extension: a recursive CTE.
      await db.run('INSERT INTO big (id) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) SELECT x FROM c');
    });
    submitted.length = 0;
  });

  it('a result that fits the first chunk comes back without waiting for the lease', async () => {
    const lease = await db.acquire();
    submitted.length = 0;
    try {
      expect(db.stats().readers.pinned).toBe(1);
      // acquireTimeout is 300 ms: had it waited for a pin, it would reject with AcquireTimeoutError.
      expect(await ids(db, 100)).toEqual(inOrder(100));
      expect(await ids(db, 0)).toEqual([]);
      expect(starts()).toEqual(['end', 'end']);
      expect(submitted.filter((s) => s.op === Op.IterateNext || s.op === Op.IterateEnd || s.op === Op.Pin)).toEqual([]);
      expect(db.stats().readers.pinned).toBe(1);
      // The lease's own reader and the shared one both still answer.
      expect(await lease.get('SELECT count(*) AS n FROM big')).toEqual({ n: 2000 });
      expect(await db.get('SELECT count(*) AS n FROM big')).toEqual({ n: 2000 });
    } finally {
      await lease.release();
    }
    // With the pin free again, a first chunk may hold its reader.
    submitted.length = 0;
    expect(await ids(db, 100)).toEqual(inOrder(100));
    expect(starts()).toEqual(['hold']);
  });

  it('a longer result waits for a pin (acquireTimeout) and leaves nothing held', async () => {
    const lease = await db.acquire();
    try {
      await expect(ids(db, 2000)).rejects.toBeInstanceOf(AcquireTimeoutError);
      expect(starts()).toEqual(['end']);
      expect(db.stats().readers.pinned).toBe(1);
      // The shared reader that ran the first chunk ended its statement: it holds no old snapshot
      // and sees a row written since.
      await db.run('INSERT INTO big (id) VALUES (2001)');
      for (let i = 0; i < 5; i++) expect(await db.get('SELECT count(*) AS n FROM big')).toEqual({ n: 2001 });
    } finally {
      await lease.release();
    }
    expect(db.stats().readers.pinned).toBe(0);
    const again = await db.acquire({ timeout: 1000 });
    await again.release();
  });

  it('a longer result starts over once the lease ends and hands out every row once, in order', async () => {
    const events: QueryEvent[] = [];
    db.observe({ onQuery: (e) => events.push(e) });
    const lease = await db.acquire();
    const rows = ids(db, 2000);
    // The first chunk runs without a pin and comes back with rows left: the iteration then
    // waits for a pin (nothing else is submitted until the lease ends).
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(starts()).toEqual(['end']);
    await lease.release();
    expect(await rows).toEqual(inOrder(2000));
    expect(starts()).toEqual(['end', 'hold']);
    const iteration = events.filter((e) => e.operation === 'iterate');
    expect(iteration).toHaveLength(1);
    expect(iteration[0]!.rows).toBe(2000);
    // Its wait for the reader counts as queued (the lease was held 200 ms after the call).
    expect(iteration[0]!.queuedMs).toBeGreaterThanOrEqual(100);
    expect(db.stats().readers.pinned).toBe(0);
  });

  it('an aborted signal is refused before anything is submitted', async () => {
    const lease = await db.acquire();
    try {
      const reason = new Error('stop');
      const iterator = db.iterate('SELECT id FROM big', [], { signal: AbortSignal.abort(reason) });
      await expect(iterator.next()).rejects.toBe(reason);
      expect(starts()).toEqual([]);
    } finally {
      await lease.release();
    }
  });
});

describe('db.iterate() in a pool of one reader, pinned by a lease', () => {
  it('waits for the reader like acquire(): bounded by acquireTimeout and by its signal', async () => {
    const db = await pools.open({ readers: 1, acquireTimeout: 300 });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t (id) VALUES (1), (2), (3)');
    const lease = await db.acquire();
    submitted.length = 0;
    try {
      // No reader serves the shared ring while the only one is leased: nothing is submitted.
      await expect(db.iterate('SELECT id FROM t').next()).rejects.toBeInstanceOf(AcquireTimeoutError);
      const controller = new AbortController();
      const reason = new Error('gave up');
      const pending = db.iterate('SELECT id FROM t', [], { signal: controller.signal }).next();
      setTimeout(() => controller.abort(reason), 20);
      await expect(pending).rejects.toBe(reason);
      expect(starts()).toEqual([]);
    } finally {
      await lease.release();
    }
    const all: unknown[] = [];
    for await (const row of db.iterate('SELECT id FROM t ORDER BY id')) all.push(row);
    expect(all).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(starts()).toEqual(['hold']);
  });
});
