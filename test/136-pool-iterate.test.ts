// db.iterate() holds a connection only while rows remain. On a pool without readers (':memory:',
// readers: 0) it holds the writer: a result that fits its first chunk gives it back before its
// rows are handed out, and a longer one at its last chunk, so pool operations in the loop body run
// (they used to wait for ever); with rows left they wait for the iteration, bounded by
// maxReadDuration (TransactionTimeoutError on the next pull), as with one reader. With readers,
// the pin goes back at the last chunk too. The first next() is bounded by the caller's timeout
// (OperationTimeoutError, as get's) while it waits for a connection, and a first chunk never sent
// (aborted, timed out, acquireTimeout) counts in stats().operations. close() while the first chunk
// is on its way leaves no maxReadDuration timer armed, nor the iteration among the pool's.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { AcquireTimeoutError, OperationTimeoutError, PoolClosedError, SqliteError, TransactionTimeoutError, type Pool, type PoolOptions } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection, settleOrReport } from './helpers/waits.ts';

const pools = tempPools('pool-iterate');

const SERIES = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT x FROM c';

async function filled(options: PoolOptions, rows: number, memory = false): Promise<Pool> {
  const db = memory ? await pools.openAt(':memory:', options) : await pools.open(options);
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)');
  await db.run(`INSERT INTO t (id, v) SELECT x, 0 FROM (${SERIES})`, [rows]);
  return db;
}

/** Runs `loop`; a loop that never ends shows up as 'pending' (after a watchdog) instead of hanging the file. */
async function outcome<T>(loop: Promise<T>): Promise<PromiseSettledResult<T> | { status: 'pending' }> {
  return (await settleOrReport([loop], 15_000))[0]!;
}

const withoutReaders: [string, PoolOptions, boolean][] = [
  [':memory:', {}, true],
  ['readers: 0', { readers: 0 }, false],
];

