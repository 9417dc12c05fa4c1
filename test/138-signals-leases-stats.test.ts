// Covers one long-lived AbortSignal passed to the operations of transactions, leases and read()
// snapshots (lib/request/joined-signal.ts): each operation joins it with its scope's end, and
// lets go of it once the operation settled (also when it was refused before it started, or
// cancelled), so the signal gathers neither dependants nor listeners nor memory, however many
// operations it served; an iteration's join lets go when its scope ends; the operation rejects
// with the reason of whichever aborted first (the caller's signal's, also null, or the scope's
// end: a transaction's timeout). Also: lease.release() refuses an argument (the lease stays
// held); a read lease is `write: false`, also on the writer of a pool without readers;
// stats().readers.idle counts only readers neither busy nor pinned (a pinned reader running its
// lease's query once); a read lease, snapshot or iteration holding the writer of a pool without
// readers refuses its caller's PRAGMA query_only. Counts, reasons and codes
// only: no timings.
import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ScopeEndedError, TransactionTimeoutError, type Pool } from '../lib/index.ts';
import { joinSignals } from '../lib/request/joined-signal.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection } from './helpers/waits.ts';

const pools = tempPools('signals-leases-stats');

// gc() in this process (vitest does not start it with --expose-gc).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/**
 * The signals AbortSignal.any() made from `signal` that it still keeps (Node 20 keeps them in an
 * internal set for as long as `signal` lives); 0 when it keeps no such set.
 */
function dependants(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((symbol) => symbol.description === 'kDependantSignals');
  return key === undefined ? 0 : ((signal as unknown as Record<symbol, Set<unknown> | undefined>)[key]?.size ?? 0);
}

/** Lets pending microtasks and one turn of the event loop run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A read that never ends by itself (only an interrupt stops it). */
const ENDLESS = 'WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) AS n FROM r';

/** Runs `ops` operations with `signal` in transactions, leases and read() snapshots, `perScope` at a time. */
async function useEverywhere(db: Pool, signal: AbortSignal, ops: number, perScope = 50): Promise<void> {
  for (let done = 0; done < ops; done += perScope) {
    const some = (scope: { get: Pool['get'] }) => Promise.all(Array.from({ length: perScope }, (_, j) => scope.get('SELECT ? AS j', [j], { signal })));
    const kind = (done / perScope) % 3;
    if (kind === 0) await db.transaction(async (tx) => void (await some(tx)));
    else if (kind === 1) await db.read(async (conn) => void (await some(conn)));
    else {
      const lease = await db.acquire();
      try {
        await some(lease);
      } finally {
        await lease.release();
      }
    }
  }
}

