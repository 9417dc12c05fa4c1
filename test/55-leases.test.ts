// Covers connections pinned to one user: db.read() snapshots (one consistent view, ended after
// maxReadDuration), read leases from db.acquire() (reads and iteration work, writes are refused
// with SQLITE_READONLY, release is idempotent, Symbol.asyncDispose releases, use after release is
// refused), write leases (a transaction left open is rolled back on release; outside writes wait
// for the release), lease capacity (readers - 1, AcquireTimeoutError beyond it, waiters granted
// on release), db.iterate() streaming (all rows in order; break, return and throw free the
// reader at once; rowMode 'array'), stats().writer.held, and close() with a lease still held.
import { beforeEach, describe, expect, it } from 'vitest';
import { AcquireTimeoutError, PoolClosedError, ScopeEndedError, SqliteError, TransactionTimeoutError, open, type Lease, type Pool } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { sleep, track } from './helpers/waits.ts';

const pools = tempPools('leases');
let db: Pool;

beforeEach(async () => {
  db = await pools.fresh({ readers: 3 });
});

async function count(pool: Pool = db): Promise<number> {
  return (await pool.get<{ n: number }>('SELECT count(*) AS n FROM t'))!.n;
}

const isSqlite = (code: string) => (error: unknown) => error instanceof SqliteError && error.code === code;

async function fillBig(pool: Pool, rows: number): Promise<void> {
  await pool.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  await pool.run(
    `INSERT INTO big (id, v)
     SELECT x, 'row-' || x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT x FROM c)`,
    [rows],
  );
}

describe('db.read() snapshots', () => {
  it('sees one snapshot: a row committed meanwhile stays invisible until the snapshot ends', async () => {
    await db.run("INSERT INTO t (v) VALUES ('a')");
    const counts = await db.read(async (conn) => {
      const before = (await conn.get<{ n: number }>('SELECT count(*) AS n FROM t'))!.n;
      await db.run("INSERT INTO t (v) VALUES ('b')");
      // The write is committed: other readers see it.
      expect(await count()).toBe(2);
      const after = (await conn.get<{ n: number }>('SELECT count(*) AS n FROM t'))!.n;
      const rows = await conn.all('SELECT v FROM t ORDER BY id');
      return { before, after, rows };
    });
    expect(counts).toEqual({ before: 1, after: 1, rows: [{ v: 'a' }] });
    expect(await count()).toBe(2);
    expect(db.stats().readers.pinned).toBe(0);
  });

  it('rethrows what the callback throws and frees the reader', async () => {
    const failure = new Error('read failed');
    await expect(db.read(() => Promise.reject(failure))).rejects.toBe(failure);
    expect(db.stats().readers.pinned).toBe(0);
  });

  it('past maxReadDuration it rejects with TransactionTimeoutError and the reader is free again', async () => {
    const pool = await pools.fresh({ readers: 2, maxReadDuration: 100 });
    let late: Promise<unknown> | undefined;
    const result = pool.read(async (conn) => {
      await conn.get('SELECT count(*) FROM t');
      await sleep(300);
      late = conn.get('SELECT count(*) FROM t');
      late.catch(() => undefined);
    });
    await expect(result).rejects.toSatisfy(
      (error: unknown) => error instanceof TransactionTimeoutError && (error as TransactionTimeoutError).code === 'LITEPOOL_TRANSACTION_TIMEOUT',
    );
    expect(pool.stats().readers.pinned).toBe(0);
    expect(await count(pool)).toBe(0);
    // The pinned capacity is back: a lease can be taken at once.
    const lease = await pool.acquire({ timeout: 1000 });
    await lease.release();
    await sleep(300);
    await expect(late).rejects.toBeInstanceOf(ScopeEndedError);
  });
});