describe.each(withoutReaders)('db.iterate() without readers (%s)', (_name, options, memory) => {
  it('a result that fits the first chunk gives the writer back before the loop body runs: db.run and db.get in it finish', async () => {
    const db = await filled(options, 3, memory);
    const held: boolean[] = [];
    const loop = (async () => {
      for await (const row of db.iterate<{ id: number }>('SELECT id FROM t ORDER BY id')) {
        held.push(db.stats().writer.held);
        await db.run('UPDATE t SET v = v + 10 WHERE id = ?', [row.id]);
        expect(await db.get('SELECT v FROM t WHERE id = ?', [row.id])).toEqual({ v: 10 });
      }
      return 'done';
    })();
    expect(await outcome(loop)).toEqual({ status: 'fulfilled', value: 'done' });
    expect(held).toEqual([false, false, false]);
    expect(await db.get('SELECT sum(v) AS s FROM t')).toEqual({ s: 30 });
  });

  it('a longer result holds the writer while rows remain and gives it back when its last chunk arrives', async () => {
    const db = await filled(options, 300, memory);
    const heldAt = new Map<number, boolean>();
    const loop = (async () => {
      for await (const row of db.iterate<{ id: number }>('SELECT id FROM t ORDER BY id', [], { chunkSize: 100 })) {
        heldAt.set(row.id, db.stats().writer.held);
        // The last chunk (rows 201 to 300) is in hand: the writer serves the loop body.
        if (row.id > 200) await db.run('UPDATE t SET v = 1 WHERE id = ?', [row.id]);
      }
      return 'done';
    })();
    expect(await outcome(loop)).toEqual({ status: 'fulfilled', value: 'done' });
    expect(heldAt.get(1)).toBe(true);
    expect([...heldAt].filter(([id, held]) => id > 200 && held)).toEqual([]);
    expect(await db.get('SELECT count(*) AS n FROM t WHERE v = 1')).toEqual({ n: 100 });
    expect(db.stats().writer.held).toBe(false);
  });

  it('with rows left, a db.run in the loop body waits for the iteration: maxReadDuration ends it, and the next pull says so', async () => {
    const db = await filled({ ...options, maxReadDuration: 300 }, 1000, memory);
    let ran = 0;
    const loop = (async () => {
      for await (const row of db.iterate<{ id: number }>('SELECT id FROM t ORDER BY id', [], { chunkSize: 100 })) {
        await db.run('UPDATE t SET v = 1 WHERE id = ?', [row.id]);
        ran++;
      }
      return 'done';
    })();
    const settled = await outcome(loop);
    expect(settled.status).toBe('rejected');
    const error = (settled as PromiseRejectedResult).reason;
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect(error.code).toBe('LITEPOOL_TRANSACTION_TIMEOUT');
    expect(error.message).toMatch(/held the writer/);
    // The writes waiting for the writer ran once it was let go; the rows fetched before were handed out.
    expect(ran).toBeGreaterThanOrEqual(1);
    expect(ran).toBeLessThan(1000);
    expect(await db.get('SELECT count(*) AS n FROM t WHERE v = 1')).toEqual({ n: ran });
    expect(db.stats().writer.held).toBe(false);
  });

  it('still refuses a statement that writes, and leaves the writer writable', async () => {
    const db = await filled(options, 3, memory);
    const error = await rejection(db.iterate('UPDATE t SET v = 5 RETURNING id').next());
    expect(error).toBeInstanceOf(SqliteError);
    expect(error.code).toMatch(/^SQLITE_READONLY/);
    expect(await db.get('SELECT count(*) AS n FROM t WHERE v = 5')).toEqual({ n: 0 });
    expect(await db.run('UPDATE t SET v = 6 WHERE id = 1')).toMatchObject({ changes: 1 });
    expect(db.stats().writer.held).toBe(false);
  });

  it('close() ends an iteration holding the writer: its next pull rejects with PoolClosedError', async () => {
    const db = await filled(options, 1000, memory);
    const iterator = db.iterate<{ id: number }>('SELECT id FROM t ORDER BY id', [], { chunkSize: 100 });
    expect((await iterator.next()).value).toEqual({ id: 1 });
    expect(db.stats().writer.held).toBe(true);
    await db.close();
    // The chunk read ahead may still be handed out; nothing after it.
    let error: unknown;
    try {
      for (let result = await iterator.next(); !result.done; result = await iterator.next());
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PoolClosedError);
  });
});

describe('db.iterate() with one reader', () => {
  it('with rows left, a db.get in the loop body waits for the only reader: maxReadDuration ends the iteration', async () => {
    const db = await filled({ readers: 1, maxReadDuration: 300 }, 1000);
    const loop = (async () => {
      for await (const row of db.iterate<{ id: number }>('SELECT id FROM t ORDER BY id', [], { chunkSize: 100 })) await db.get('SELECT ? AS id', [row.id]);
    })();
    const settled = await outcome(loop);
    expect(settled.status).toBe('rejected');
    expect((settled as PromiseRejectedResult).reason).toBeInstanceOf(TransactionTimeoutError);
  });
});

describe('db.iterate() with readers: its pin goes back at the last chunk', () => {
  it('a lease asked for in the loop body, on the last chunk\'s rows, gets the pin the iteration held', async () => {
    // Two readers: one pin, taken by the iteration.
    const db = await filled({ readers: 2, acquireTimeout: 2000 }, 300);
    const leased: number[] = [];
    const loop = (async () => {
      for await (const row of db.iterate<{ id: number }>('SELECT id FROM t ORDER BY id', [], { chunkSize: 100 })) {
        if (row.id === 250) {
          const lease = await db.acquire();
          leased.push(row.id);
          await lease.release();
        }
      }
      return 'done';
    })();
    expect(await outcome(loop)).toEqual({ status: 'fulfilled', value: 'done' });
    expect(leased).toEqual([250]);
  });
});

