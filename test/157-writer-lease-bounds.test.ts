// Covers the bounds of a read lease, a read() and an iteration in a pool without readers
// (readers: 0): each takes the writer, and the writer's session can be granted while a write sent
// before it still runs; turning query_only on then waits behind that write. The caller's timeout
// and signal end that wait too: they settle before the long write does, and the writer is left
// as it was (query_only off, writes go through). Orderings only.

import { describe, expect, it } from 'vitest';
import { AcquireTimeoutError, OperationTimeoutError } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('writer-lease-bounds');

/** A write that keeps the writer busy for a good while (three million rows in one statement). */
const LONG_WRITE = 'INSERT INTO t (v) WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000000) SELECT i FROM c';

/** Which of `write` and `call` settles first, and how `call` settled. */
async function race(write: Promise<unknown>, call: Promise<unknown>): Promise<{ first: string; outcome: unknown }> {
  const order: string[] = [];
  let outcome: unknown;
  await Promise.all([
    write.then(() => order.push('write')),
    call.then(
      (value) => {
        outcome = value;
        order.push('call');
      },
      (error: unknown) => {
        outcome = error;
        order.push('call');
      },
    ),
  ]);
  return { first: order[0]!, outcome };
}

describe('readers: 0, a caller bound behind a long write', () => {
  it('acquire({ timeout }) rejects with AcquireTimeoutError before the write ends', async () => {
    const db = await pools.fresh({ readers: 0 });
    const { first, outcome } = await race(db.run(LONG_WRITE), db.acquire({ timeout: 50 }));
    expect(first).toBe('call');
    expect(outcome).toBeInstanceOf(AcquireTimeoutError);
    expect(await db.get('PRAGMA query_only')).toEqual({ query_only: 0 });
    expect((await db.run("INSERT INTO t (v) VALUES ('after')")).changes).toBe(1);
  });

  it('acquire({ signal }) rejects with its reason before the write ends', async () => {
    const db = await pools.fresh({ readers: 0 });
    const write = db.run(LONG_WRITE);
    const stop = new Error('stop');
    const lease = db.acquire({ signal: AbortSignal.timeout(50) }).catch(() => Promise.reject(stop));
    const { first, outcome } = await race(write, lease);
    expect([first, outcome]).toEqual(['call', stop]);
    expect(await db.get('PRAGMA query_only')).toEqual({ query_only: 0 });
  });

  it('read(fn, { timeout }) rejects before the write ends, its callback never called', async () => {
    const db = await pools.fresh({ readers: 0 });
    const write = db.run(LONG_WRITE);
    let called = 0;
    const read = db.read(async (snapshot) => {
      called++;
      return snapshot.get('SELECT count(*) AS n FROM t');
    }, { timeout: 50 });
    const { first, outcome } = await race(write, read);
    expect(first).toBe('call');
    expect(outcome).toBeInstanceOf(AcquireTimeoutError);
    expect(called).toBe(0);
    expect(await db.get('PRAGMA query_only')).toEqual({ query_only: 0 });
  });

  it('iterate(sql, [], { timeout }) rejects with OperationTimeoutError before the write ends', async () => {
    const db = await pools.fresh({ readers: 0 });
    const write = db.run(LONG_WRITE);
    const iterate = (async () => {
      for await (const row of db.iterate('SELECT v FROM t LIMIT 2', [], { timeout: 50 })) void row;
    })();
    const { first, outcome } = await race(write, iterate);
    expect(first).toBe('call');
    expect(outcome).toBeInstanceOf(OperationTimeoutError);
    expect(await db.get('PRAGMA query_only')).toEqual({ query_only: 0 });
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 3000000 });
  });
});

describe('readers: 0, a signal aborted at once', () => {
  it('acquire({ signal }) aborted right after the call rejects before the write ends', async () => {
    const db = await pools.fresh({ readers: 0 });
    const write = db.run(LONG_WRITE);
    const controller = new AbortController();
    const stop = new Error('stop');
    const lease = db.acquire({ signal: controller.signal });
    controller.abort(stop);
    const { first, outcome } = await race(write, lease);
    expect([first, outcome]).toEqual(['call', stop]);
    expect(await db.get('PRAGMA query_only')).toEqual({ query_only: 0 });
  });
});