describe('read leases', () => {
  it('get, all and iterate work on a read lease', async () => {
    await db.run("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')");
    const lease = await db.acquire();
    try {
      expect(lease.write).toBe(false);
      expect(db.stats().readers.pinned).toBe(1);
      expect(await lease.get('SELECT v FROM t WHERE id = ?', [2])).toEqual({ v: 'b' });
      expect(await lease.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'a' }, { v: 'b' }, { v: 'c' }]);
      const streamed: unknown[] = [];
      for await (const row of lease.iterate('SELECT id FROM t ORDER BY id', [], { chunkSize: 2 })) streamed.push(row);
      expect(streamed).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    } finally {
      await lease.release();
    }
    expect(db.stats().readers.pinned).toBe(0);
  });

  it('write statements on a read lease reject with SQLITE_READONLY; the lease stays usable', async () => {
    const lease = await db.acquire();
    try {
      await expect(lease.run("INSERT INTO t (v) VALUES ('x')")).rejects.toSatisfy(isSqlite('SQLITE_READONLY'));
      await expect(lease.get("INSERT INTO t (v) VALUES ('x') RETURNING id")).rejects.toSatisfy(isSqlite('SQLITE_READONLY'));
      await expect(lease.exec("INSERT INTO t (v) VALUES ('x')")).rejects.toSatisfy(isSqlite('SQLITE_READONLY'));
      expect(await lease.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    } finally {
      await lease.release();
    }
    expect(await count()).toBe(0);
  });

  it('concurrent operations on one read lease each get their own result', async () => {
    await fillBig(db, 100);
    const lease = await db.acquire();
    try {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => lease.get('SELECT id, v FROM big WHERE id = ?', [i + 1])));
      expect(results).toEqual(Array.from({ length: 50 }, (_, i) => ({ id: i + 1, v: `row-${i + 1}` })));
    } finally {
      await lease.release();
    }
  });

  it('two iterations open at once on one lease never mix up their rows', async () => {
    await fillBig(db, 6);
    const lease = await db.acquire();
    try {
      const first = lease.iterate<Record<string, unknown>>('SELECT v FROM big ORDER BY id', [], { chunkSize: 1 });
      const second = lease.iterate<Record<string, unknown>>('SELECT id FROM big ORDER BY id DESC', [], { chunkSize: 1 });
      const expected = {
        first: Array.from({ length: 6 }, (_, i) => ({ v: `row-${i + 1}` })),
        second: Array.from({ length: 6 }, (_, i) => ({ id: 6 - i })),
      };
      const seen: { first: unknown[]; second: unknown[] } = { first: [], second: [] };
      const failed: { first: unknown; second: unknown } = { first: undefined, second: undefined };
      const done = { first: false, second: false };
      while (!(done.first && done.second)) {
        for (const [name, iterator] of [['first', first], ['second', second]] as const) {
          if (done[name]) continue;
          try {
            const step = await iterator.next();
            if (step.done) done[name] = true;
            else seen[name].push(step.value);
          } catch (error) {
            failed[name] = error;
            done[name] = true;
          }
        }
      }
      // Each iteration yields its own rows. One may be refused as a second iteration at once on
      // the connection (LITEPOOL_MISUSE), having yielded a prefix of its own result; at least one
      // runs to the end.
      const isMisuse = (error: unknown) => error instanceof RangeError && (error as RangeError & { code?: string }).code === 'LITEPOOL_MISUSE';
      expect(failed.first === undefined || failed.second === undefined, 'at least one iteration completes').toBe(true);
      for (const name of ['first', 'second'] as const) {
        if (failed[name] === undefined) expect(seen[name], name).toEqual(expected[name]);
        else {
          expect(failed[name], name).toSatisfy(isMisuse);
          expect(seen[name], name).toEqual(expected[name].slice(0, seen[name].length));
        }
      }
    } finally {
      await lease.release();
    }
  });

  it('release() twice is fine, and every call after release rejects with ScopeEndedError', async () => {
    const lease = await db.acquire();
    const first = lease.release();
    const second = lease.release();
    await first;
    await second;
    await lease.release();
    expect(lease.ended).toBe(true);
    expect(db.stats().readers.pinned).toBe(0);
    const attempts = [lease.get('SELECT 1'), lease.all('SELECT 1'), lease.run('SELECT 1'), lease.exec('SELECT 1'), lease.iterate('SELECT 1').next()];
    for (const attempt of attempts) attempt.catch(() => undefined);
    for (const attempt of attempts) {
      await expect(attempt).rejects.toSatisfy(
        (error: unknown) => error instanceof ScopeEndedError && (error as ScopeEndedError).code === 'LITEPOOL_SCOPE_ENDED',
      );
    }
  });

  it('[Symbol.asyncDispose]() releases the lease', async () => {
    const lease = await db.acquire();
    expect(db.stats().readers.pinned).toBe(1);
    await lease[Symbol.asyncDispose]();
    expect(lease.ended).toBe(true);
    expect(db.stats().readers.pinned).toBe(0);
    await expect(lease.get('SELECT 1')).rejects.toBeInstanceOf(ScopeEndedError);
    // Disposing again (or releasing) is harmless.
    await lease[Symbol.asyncDispose]();
    await lease.release();
  });

  it('a read lease left inside a transaction is reset before the reader is reused', async () => {
    const lease = await db.acquire();
    await lease.exec('BEGIN');
    expect(await lease.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    await lease.release();
    await db.run("INSERT INTO t (v) VALUES ('fresh')");
    // Every reader, including the one the lease used, sees the new row.
    const seen = await Promise.all(Array.from({ length: 12 }, () => count()));
    expect(seen).toEqual(Array.from({ length: 12 }, () => 1));
    const again = await db.acquire();
    try {
      expect(await again.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
    } finally {
      await again.release();
    }
  });
});

