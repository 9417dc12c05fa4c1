// Covers what a scope leaves running when it ends, and what a nested transaction leaves when it
// fails: a nested transaction still running when its parent rolls back ends with it, and its
// savepoint is rolled back (also one level further down); a nested transaction whose callback failed rejects
// with the callback's error even when its ROLLBACK TO fails (the rollback's error as `cause`),
// and its parent then refuses to commit (SQLite rolled everything back, or the nested changes
// could not be undone); an iteration left open on a transaction, nested transaction, lease or
// read() snapshot is ended with it (its statement finished before the COMMIT or release, its
// holder gone, so vacuum() runs; its next pull rejects with ScopeEndedError, return() resolves;
// its onQuery event comes once); onTransaction reports no 'rollback' for a transaction that
// never began. Data, counts, codes and orderings only: no timings.
import { describe, expect, it } from 'vitest';
import { PoolClosedError, ScopeEndedError, SqliteError, type Pool, type QueryEvent, type TransactionEvent } from '../lib/index.ts';
import { MetricsCollector } from '../lib/observers/index.ts';
import { tempPools } from './helpers/pools.ts';
import { latch, rejection } from './helpers/waits.ts';

const pools = tempPools('scope-ends');

/** Rows of t, by insertion order. */
async function values(db: Pool): Promise<string[]> {
  return (await db.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((row) => row.v);
}

const isScopeEnded = (error: unknown): boolean => error instanceof ScopeEndedError && error.code === 'LITEPOOL_SCOPE_ENDED';

/** A pool whose table `big` holds 2,000 rows: an iteration of it stays open after its first chunk. */
async function withBig(options: Parameters<typeof pools.fresh>[0] = {}): Promise<Pool> {
  const db = await pools.fresh({ readers: 2, ...options });
  await db.exec('CREATE TABLE big (x INTEGER)');
  await db.exec('WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 2000) INSERT INTO big SELECT i FROM r');
  return db;
}

describe('a nested transaction still running when its parent rolls back', () => {
  it('ends with it: it rejects with ScopeEndedError and none of its rows remain', async () => {
    const db = await pools.fresh({ readers: 2 });
    const wrote = latch();
    const gate = latch();
    const failure = new Error('the parent fails');
    let nested: Promise<unknown> | undefined;
    const outcome = await rejection(
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('outer')");
        nested = tx.transaction(async (inner) => {
          await inner.run("INSERT INTO t (v) VALUES ('nested-1')");
          wrote.open();
          await gate.promise;
          await inner.run("INSERT INTO t (v) VALUES ('nested-2')");
        });
        nested.catch(() => undefined);
        // The parent throws while the nested transaction is half way.
        await wrote.promise;
        throw failure;
      }),
    );
    gate.open();
    expect(outcome).toBe(failure);
    expect(isScopeEnded(await rejection(nested!))).toBe(true);
    expect(await values(db)).toEqual([]);
    // The writer is clean: no savepoint or transaction left behind.
    await db.run("INSERT INTO t (v) VALUES ('after')");
    expect(await values(db)).toEqual(['after']);
  });

  it('one level down: a nested transaction still running when its own parent throws is rolled back with it', async () => {
    const db = await pools.fresh({ readers: 2 });
    const wrote = latch();
    const gate = latch();
    let deepest: Promise<unknown> | undefined;
    const middle = await db.transaction(async (tx) => {
      await tx.run("INSERT INTO t (v) VALUES ('outer')");
      const result = await tx.transaction(async (mid) => {
        await mid.run("INSERT INTO t (v) VALUES ('middle')");
        deepest = mid.transaction(async (deep) => {
          await deep.run("INSERT INTO t (v) VALUES ('deep-1')");
          wrote.open();
          await gate.promise;
          await deep.run("INSERT INTO t (v) VALUES ('deep-2')");
        });
        deepest.catch(() => undefined);
        await wrote.promise;
        throw new Error('the middle fails');
      }).catch((error: unknown) => (error as Error).message);
      gate.open();
      expect(isScopeEnded(await rejection(deepest!))).toBe(true);
      await tx.run("INSERT INTO t (v) VALUES ('outer-2')");
      return result;
    });
    expect(middle).toBe('the middle fails');
    expect(await values(db)).toEqual(['outer', 'outer-2']);
  });
});