describe('the first next(): its timeout bounds the wait for a connection', () => {
  for (const readers of [1, 2, 0]) {
    it(`rejects with OperationTimeoutError, as get's does, with every pin leased (readers: ${readers})`, async () => {
      // acquireTimeout far beyond the watchdog: only the iteration's own timeout can end the wait.
      const db = await filled({ readers, acquireTimeout: 120_000 }, 1000);
      const lease = await db.acquire();
      try {
        const before = db.stats().operations;
        const [result] = await settleOrReport([db.iterate('SELECT id FROM t', [], { timeout: 100 }).next()], 15_000);
        expect(result!.status).toBe('rejected');
        const error = (result as PromiseRejectedResult).reason;
        expect(error).toBeInstanceOf(OperationTimeoutError);
        expect(error.code).toBe('LITEPOOL_OPERATION_TIMEOUT');
        expect(error.timeout).toBe(100);
        const after = db.stats().operations;
        expect(after.cancelled - before.cancelled).toBe(1);
        // Once, though readers: 2 ran its first chunk without a pin first: the operation is one.
        expect(after.started - before.started).toBe(1);
        expect(after.completed - before.completed).toBe(0);
        if (readers === 1) {
          // The same wait, for a get: the same error.
          const got = await rejection(db.get('SELECT 1', [], { timeout: 100 }));
          expect(got).toBeInstanceOf(OperationTimeoutError);
          expect(got.code).toBe(error.code);
        }
      } finally {
        await lease.release();
      }
      expect(db.stats().leasesWaiting).toBe(0);
    });
  }
});

describe('stats().operations counts a first chunk that never got sent', () => {
  for (const readers of [1, 0]) {
    it(`aborted while waiting for a connection: cancelled (readers: ${readers})`, async () => {
      const db = await filled({ readers, acquireTimeout: 120_000 }, 10);
      const lease = await db.acquire();
      try {
        const before = db.stats().operations;
        const controller = new AbortController();
        const reason = new Error('gave up');
        const pending = db.iterate('SELECT id FROM t', [], { signal: controller.signal }).next();
        setTimeout(() => controller.abort(reason), 20);
        expect(await rejection(pending)).toBe(reason);
        const after = db.stats().operations;
        expect(after.started - before.started).toBe(1);
        expect(after.cancelled - before.cancelled).toBe(1);
        expect(after.failed - before.failed).toBe(0);
        // A signal that had aborted before the call counts the same way, as get's does.
        await rejection(db.iterate('SELECT id FROM t', [], { signal: AbortSignal.abort(reason) }).next());
        await rejection(db.get('SELECT 1', [], { signal: AbortSignal.abort(reason) }));
        const last = db.stats().operations;
        expect(last.started - after.started).toBe(2);
        expect(last.cancelled - after.cancelled).toBe(2);
      } finally {
        await lease.release();
      }
    });

    it(`past acquireTimeout: failed (readers: ${readers})`, async () => {
      const db = await filled({ readers, acquireTimeout: 50 }, 10);
      const lease = await db.acquire();
      try {
        const before = db.stats().operations;
        expect(await rejection(db.iterate('SELECT id FROM t').next())).toBeInstanceOf(AcquireTimeoutError);
        const after = db.stats().operations;
        expect(after.started - before.started).toBe(1);
        expect(after.failed - before.failed).toBe(1);
        expect(after.cancelled - before.cancelled).toBe(0);
      } finally {
        await lease.release();
      }
    });
  }
});

describe('close() while the first chunk is on its way', () => {
  // gc() in this process (vitest does not start it with --expose-gc).
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;

  async function collected(ref: WeakRef<object>): Promise<boolean> {
    for (let i = 0; i < 20 && ref.deref() !== undefined; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    return ref.deref() === undefined;
  }

  // (return() would wait for the first chunk: an async generator runs one call at a time.)
  it('close(): neither a maxReadDuration timer nor the closed pool keeps the iteration reachable', async () => {
    const db = await filled({ readers: 2, maxReadDuration: 600_000 }, 2000);
    const ref = await (async () => {
      // The iteration keeps its caller's signal: reachable as long as the iteration is.
      const signal = new AbortController().signal;
      const iterator = db.iterate('SELECT id FROM t ORDER BY id', [], { signal });
      await Promise.allSettled([iterator.next(), db.close()]);
      return new WeakRef(signal);
    })();
    expect(await collected(ref)).toBe(true);
  });
});