describe('write leases', () => {
  it('a transaction left open is rolled back on release, and later writes work', async () => {
    const lease = await db.acquire({ write: true });
    expect(lease.write).toBe(true);
    expect(db.stats().writer.held).toBe(true);
    await lease.exec('BEGIN');
    await lease.run("INSERT INTO t (v) VALUES ('uncommitted')");
    expect(await lease.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
    await lease.release();
    expect(db.stats().writer.held).toBe(false);
    expect(await count()).toBe(0);
    await db.run("INSERT INTO t (v) VALUES ('later')");
    await db.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('in-tx')"));
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'later' }, { v: 'in-tx' }]);
  });

  it('a committed transaction on a write lease stays committed', async () => {
    const lease = await db.acquire({ write: true });
    await lease.exec('BEGIN IMMEDIATE');
    await lease.run("INSERT INTO t (v) VALUES ('kept')");
    await lease.exec('COMMIT');
    await lease.release();
    expect(await count()).toBe(1);
  });

  it('while a write lease is held, a write from outside waits until release', async () => {
    const lease = await db.acquire({ write: true });
    await lease.run("INSERT INTO t (v) VALUES ('lease-1')");
    const outside = track(db.run("INSERT INTO t (v) VALUES ('outside')"));
    await sleep(50);
    expect(outside.settled()).toBe(false);
    await lease.run("INSERT INTO t (v) VALUES ('lease-2')");
    await sleep(20);
    expect(outside.settled()).toBe(false);
    await lease.release();
    await outside.promise;
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'lease-1' }, { v: 'lease-2' }, { v: 'outside' }]);
  });

  it('a second write lease waits for the first; acquire({ timeout }) gives up with AcquireTimeoutError', async () => {
    const lease = await db.acquire({ write: true });
    await expect(db.acquire({ write: true, timeout: 100 })).rejects.toSatisfy(
      (error: unknown) => error instanceof AcquireTimeoutError && (error as AcquireTimeoutError).code === 'LITEPOOL_ACQUIRE_TIMEOUT',
    );
    const waiting = track(db.acquire({ write: true }));
    await sleep(30);
    expect(waiting.settled()).toBe(false);
    await lease.release();
    const next = await waiting.promise;
    await next.run("INSERT INTO t (v) VALUES ('second lease')");
    await next.release();
    expect(await count()).toBe(1);
  });
});