describe('one long-lived signal passed to the operations of scopes', () => {
  it('keeps no dependant nor listener of theirs once they settled', async () => {
    const db = await pools.fresh({ readers: 2 });
    const { signal } = new AbortController();
    await useEverywhere(db, signal, 3_000);
    expect(dependants(signal)).toBe(0);
    expect(listeners(signal)).toBe(0);
  });

  it('does not grow the heap with the operations it served', async () => {
    const db = await pools.fresh({ readers: 2 });
    const { signal } = new AbortController();
    const ops = 30_000;
    // Warmed up first: the first thousands of operations grow the heap anyway (compiled code, caches).
    await useEverywhere(db, signal, 9_000);
    gc();
    const before = process.memoryUsage().heapUsed;
    await useEverywhere(db, signal, ops);
    await turn();
    gc();
    await turn();
    gc();
    const perOp = (process.memoryUsage().heapUsed - before) / ops;
    // AbortSignal.any() left about 60 bytes per operation (its dependant, a WeakRef, kept by the signal).
    expect(perOp).toBeLessThan(25);
  });

  it('holds one listener on it while operations run, none after', async () => {
    const db = await pools.fresh({ readers: 2 });
    const { signal } = new AbortController();
    await db.transaction(async (tx) => {
      const running = Array.from({ length: 20 }, (_, i) => tx.run('INSERT INTO t (v) VALUES (?)', [`v${i}`], { signal }));
      expect(listeners(signal)).toBe(1);
      await Promise.all(running);
      expect(listeners(signal)).toBe(0);
    });
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 20 });
  });

  it('lets go of it when the operation is refused before it starts (a bad parameter, a bad option)', async () => {
    const db = await pools.fresh({ readers: 2 });
    const { signal } = new AbortController();
    await db.transaction(async (tx) => {
      const badParam = await rejection(tx.run('INSERT INTO t (v) VALUES (?)', [Symbol('no')] as never, { signal }));
      expect(badParam).toBeInstanceOf(TypeError);
      const badSql = await rejection(tx.get(42 as unknown as string, [], { signal }));
      expect(badSql).toBeInstanceOf(TypeError);
      const badBatch = await rejection(tx.batch('nope' as never, { signal }));
      expect(badBatch).toBeInstanceOf(TypeError);
      expect(listeners(signal)).toBe(0);
      expect(dependants(signal)).toBe(0);
    });
    const lease = await db.acquire();
    await lease.release();
    expect(await rejection(lease.get('SELECT 1', [], { signal }))).toBeInstanceOf(ScopeEndedError);
    expect(listeners(signal)).toBe(0);
    expect(dependants(signal)).toBe(0);
  });

  it("an operation aborted by it rejects with its reason (also null), and lets go of it", async () => {
    const db = await pools.fresh({ readers: 2 });
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const lease = await db.acquire();
    try {
      const running = lease.get(ENDLESS, [], { signal: controller.signal });
      controller.abort(reason);
      expect(await rejection(running)).toBe(reason);
      expect(listeners(controller.signal)).toBe(0);
      // Aborted before the call: its reason at once.
      expect(await rejection(lease.get('SELECT 1', [], { signal: controller.signal }))).toBe(reason);
      const nulled = new AbortController();
      const pending = lease.get(ENDLESS, [], { signal: nulled.signal });
      nulled.abort(null);
      expect(await rejection(pending)).toBeNull();
      expect(listeners(nulled.signal)).toBe(0);
      expect(await lease.get('SELECT 2 AS x')).toEqual({ x: 2 });
    } finally {
      await lease.release();
    }
  });

  it("an operation cut by its scope's end rejects with the scope's reason, and lets go of the caller's signal", async () => {
    const db = await pools.fresh({ readers: 2 });
    const { signal } = new AbortController();
    let inside: unknown;
    const outcome = await rejection(
      db.transaction(
        async (tx) => {
          inside = await rejection(tx.get(ENDLESS, [], { signal }));
          throw inside;
        },
        { timeout: 50 },
      ),
    );
    expect(inside).toBeInstanceOf(TransactionTimeoutError);
    expect(outcome).toBeInstanceOf(TransactionTimeoutError);
    expect(listeners(signal)).toBe(0);
    expect(dependants(signal)).toBe(0);
  });

  it("an iteration's join lets go of the caller's signal once its scope ended", async () => {
    const db = await pools.fresh({ readers: 2 });
    await db.exec('WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 600) INSERT INTO t (v) SELECT i FROM r');
    const { signal } = new AbortController();
    let during = -1;
    let rows = 0;
    await db.read(async (conn) => {
      for await (const row of conn.iterate('SELECT v FROM t', [], { signal, chunkSize: 100 })) {
        if (rows++ === 0) during = listeners(signal);
        void row;
      }
    });
    await turn();
    expect(rows).toBe(600);
    expect(during).toBe(1);
    expect(listeners(signal)).toBe(0);
    expect(dependants(signal)).toBe(0);
  });

  it('an iteration refused at the call (bad SQL or parameters) in a scope lets go of the caller\'s signal at once', async () => {
    const db = await pools.fresh({ readers: 1 });
    const { signal } = new AbortController();
    const lease = await db.acquire();
    try {
      for (const sql of [42, '', '   ']) {
        const error = await rejection((async () => {
          for await (const row of lease.iterate(sql as string, [], { signal })) void row;
        })());
        expect(error).toBeInstanceOf(Error);
        expect(listeners(signal)).toBe(0);
      }
      const badParams = await rejection((async () => {
        for await (const row of lease.iterate('SELECT ?', [Symbol('x') as never], { signal })) void row;
      })());
      expect(badParams).toBeInstanceOf(TypeError);
      expect(listeners(signal)).toBe(0);
    } finally {
      await lease.release();
    }
  });

  it("an iteration's join lets go of the caller's signal when the iteration ends, while its scope goes on", async () => {
    const db = await pools.fresh({ readers: 2 });
    await db.exec('WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 300) INSERT INTO t (v) SELECT i FROM r');
    const { signal } = new AbortController();
    const after: number[] = [];
    let rows = 0;
    await db.read(async (conn) => {
      for (let round = 0; round < 50; round++) {
        // Read to the end, and stopped early (break): both end the iteration.
        let seen = 0;
        for await (const row of conn.iterate('SELECT v FROM t', [], { signal, chunkSize: 100 })) {
          void row;
          rows++;
          if (round % 2 === 1 && ++seen === 150) break;
        }
        after.push(listeners(signal));
      }
      // The scope's other operations still run with the signal.
      expect(await conn.get('SELECT count(*) AS n FROM t', [], { signal })).toEqual({ n: 300 });
      after.push(listeners(signal));
    });
    expect(rows).toBe(25 * 300 + 25 * 150);
    expect(after).toEqual(new Array(51).fill(0));
    expect(listeners(signal)).toBe(0);
  });
});

