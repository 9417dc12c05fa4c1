// db.iterate() iterations the pool ends itself, or whose iterator is dropped unfinished, are not
// kept by the pool until close(). One ended by maxReadDuration is reported (onQuery) and let go at
// once. An iterator dropped after one next() (no return(), no break) is not kept reachable by the
// pool: once the garbage collector takes it, its iteration ends (a reader it held is free again)
// and is reported, as a consumer that stopped early.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { TransactionTimeoutError, type Pool, type PoolOptions, type QueryEvent } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('abandoned-iterations');

const SERIES = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT x FROM c';

// gc() in this process (vitest does not start it with --expose-gc).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function filled(options: PoolOptions, rows: number): Promise<Pool> {
  const db = await pools.open(options);
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)');
  await db.run(`INSERT INTO t (id, v) SELECT x, 0 FROM (${SERIES})`, [rows]);
  return db;
}

function observed(db: Pool): QueryEvent[] {
  const events: QueryEvent[] = [];
  db.observe({ onQuery: (event) => void events.push(event) });
  return events;
}

/**
 * Collects garbage a few times, with turns of the event loop between, until at most one of `refs`
 * is reachable (the engine may keep the last iterator started reachable from its own registers).
 */
async function collected(refs: WeakRef<object>[]): Promise<number> {
  const alive = (): number => refs.filter((ref) => ref.deref() !== undefined).length;
  // (deref() keeps its target until the job ends: gc() runs in a later one.)
  for (let i = 0; i < 30; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (alive() <= 1) break;
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
  return alive();
}

/** Waits, collecting garbage, until `done()`. */
async function until(done: () => boolean): Promise<boolean> {
  for (let i = 0; i < 30 && !done(); i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return done();
}

/** Starts `count` iterations, one next() each, and drops their iterators; the WeakRefs are to the signal each iteration keeps. */
async function dropped(db: Pool, count: number, rows: number): Promise<WeakRef<AbortSignal>[]> {
  const refs: WeakRef<AbortSignal>[] = [];
  for (let i = 0; i < count; i++) {
    const signal = new AbortController().signal;
    const iterator = db.iterate('SELECT id FROM t WHERE id <= ? ORDER BY id', [rows], { signal, chunkSize: 10 });
    expect((await iterator.next()).done).toBe(false);
    refs.push(new WeakRef(signal));
  }
  return refs;
}

const iterateEvents = (events: QueryEvent[]): QueryEvent[] => events.filter((event) => event.operation === 'iterate');

describe('an iteration ended by maxReadDuration', () => {
  it('is reported and lets its reader go at once, not at close(); its iterator then pulls the timeout', async () => {
    const db = await filled({ readers: 2, maxReadDuration: 100 }, 1000);
    const events = observed(db);
    const iterator = db.iterate('SELECT id FROM t ORDER BY id', [], { chunkSize: 10 });
    expect((await iterator.next()).done).toBe(false);
    expect(db.stats().readers.pinned).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(db.stats().readers.pinned).toBe(0);
    expect(iterateEvents(events).map((event) => event.error?.code)).toEqual([new TransactionTimeoutError(100, 'x').code]);
    // The rows of the chunks already fetched are handed out; the pull past them rejects.
    let pulled: unknown;
    try {
      while (!(await iterator.next()).done);
    } catch (error) {
      pulled = error;
    }
    expect(pulled).toBeInstanceOf(TransactionTimeoutError);
    expect(iterateEvents(events)).toHaveLength(1);
  });

  it('the pool forgets it then: dropped after that, with no gc before the deadline, the pool does not keep it', async () => {
    const db = await filled({ readers: 4, maxReadDuration: 100 }, 1000);
    const events = observed(db);
    const refs = await dropped(db, 3, 1000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(iterateEvents(events)).toHaveLength(3);
    expect(db.stats().readers.pinned).toBe(0);
    expect(await collected(refs)).toBeLessThanOrEqual(1);
  });
});

describe('an iterator dropped after one next()', () => {
  it('50 whose rows fit the first chunk: the pool does not keep them, and each is reported', async () => {
    const db = await filled({ readers: 2, maxReadDuration: 600_000 }, 1000);
    const events = observed(db);
    const refs = await dropped(db, 50, 5);
    expect(await collected(refs)).toBeLessThanOrEqual(1);
    expect(await until(() => iterateEvents(events).length >= 49)).toBe(true);
    expect(iterateEvents(events).every((event) => event.error === undefined)).toBe(true);
  });

  it('50 with rows left: each reader it held is free again, without close()', async () => {
    const db = await filled({ readers: 4, maxReadDuration: 600_000 }, 1000);
    const events = observed(db);
    // With every pin taken, the later ones would wait for one: dropped in rounds the pins allow.
    const refs: WeakRef<AbortSignal>[] = [];
    for (let round = 0; round < 25; round++) {
      refs.push(...(await dropped(db, 2, 1000)));
      expect(await until(() => db.stats().readers.pinned <= 1)).toBe(true);
    }
    expect(await collected(refs)).toBeLessThanOrEqual(1);
    expect(await until(() => iterateEvents(events).length >= 49)).toBe(true);
    expect(db.stats().readers.pinned).toBeLessThanOrEqual(1);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1000 });
  });
});