describe('capacity', () => {
  it('with readers: 3, two read leases can be held; a third times out while plain reads still work', async () => {
    const first = await db.acquire();
    const second = await db.acquire();
    try {
      expect(db.stats().readers.pinned).toBe(2);
      await expect(db.acquire({ timeout: 100 })).rejects.toSatisfy(
        (error: unknown) => error instanceof AcquireTimeoutError && (error as AcquireTimeoutError).code === 'LITEPOOL_ACQUIRE_TIMEOUT',
      );
      expect(db.stats().leasesWaiting).toBe(0);
      expect(await db.get('SELECT 41 + 1 AS n')).toEqual({ n: 42 });
      expect(await Promise.all(Array.from({ length: 20 }, (_, i) => db.get('SELECT ? AS i', [i])))).toEqual(
        Array.from({ length: 20 }, (_, i) => ({ i })),
      );
    } finally {
      await first.release();
      await second.release();
    }
  });

  it('a waiting acquire is granted once another lease is released', async () => {
    const first = await db.acquire();
    const second = await db.acquire();
    const waiting = track(db.acquire());
    await sleep(50);
    expect(waiting.settled()).toBe(false);
    expect(db.stats().leasesWaiting).toBe(1);
    await first.release();
    const third = await waiting.promise;
    expect(await third.get('SELECT 3 AS n')).toEqual({ n: 3 });
    expect(db.stats().readers.pinned).toBe(2);
    await third.release();
    await second.release();
    expect(db.stats().readers.pinned).toBe(0);
  });

  it('db.read() beyond capacity waits, and gives up after its timeout with AcquireTimeoutError', async () => {
    const first = await db.acquire();
    const second = await db.acquire();
    let ran = false;
    await expect(
      db.read(
        () => {
          ran = true;
        },
        { timeout: 100 },
      ),
    ).rejects.toBeInstanceOf(AcquireTimeoutError);
    expect(ran).toBe(false);
    const waiting = track(db.read((conn) => conn.get('SELECT 7 AS n')));
    await sleep(30);
    expect(waiting.settled()).toBe(false);
    await second.release();
    expect(await waiting.promise).toEqual({ n: 7 });
    await first.release();
    expect(db.stats().readers.pinned).toBe(0);
  });

  it('a waiting acquire can be aborted', async () => {
    const first = await db.acquire();
    const second = await db.acquire();
    const controller = new AbortController();
    const reason = new Error('no longer needed');
    const waiting = db.acquire({ signal: controller.signal });
    setTimeout(() => controller.abort(reason), 30);
    await expect(waiting).rejects.toBe(reason);
    expect(db.stats().leasesWaiting).toBe(0);
    await first.release();
    await second.release();
    expect(db.stats().readers.pinned).toBe(0);
  });
});

