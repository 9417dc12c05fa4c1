// Covers the one-iteration-per-connection rule across a transaction and its nested ones, which
// share one connection (and the connection one open iteration): an iteration started in a nested
// transaction while its parent's is open, or in the parent while a nested one's is open, or two
// levels down, is refused with LITEPOOL_MISUSE naming the open iteration, and the open one keeps
// yielding its own rows to the end (before, the second IterateStart silently ended the first: the
// first then failed with "no iteration is open" or yielded the second one's rows); once the open
// iteration finished, stopped or ended with its scope, the others may iterate again. Leases and
// read() snapshots (which do not nest) refuse a second iteration of their own the same way.
// Iterations of 50 rows in chunks of 5, so each is still open when the second call comes. Data,
// codes and orderings only: no timings.
import { describe, expect, it } from 'vitest';
import type { Pool } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { latch, rejection } from './helpers/waits.ts';

const pools = tempPools('nested-iterations');

const ROWS = 50;
/** Several chunks: an iteration is still open after its first one. */
const CHUNK = { chunkSize: 5 };
const OUTER_SQL = 'SELECT id, v FROM t ORDER BY id';
const INNER_SQL = 'SELECT id, w FROM u ORDER BY id';
const outerRows = Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, v: `v${i + 1}` }));
const innerRows = Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, w: `w${i + 1}` }));

/** A pool with t (v1..v50) and u (w1..w50): two results of several chunks with different columns. */
async function twoTables(options: Parameters<typeof pools.fresh>[0] = { readers: 2 }): Promise<Pool> {
  const db = await pools.fresh(options);
  await db.exec('CREATE TABLE u (id INTEGER PRIMARY KEY, w TEXT NOT NULL)');
  await db.exec(
    `WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < ${ROWS}) ` +
      "INSERT INTO t (id, v) SELECT i, 'v' || i FROM r; " +
      `WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < ${ROWS}) ` +
      "INSERT INTO u (id, w) SELECT i, 'w' || i FROM r",
  );
  return db;
}

/** The LITEPOOL_MISUSE refusal of a second iteration, naming the open one's SQL. */
function expectRefused(error: unknown, openSql: string, refusedSql: string): void {
  expect(error).toBeInstanceOf(RangeError);
  const coded = error as RangeError & { code?: string; sql?: string };
  expect(coded.code).toBe('LITEPOOL_MISUSE');
  expect(coded.message).toContain('one iteration at a time per connection');
  expect(coded.message).toContain(JSON.stringify(openSql));
  expect(coded.sql).toBe(refusedSql);
}

async function collect<T>(iteration: AsyncIterable<T>): Promise<T[]> {
  const rows: T[] = [];
  for await (const row of iteration) rows.push(row);
  return rows;
}

