// Covers the paths by which requests could stall, found by the stall hunt
// (scripts/soak/stall-hunt.mjs) and by reading the wake-up protocols:
// - The lost reader wake-up: a reader polling the shared ring takes a lease's Pin request while a
//   plain read is submitted in the same tick; submit() counted that reader as a poller and woke
//   nobody, the reader became pinned, and the read waited with every other reader parked, for
//   ever when the lease holder awaited it. 10,000 rounds of exactly that pattern must each finish
//   (before the fix, one round in about 40,000 hung on a loaded 2-core machine: the check is
//   probabilistic, the soak runs it longer).
// - A read that times out or is aborted while it waits in the shared reader ring settles at once,
//   even when no reader will take it for a long time (the only reader leased, or every reader busy
//   with a long query); its slot is freed when a reader gets to it.
// - Pools without readers (':memory:', readers: 0): a plain read runs on the writer's connection,
//   so it waits for a transaction or lease that holds the writer; it used to run inside that
//   transaction, roll it back and end its iteration.
// - A completion batch whose handling throws (a request of the backlog the addon cannot take)
//   still schedules the next poll, so later completions are not left in the ring, and the failing
//   request rejects alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WriterGate } from '../lib/connections/writer-gate.ts';
import { Op, Status } from '../lib/native/contract.ts';
import type { NativePool } from '../lib/native/native-pool.ts';
import { Dispatcher } from '../lib/request/dispatcher.ts';
import type { Job } from '../lib/request/job.ts';
import { WRITER } from '../lib/request/route.ts';
import { OperationTimeoutError, open, type Pool } from '../lib/index.ts';

let dir: string;
let counter = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'litepool-stall-paths-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function fresh(readers: number): Promise<Pool> {
  const db = await open(join(dir, `stall-${++counter}.db`), { readers });
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
  await db.run('INSERT INTO t (v) VALUES (1), (2), (3)');
  return db;
}