describe('db.iterate()', () => {
  it('streams 10,000 rows with chunkSize 100, all of them, in order', async () => {
    await fillBig(db, 10_000);
    let expected = 1;
    let bad = 0;
    for await (const row of db.iterate<{ id: number; v: string }>('SELECT id, v FROM big ORDER BY id', [], { chunkSize: 100 })) {
      if (row.id !== expected || row.v !== `row-${expected}`) bad++;
      expected++;
    }
    expect(bad).toBe(0);
    expect(expected - 1).toBe(10_000);
    expect(db.stats().readers.pinned).toBe(0);
  });

  it('breaking out after 5 rows frees the reader at once', async () => {
    await fillBig(db, 10_000);
    const seen: number[] = [];
    for await (const row of db.iterate<{ id: number }>('SELECT id FROM big ORDER BY id', [], { chunkSize: 100 })) {
      seen.push(row.id);
      if (seen.length === 5) break;
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(db.stats().readers.pinned).toBe(0);
    // Both pinnable readers are available again.
    const a = await db.acquire({ timeout: 1000 });
    const b = await db.acquire({ timeout: 1000 });
    await a.release();
    await b.release();
  });

  it('a consumer that throws inside for-await frees the reader too', async () => {
    await fillBig(db, 1000);
    const failure = new Error('consumer failed');
    const consume = async () => {
      for await (const row of db.iterate<{ id: number }>('SELECT id FROM big ORDER BY id', [], { chunkSize: 10 })) {
        if (row.id === 15) throw failure;
      }
    };
    await expect(consume()).rejects.toBe(failure);
    expect(db.stats().readers.pinned).toBe(0);
  });

  it('return() on the iterator frees the reader', async () => {
    await fillBig(db, 1000);
    const iterator = db.iterate('SELECT id FROM big ORDER BY id', [], { chunkSize: 50 });
    expect((await iterator.next()).value).toEqual({ id: 1 });
    expect(db.stats().readers.pinned).toBe(1);
    await iterator.return(undefined);
    expect(db.stats().readers.pinned).toBe(0);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it("rowMode 'array' yields arrays of values", async () => {
    await fillBig(db, 250);
    const rows: unknown[] = [];
    for await (const row of db.iterate('SELECT id, v FROM big ORDER BY id', [], { rowMode: 'array', chunkSize: 100 })) rows.push(row);
    expect(rows.length).toBe(250);
    expect(rows[0]).toEqual([1, 'row-1']);
    expect(rows[249]).toEqual([250, 'row-250']);
  });

  it('an empty result ends at once and frees the reader', async () => {
    const rows: unknown[] = [];
    for await (const row of db.iterate('SELECT * FROM t')) rows.push(row);
    expect(rows).toEqual([]);
    expect(db.stats().readers.pinned).toBe(0);
  });
});

describe('stats and close', () => {
  it('stats().writer.held is true while a transaction runs and false after', async () => {
    expect(db.stats().writer.held).toBe(false);
    let during: boolean | undefined;
    await db.transaction(async (tx) => {
      await tx.run("INSERT INTO t (v) VALUES ('x')");
      during = db.stats().writer.held;
    });
    expect(during).toBe(true);
    expect(db.stats().writer.held).toBe(false);
    await expect(
      db.transaction(() => {
        throw new Error('fails');
      }),
    ).rejects.toThrow('fails');
    expect(db.stats().writer.held).toBe(false);
  });

  it('close() while a read lease is held resolves, and later calls on the lease reject', async () => {
    const pool = await pools.fresh({ readers: 2 });
    const lease: Lease = await pool.acquire();
    expect(await lease.get('SELECT 1 AS one')).toEqual({ one: 1 });
    await pool.close();
    expect(pool.closed).toBe(true);
    expect(lease.ended).toBe(true);
    await expect(lease.get('SELECT 1')).rejects.toSatisfy(
      (error: unknown) => error instanceof ScopeEndedError || error instanceof PoolClosedError,
    );
    await lease.release();
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolClosedError);
  });

  it('close() while a write lease is held resolves and leaves its open transaction rolled back', async () => {
    const pool = await pools.fresh({ readers: 1 });
    const file = pool.path;
    const lease = await pool.acquire({ write: true });
    await lease.exec('BEGIN');
    await lease.run("INSERT INTO t (v) VALUES ('never committed')");
    await pool.close();
    await expect(lease.run('SELECT 1')).rejects.toSatisfy(
      (error: unknown) => error instanceof ScopeEndedError || error instanceof PoolClosedError,
    );
    const reopened = await open(file, { readers: 1 });
    try {
      expect(await count(reopened)).toBe(0);
    } finally {
      await reopened.close();
    }
  });
});