describe('a transaction and its nested transactions share one iteration', () => {
  it("a nested transaction's iterate() inside the parent's open iteration is refused, and the parent's goes on to the end", async () => {
    const db = await twoTables();
    const seen: unknown[] = [];
    const refusals: unknown[] = [];
    await db.transaction(async (tx) => {
      for await (const row of tx.iterate<{ id: number }>(OUTER_SQL, [], CHUNK)) {
        seen.push(row);
        if (row.id !== 3) continue;
        // The nested transaction writes, then fails on the refused iteration: rolled back to its savepoint.
        const nested = tx.transaction(async (inner) => {
          await inner.run('INSERT INTO u (id, w) VALUES (1000, ?)', ['nested']);
          for await (const innerRow of inner.iterate(INNER_SQL, [], CHUNK)) seen.push(innerRow);
        });
        refusals.push(await rejection(nested));
      }
    });
    expect(refusals).toHaveLength(1);
    expectRefused(refusals[0], OUTER_SQL, INNER_SQL);
    expect(seen).toEqual(outerRows);
    expect(await db.get('SELECT count(*) AS n FROM u')).toEqual({ n: ROWS });
  });

  it('a nested transaction that catches the refusal goes on with other statements and commits; the parent iteration is unharmed', async () => {
    const db = await twoTables();
    const seen: unknown[] = [];
    let caught: unknown;
    await db.transaction(async (tx) => {
      for await (const row of tx.iterate<{ id: number }>(OUTER_SQL, [], CHUNK)) {
        seen.push(row);
        if (row.id !== 7) continue;
        await tx.transaction(async (inner) => {
          caught = await rejection(inner.iterate(INNER_SQL, [], CHUNK).next());
          await inner.run('UPDATE u SET w = ? WHERE id = 1', ['changed']);
          // A second level down: refused the same way.
          await inner.transaction(async (deeper) => {
            expectRefused(await rejection(deeper.iterate(INNER_SQL, [], CHUNK).next()), OUTER_SQL, INNER_SQL);
          });
        });
      }
    });
    expectRefused(caught, OUTER_SQL, INNER_SQL);
    expect(seen).toEqual(outerRows);
    expect(await db.get('SELECT w FROM u WHERE id = 1')).toEqual({ w: 'changed' });
  });

  it("the parent's iterate() while a nested transaction's iteration is open is refused, and the nested one yields its own rows to the end", async () => {
    const db = await twoTables();
    const opened = latch();
    const resume = latch();
    let refused: unknown;
    let nestedRows: unknown[] = [];
    await db.transaction(async (tx) => {
      const nested = tx.transaction(async (inner) => {
        const iterator = inner.iterate(INNER_SQL, [], CHUNK)[Symbol.asyncIterator]();
        const first = await iterator.next();
        opened.open();
        await resume.promise;
        nestedRows = [first.value, ...(await collect({ [Symbol.asyncIterator]: () => iterator }))];
      });
      // The nested transaction failing before its iteration opened ends the wait too.
      await Promise.race([opened.promise, nested]);
      refused = await rejection(tx.iterate(OUTER_SQL, [], CHUNK).next());
      resume.open();
      await nested;
      // Finished: the connection's iteration is free again, for the parent and for another nested transaction.
      expect(await collect(tx.iterate(OUTER_SQL, [], CHUNK))).toEqual(outerRows);
      await tx.transaction(async (inner) => expect(await collect(inner.iterate(INNER_SQL, [], CHUNK))).toEqual(innerRows));
    });
    expectRefused(refused, INNER_SQL, OUTER_SQL);
    expect(nestedRows).toEqual(innerRows);
  });

  it('an iteration stopped early, or left open by a nested transaction that ended, frees the connection for the next one', async () => {
    const db = await twoTables();
    await db.transaction(async (tx) => {
      for await (const row of tx.iterate<{ id: number }>(OUTER_SQL, [], CHUNK)) if (row.id === 2) break;
      // Left open: ended with the nested transaction's end.
      await tx.transaction(async (inner) => void (await inner.iterate(INNER_SQL, [], CHUNK).next()));
      expect(await collect(tx.iterate(OUTER_SQL, [], CHUNK))).toEqual(outerRows);
    });
  });
});

describe('scopes that do not nest refuse a second iteration of their own the same way', () => {
  it('a lease: the second iterate() is refused, the first yields its own rows', async () => {
    const db = await twoTables();
    const lease = await db.acquire();
    try {
      const first = lease.iterate(OUTER_SQL, [], CHUNK)[Symbol.asyncIterator]();
      const head = await first.next();
      expectRefused(await rejection(lease.iterate(INNER_SQL, [], CHUNK).next()), OUTER_SQL, INNER_SQL);
      expect([head.value, ...(await collect({ [Symbol.asyncIterator]: () => first }))]).toEqual(outerRows);
      expect(await collect(lease.iterate(INNER_SQL, [], CHUNK))).toEqual(innerRows);
    } finally {
      await lease.release();
    }
  });

  it('a read() snapshot, also on the writer of a pool without readers', async () => {
    for (const readers of [2, 0]) {
      const db = await twoTables({ readers });
      await db.read(async (conn) => {
        const first = conn.iterate(OUTER_SQL, [], CHUNK)[Symbol.asyncIterator]();
        const head = await first.next();
        expectRefused(await rejection(conn.iterate(INNER_SQL, [], CHUNK).next()), OUTER_SQL, INNER_SQL);
        expect([head.value, ...(await collect({ [Symbol.asyncIterator]: () => first }))]).toEqual(outerRows);
      });
    }
  });
});