describe("a nested transaction whose ROLLBACK TO fails", () => {
  it('INSERT OR ROLLBACK: rejects with the constraint error (the failed rollback as cause); the parent rejects, nothing is committed', async () => {
    const db = await pools.fresh({ readers: 2 }, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)');
    let nested: unknown;
    const parent = await rejection(
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('one')");
        nested = await rejection(tx.transaction((inner) => inner.run("INSERT OR ROLLBACK INTO t (v) VALUES ('one')")));
        return 'parent done';
      }),
    );
    expect(nested).toBeInstanceOf(SqliteError);
    expect((nested as SqliteError).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect((nested as SqliteError).cause).toBeInstanceOf(SqliteError);
    expect(((nested as SqliteError).cause as SqliteError).code).toBe('SQLITE_ABORT');
    // SQLite rolled the whole transaction back: the parent cannot commit, and says so.
    expect(parent).toBeInstanceOf(SqliteError);
    expect((parent as SqliteError).code).toBe('SQLITE_ABORT');
    expect(await values(db)).toEqual([]);
    await db.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('next')"));
    expect(await values(db)).toEqual(['next']);
  });

  it("a callback's own error wins over the failed rollback, as the very same object", async () => {
    const db = await pools.fresh({ readers: 2 }, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)');
    const mine = new Error('my own error');
    let nested: unknown;
    await rejection(
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('one')");
        nested = await rejection(
          tx.transaction(async (inner) => {
            await inner.run("INSERT OR ROLLBACK INTO t (v) VALUES ('one')").catch(() => undefined);
            throw mine;
          }),
        );
      }),
    );
    expect(nested).toBe(mine);
    expect(((nested as Error).cause as SqliteError).code).toBe('SQLITE_ABORT');
    expect(await values(db)).toEqual([]);
  });

  it('with the transaction still active (its savepoint released from inside): the parent refuses to commit the changes left behind', async () => {
    const db = await pools.fresh({ readers: 2 });
    const mine = new Error('nested fails');
    let nested: unknown;
    const parent = await rejection(
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('outer')");
        await tx.exec('SAVEPOINT mine');
        nested = await rejection(
          tx.transaction(async (inner) => {
            await inner.run("INSERT INTO t (v) VALUES ('nested')");
            // Releasing an outer savepoint releases the nested transaction's too: it can no longer be undone.
            await inner.exec('RELEASE mine');
            throw mine;
          }),
        );
        return 'parent done';
      }),
    );
    expect(nested).toBe(mine);
    expect(((nested as Error).cause as SqliteError).code).toBe('SQLITE_ERROR');
    expect(parent).toBe((nested as Error).cause);
    expect(await values(db)).toEqual([]);
  });
});

describe('an iteration left open when its scope ends', () => {
  it('on a transaction: the COMMIT goes through, the holder and the statement are gone, next() rejects, return() resolves', async () => {
    const db = await withBig();
    let it: AsyncGenerator<{ x: number }, void, undefined> | undefined;
    const first = await db.transaction(async (tx) => {
      await tx.run("INSERT INTO t (v) VALUES ('committed')");
      it = tx.iterate<{ x: number }>('SELECT x FROM big ORDER BY x');
      return (await it.next()).value;
    });
    expect(first).toEqual({ x: 1 });
    expect(await values(db)).toEqual(['committed']);
    // Nothing holds the pool: vacuum() neither is refused nor finds a statement in progress.
    await db.vacuum();
    expect(isScopeEnded(await rejection(it!.next()))).toBe(true);
    await expect(it!.return()).resolves.toEqual({ done: true, value: undefined });
    await db.vacuum();
  });

  it('on a transaction, stopped with return() only after the commit: the writer has no statement in progress', async () => {
    const db = await withBig();
    let it: AsyncGenerator<{ x: number }, void, undefined> | undefined;
    await db.transaction(async (tx) => {
      it = tx.iterate<{ x: number }>('SELECT x FROM big');
      await it.next();
    });
    await expect(it!.return()).resolves.toEqual({ done: true, value: undefined });
    await db.vacuum();
    await db.exec('DROP TABLE big');
  });

  it('on a nested transaction: ended before its RELEASE; the parent goes on and commits', async () => {
    const db = await withBig();
    let it: AsyncGenerator<{ x: number }, void, undefined> | undefined;
    await db.transaction(async (tx) => {
      await tx.transaction(async (inner) => {
        it = inner.iterate<{ x: number }>('SELECT x FROM big');
        await it.next();
        await inner.run("INSERT INTO t (v) VALUES ('nested')");
      });
      await tx.run("INSERT INTO t (v) VALUES ('outer')");
    });
    expect(await values(db)).toEqual(['nested', 'outer']);
    await db.vacuum();
    expect(isScopeEnded(await rejection(it!.next()))).toBe(true);
  });

  for (const kind of ['read lease', 'write lease', 'read() snapshot'] as const) {
    it(`on a ${kind}: ended with it; vacuum() runs, next() rejects, return() resolves`, async () => {
      const db = await withBig();
      let it: AsyncGenerator<{ x: number }, void, undefined>;
      if (kind === 'read() snapshot') {
        let saved: AsyncGenerator<{ x: number }, void, undefined> | undefined;
        await db.read(async (conn) => {
          saved = conn.iterate<{ x: number }>('SELECT x FROM big ORDER BY x');
          expect((await saved.next()).value).toEqual({ x: 1 });
        });
        it = saved!;
      } else {
        const lease = await db.acquire({ write: kind === 'write lease' });
        it = lease.iterate<{ x: number }>('SELECT x FROM big ORDER BY x');
        expect((await it.next()).value).toEqual({ x: 1 });
        await lease.release();
      }
      await db.vacuum();
      expect(isScopeEnded(await rejection(it.next()))).toBe(true);
      await expect(it.return()).resolves.toEqual({ done: true, value: undefined });
      await db.vacuum();
    });
  }

  it('is reported to observers once, as ended by its scope', async () => {
    const db = await withBig();
    const queries: QueryEvent[] = [];
    db.observe({ onQuery: (e) => void queries.push(e) });
    let it: AsyncGenerator<{ x: number }, void, undefined> | undefined;
    await db.transaction(async (tx) => {
      it = tx.iterate<{ x: number }>('SELECT x FROM big');
      await it.next();
    });
    const iterations = () => queries.filter((e) => e.operation === 'iterate');
    expect(iterations().map((e) => e.error?.code)).toEqual(['LITEPOOL_SCOPE_ENDED']);
    await it!.return();
    expect(iterations()).toHaveLength(1);
  });
});