/** `promise`, or a failure naming `what` when it has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

const SLOW = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT count(*) AS n FROM c';

describe('the lost reader wake-up', () => {
  it('10,000 rounds of a reader lease and a plain read submitted in the same tick, the read awaited under the lease', async () => {
    const db = await fresh(2);
    try {
      for (let round = 0; round < 10_000; round++) {
        await db.get('SELECT v FROM t WHERE id = 1'); // a reader has just worked: it polls
        const leased = db.acquire();
        const plain = db.get('SELECT v FROM t WHERE id = 2');
        const lease = await within(leased, 10_000, `round ${round}: the lease`);
        try {
          expect(await within(plain, 10_000, `round ${round}: the plain read under the lease`)).toEqual({ v: 2 });
        } finally {
          await lease.release();
        }
      }
      expect(db.stats().rings.readers).toBe(0);
    } finally {
      await db.close();
    }
  }, 120_000);
});

describe('cancelled reads settle while no reader can take them', () => {
  it('one reader, leased: a read with a timeout and an aborted read reject while the lease is held', async () => {
    const db = await fresh(1);
    try {
      const lease = await db.acquire();
      const timedOut = db.get('SELECT v FROM t WHERE id = 1', [], { timeout: 50 });
      const controller = new AbortController();
      const aborted = db.get('SELECT v FROM t WHERE id = 1', [], { signal: controller.signal });
      aborted.catch(() => undefined); // looked at below
      setTimeout(() => controller.abort(new Error('stop')), 20);
      await expect(within(timedOut, 5000, 'the timed-out read')).rejects.toBeInstanceOf(OperationTimeoutError);
      await expect(within(aborted, 5000, 'the aborted read')).rejects.toThrow('stop');
      // Both still wait in the ring, skipped once the reader is back.
      expect(db.stats().inFlight).toBe(2);
      expect(await lease.get('SELECT count(*) AS n FROM t')).toEqual({ n: 3 });
      await lease.release();
      expect(await db.get('SELECT v FROM t WHERE id = 3')).toEqual({ v: 3 });
      for (let waited = 0; db.stats().inFlight > 0 && waited < 5000; waited += 10) await sleep(10);
      expect(db.stats().inFlight).toBe(0);
      expect(db.stats().operations.cancelled).toBe(2);
    } finally {
      await db.close();
    }
  });

  it('every reader busy: a read with a short timeout settles before the long queries end', async () => {
    const db = await fresh(2);
    try {
      const order: string[] = [];
      const long = [db.get(SLOW), db.get(SLOW)].map((p) => p.then(() => order.push('long')));
      await sleep(20);
      const quick = db.get('SELECT v FROM t WHERE id = 1', [], { timeout: 30 }).then(
        () => order.push('quick resolved'),
        (error: unknown) => order.push(error instanceof OperationTimeoutError ? 'quick timed out' : `quick failed: ${String(error)}`),
      );
      await Promise.all([quick, ...long]);
      expect(order[0]).toBe('quick timed out');
      expect(order.filter((entry) => entry === 'long')).toHaveLength(2);
    } finally {
      await db.close();
    }
  });
});

describe('pools without readers (":memory:", readers: 0)', () => {
  for (const path of [':memory:', 'file']) {
    it(`${path}: a plain read during a transaction waits for it instead of rolling it back`, async () => {
      const db = await open(path === 'file' ? join(dir, `no-readers-${++counter}.db`) : ':memory:', { readers: 0 });
      try {
        await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
        const order: string[] = [];
        const tx = db.transaction(async (t) => {
          await t.run('INSERT INTO t (v) VALUES (1)');
          await sleep(30);
          await t.run('INSERT INTO t (v) VALUES (2)');
          order.push('transaction body done');
        });
        await sleep(5);
        const read = db.get<{ n: number }>('SELECT count(*) AS n FROM t').then((row) => {
          order.push('read');
          return row;
        });
        await tx;
        // The read ran after the commit, on the same connection, and saw both rows.
        expect(await read).toEqual({ n: 2 });
        expect(order).toEqual(['transaction body done', 'read']);
        expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 1 }, { v: 2 }]);
      } finally {
        await db.close();
      }
    });
  }

  it('an iteration on a read lease is not ended by plain reads submitted meanwhile', async () => {
    const db = await open(':memory:');
    try {
      await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
      await db.insertMany('t', Array.from({ length: 100 }, (_, i) => ({ id: i + 1 })));
      const reads: Promise<unknown>[] = [];
      let seen = 0;
      for await (const row of db.iterate<{ id: number }>('SELECT id FROM t ORDER BY id', [], { chunkSize: 10 })) {
        seen += row.id > 0 ? 1 : 0;
        if (seen % 10 === 5) reads.push(db.get('SELECT count(*) AS n FROM t'));
      }
      expect(seen).toBe(100);
      expect(await Promise.all(reads)).toEqual(Array.from({ length: 10 }, () => ({ n: 100 })));
    } finally {
      await db.close();
    }
  });
});

describe('a completion batch whose handling throws', () => {
  /** A fake addon: slot 0 is taken, then every slot is busy; later submissions throw. */
  function fakeNative() {
    const calls = { polls: 0, submits: 0 };
    let full = false;
    const native = {
      submit: () => {
        calls.submits++;
        if (calls.submits === 1) return 0;
        if (!full) {
          full = true;
          return -1;
        }
        throw new Error('the addon could not read this request');
      },
      poll: () => void calls.polls++,
      cancel: () => undefined,
      ref: () => undefined,
      unref: () => undefined,
      registerSql: () => 0,
      forgetSql: () => undefined,
      stats: () => ({}),
    } as unknown as NativePool;
    return { native, calls };
  }

  /** One completion record (lib/request/batch-reader.ts): slot, status Done, changes, rowid, group, n. */
  function doneBatch(slot: number): [ArrayBuffer, number, unknown[], number] {
    const cells = 6;
    const buffer = new ArrayBuffer(cells * 9);
    const nums = new Float64Array(buffer, 0, cells);
    const tags = new Uint8Array(buffer, cells * 8, cells);
    nums.set([slot, Status.Done, 1, 7, 0, 0]);
    tags.set([1, 1, 1, 1, 4, 1]);
    return [buffer, cells, [], cells];
  }

  it('rejects the request the addon refused, completes the others, and still polls', async () => {
    const { native, calls } = fakeNative();
    let dispatcher: Dispatcher | undefined;
    const gate = new WriterGate<Job>((job) => dispatcher!.writerTurn(job));
    dispatcher = new Dispatcher(native, gate, false, true);
    const first = dispatcher.run({ op: Op.Run, route: WRITER, sql: 'INSERT INTO t DEFAULT VALUES', values: undefined, names: undefined });
    const second = dispatcher.run({ op: Op.Run, route: WRITER, sql: 'INSERT INTO t DEFAULT VALUES', values: undefined, names: undefined });
    expect(dispatcher.queued).toBe(1);
    dispatcher.onBatch(...doneBatch(0));
    await expect(first).resolves.toEqual({ changes: 1, lastInsertRowid: 7 });
    await expect(second).rejects.toThrow('the addon could not read this request');
    expect(dispatcher.queued).toBe(0);
    await sleep(5);
    expect(calls.polls).toBeGreaterThan(0);
  });
});