describe('joinSignals()', () => {
  it('aborts with the reason of the first source to abort; a released join lets go of its sources, at most once', () => {
    const first = new AbortController();
    const second = new AbortController();
    const a = joinSignals(first.signal, second.signal);
    const b = joinSignals(first.signal, second.signal);
    expect(listeners(first.signal)).toBe(1);
    a.release();
    a.release();
    // b still watches both: a's second release took nothing of b's.
    expect(listeners(first.signal)).toBe(1);
    expect(listeners(second.signal)).toBe(1);
    const reason = { why: 'second' };
    second.abort(reason);
    expect(b.signal.aborted).toBe(true);
    expect(b.signal.reason).toBe(reason);
    expect(a.signal.aborted).toBe(false);
    expect(listeners(first.signal)).toBe(0);
    expect(listeners(second.signal)).toBe(0);
    first.abort();
    expect(a.signal.aborted).toBe(false);
    b.release();
  });

  it('is the aborted source itself when one has aborted already', () => {
    const first = new AbortController();
    const second = new AbortController();
    first.abort(null);
    expect(joinSignals(first.signal, second.signal).signal).toBe(first.signal);
    expect(joinSignals(second.signal, first.signal).signal).toBe(first.signal);
    expect(listeners(second.signal)).toBe(0);
  });
});

describe('lease.release()', () => {
  it('refuses an argument with LITEPOOL_INVALID_ARGUMENT, and the lease stays held', async () => {
    const db = await pools.fresh({ readers: 2 });
    const lease = await db.acquire();
    const refused = await rejection((lease.release as (options: unknown) => Promise<void>)({ x: 1 }));
    expect(refused).toBeInstanceOf(TypeError);
    expect(refused.code).toBe('LITEPOOL_INVALID_ARGUMENT');
    expect(lease.ended).toBe(false);
    expect(db.stats().readers.pinned).toBe(1);
    expect(await lease.get('SELECT 1 AS x')).toEqual({ x: 1 });
    await lease.release();
    expect(lease.ended).toBe(true);
    expect(db.stats().readers.pinned).toBe(0);
  });
});

describe('lease.write', () => {
  it('is false for a read lease, also on the writer of a pool without readers', async () => {
    const db = await pools.fresh({ readers: 0 });
    const read = await db.acquire();
    try {
      expect(read.write).toBe(false);
      expect(await rejection(read.run("INSERT INTO t (v) VALUES ('x')"))).toMatchObject({ code: 'SQLITE_READONLY' });
    } finally {
      await read.release();
    }
    const write = await db.acquire({ write: true });
    try {
      expect(write.write).toBe(true);
      await write.run("INSERT INTO t (v) VALUES ('y')");
    } finally {
      await write.release();
    }
    const withReaders = await pools.fresh({ readers: 2 });
    const lease = await withReaders.acquire();
    expect(lease.write).toBe(false);
    await lease.release();
  });
});