describe("the pool's own iteration on the writer (readers: 0) when the pool closes", () => {
  it('hands out the rows in hand, then rejects with PoolClosedError (not ScopeEndedError), as with readers', async () => {
    const db = await pools.fresh({ readers: 0 });
    await db.exec("INSERT INTO t (v) VALUES ('a'), ('b'), ('c'), ('d'), ('e'), ('f')");
    const iterator = db.iterate<{ v: string }>('SELECT v FROM t ORDER BY id', [], { chunkSize: 2 })[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ v: 'a' });
    // close() ends the iteration and gives the writer back: the rest of the first chunk and the
    // one fetched ahead (as with readers) are handed out, nothing after.
    await db.close();
    for (const v of ['b', 'c', 'd']) expect((await iterator.next()).value).toEqual({ v });
    expect(await rejection(iterator.next())).toBeInstanceOf(PoolClosedError);
    await iterator.return(undefined);
  });
});

describe('onTransaction for a transaction that never began', () => {
  it('reports no rollback when it was aborted before BEGIN ran', async () => {
    const metrics = new MetricsCollector();
    const phases: TransactionEvent['phase'][] = [];
    const db = await pools.fresh({ readers: 2, observers: [metrics, { onTransaction: (e) => void phases.push(e.phase) }] });
    const controller = new AbortController();
    const aborted = db.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('x')"), { signal: controller.signal });
    controller.abort();
    expect((await rejection(aborted)).name).toBe('AbortError');
    await db.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('y')"));
    expect(phases).toEqual(['begin', 'commit']);
    expect(metrics.snapshot().transactions).toMatchObject({ begun: 1, committed: 1, rolledBack: 0 });
    expect(await values(db)).toEqual(['y']);
  });

  it('reports no rollback when its BEGIN failed (the write lock held by another connection)', async () => {
    const file = pools.file();
    const other = await pools.openAt(file, { readers: 1 });
    await other.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const phases: TransactionEvent['phase'][] = [];
    const db = await pools.openAt(file, { readers: 1, busyTimeout: 20, observers: [{ onTransaction: (e) => void phases.push(e.phase) }] });
    const holder = await other.acquire({ write: true });
    try {
      await holder.exec('BEGIN IMMEDIATE');
      const failure = await rejection(db.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('x')")));
      expect((failure as SqliteError).primaryCode).toBe('SQLITE_BUSY');
    } finally {
      await holder.release();
    }
    expect(phases).toEqual([]);
    await db.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('y')"));
    expect(phases).toEqual(['begin', 'commit']);
  });
});