describe('stats().readers.idle', () => {
  it('counts the readers neither busy nor pinned', async () => {
    const db = await pools.fresh({ readers: 3, healthCheck: false });
    expect(db.stats().readers).toEqual({ size: 3, busy: 0, idle: 3, pinned: 0 });
    const one = await db.acquire();
    const two = await db.acquire();
    expect(db.stats().readers).toEqual({ size: 3, busy: 0, idle: 1, pinned: 2 });
    await one.release();
    expect(db.stats().readers).toEqual({ size: 3, busy: 0, idle: 2, pinned: 1 });
    await two.release();
    expect(db.stats().readers).toEqual({ size: 3, busy: 0, idle: 3, pinned: 0 });
  });

  it('counts a pinned reader running its lease\'s query once, as pinned: the others stay idle', async () => {
    const db = await pools.fresh({ readers: 3, healthCheck: false });
    const lease = await db.acquire();
    const controller = new AbortController();
    const running = rejection(lease.get(ENDLESS, [], { signal: controller.signal }));
    // Until the reader has taken the query (busy), counts may still show it idle-but-pinned.
    let seen = db.stats().readers;
    for (let i = 0; i < 2000 && seen.busy === 0; i++) {
      await turn();
      seen = db.stats().readers;
    }
    controller.abort(new Error('stop'));
    await running;
    await lease.release();
    expect(seen).toEqual({ size: 3, busy: 1, idle: 2, pinned: 1 });
  });
});

describe('a read lease on the writer (a pool without readers)', () => {
  it("refuses its caller's PRAGMA query_only (SQLITE_AUTH), so it cannot write; a write lease may set it", async () => {
    const db = await pools.fresh({ readers: 0 });
    const read = await db.acquire();
    try {
      expect(await rejection(read.exec('PRAGMA query_only = OFF'))).toMatchObject({ code: 'SQLITE_AUTH' });
      expect(await rejection(read.run('PRAGMA query_only = 0'))).toMatchObject({ code: 'SQLITE_AUTH' });
      expect(await rejection(read.run("INSERT INTO t (v) VALUES ('sneaky')"))).toMatchObject({ code: 'SQLITE_READONLY' });
      // Nor any other setting, nor ATTACH/DETACH: the writer is left as the lease found it.
      for (const sql of ['PRAGMA synchronous = OFF', 'PRAGMA foreign_keys = 0', 'PRAGMA main.cache_size = 5', "ATTACH ':memory:' AS other"]) {
        expect(await rejection(read.exec(sql)), sql).toMatchObject({ code: 'SQLITE_AUTH' });
      }
      // Reading settings and the PRAGMAs that report are allowed.
      expect(await read.get('PRAGMA query_only', [], { rowMode: 'array' })).toEqual([1]);
      expect((await read.all('PRAGMA table_info(t)')).length).toBe(2);
      expect((await read.all('PRAGMA database_list')).length).toBe(1);
    } finally {
      await read.release();
    }
    // A snapshot and a pool iteration hold the writer read-only the same way.
    expect(await rejection(db.read((conn) => conn.run('PRAGMA query_only = OFF')))).toMatchObject({ code: 'SQLITE_AUTH' });
    const iterated = await rejection((async () => {
      for await (const row of db.iterate('PRAGMA query_only = OFF')) void row;
    })());
    expect(iterated).toMatchObject({ code: 'SQLITE_AUTH' });
    const write = await db.acquire({ write: true });
    try {
      await write.exec('PRAGMA query_only = ON');
      await write.exec('PRAGMA query_only = OFF');
      await write.run("INSERT INTO t (v) VALUES ('written')");
    } finally {
      await write.release();
    }
    expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'written' }]);
  });
});
