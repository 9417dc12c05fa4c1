// Covers connection health: the onConnection hook (run once per connection at open, with the
// right roles, before open() resolves; its TEMP VIEW visible on the writer and every reader, with
// query_only lifted for the hook and restored afterwards on readers; a hook that throws, sync or
// async, on every connection or on readers only, fails open() with LITEPOOL_CONNECTION_HOOK and
// the thrown error as cause, leaving no thread behind), validation of onConnection and
// idleTimeout, replacement of idle connections (stats().connections.replaced, the hook run again
// on the new connections), no idle replacement of a writer kept busy, replacement of the writer
// after a fatal SQLITE_CANTOPEN, a leased reader (and its open read transaction) never replaced
// under its lease, and close() while a replacement is under way.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  LitepoolError,
  ScopeEndedError,
  SqliteError,
  open,
  type ConnectionHandle,
  type Pool,
  type PoolOptions,
} from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection, sleep } from './helpers/waits.ts';

const pools = tempPools('health');

/** Threads of this process that litepool's workers named (litepool-writer, litepool-reader). */
function litepoolThreads(): number {
  let count = 0;
  for (const task of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${task}/comm`, 'utf8').startsWith('litepool-')) count++;
    } catch {
      // The thread ended while we looked.
    }
  }
  return count;
}

/**
 * A hook that records each call's role and creates TEMP VIEW health on the new connection; the
 * view's `gen` column is the number of the hook call that created it (1, 2, 3...).
 */
function recorder(delayMs = 0) {
  const roles: ('reader' | 'writer')[] = [];
  const handles: ConnectionHandle[] = [];
  const hook = async (conn: ConnectionHandle): Promise<void> => {
    roles.push(conn.role);
    handles.push(conn);
    const gen = roles.length;
    if (delayMs > 0) await sleep(delayMs);
    await conn.exec(`CREATE TEMP VIEW health AS SELECT 42 AS answer, ${gen} AS gen`);
  };
  return {
    hook,
    roles,
    handles,
    count: (role?: 'reader' | 'writer') => (role ? roles.filter((r) => r === role).length : roles.length),
  };
}

/** Polls `check` every 10 ms until it returns true or `ms` have passed; returns its last answer. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(10);
  }
}

/**
 * Reads the `health` view on every connection of a pool with `readers` readers: the writer through
 * a write lease, readers - 1 readers through read leases (each pins a distinct reader), and the
 * last reader through 50 concurrent db.get (the only reader left on the shared ring). Also reads
 * PRAGMA query_only on every reader. Returns the gens seen.
 */
async function everyConnection(db: Pool, readers: number): Promise<{ writer: number; readers: number[] }> {
  const writerLease = await db.acquire({ write: true });
  let writer: number;
  try {
    const row = await writerLease.get<{ answer: number; gen: number }>('SELECT answer, gen FROM health');
    expect(row?.answer).toBe(42);
    writer = row!.gen;
  } finally {
    await writerLease.release();
  }
  const leases = [];
  for (let i = 0; i < readers - 1; i++) leases.push(await db.acquire({ timeout: 5000 }));
  try {
    const gens: number[] = [];
    for (const lease of leases) {
      const row = await lease.get<{ answer: number; gen: number }>('SELECT answer, gen FROM health');
      expect(row?.answer).toBe(42);
      gens.push(row!.gen);
      expect(await lease.get('PRAGMA query_only')).toEqual({ query_only: 1 });
    }
    const rows = await Promise.all(Array.from({ length: 50 }, () => db.get<{ answer: number; gen: number }>('SELECT answer, gen FROM health')));
    for (const row of rows) expect(row?.answer).toBe(42);
    // Every one of those ran on the one reader not leased.
    expect(new Set(rows.map((row) => row!.gen)).size).toBe(1);
    gens.push(rows[0]!.gen);
    expect(await db.get('PRAGMA query_only')).toEqual({ query_only: 1 });
    return { writer, readers: gens };
  } finally {
    await Promise.all(leases.map((lease) => lease.release()));
  }
}

describe('onConnection at open', () => {
  it('runs once per connection with the right roles, before open() resolves', async () => {
    const rec = recorder(20);
    const db = await pools.open({ readers: 3, onConnection: rec.hook });
    // Checked synchronously after open() resolved: every hook call had already happened.
    expect(rec.count()).toBe(4);
    expect([...rec.roles].sort()).toEqual(['reader', 'reader', 'reader', 'writer']);
    expect(rec.count('writer')).toBe(1);
    // Every hook call had finished too: its view exists on every connection.
    const seen = await everyConnection(db, 3);
    expect([seen.writer, ...seen.readers].sort()).toEqual([1, 2, 3, 4]);
    // No replacement happened: the hook did not run again.
    expect(rec.count()).toBe(4);
    expect(db.stats().connections).toEqual({ replaced: 0, failures: 0 });
    // The handle given to the hook is ended once the hook returned.
    await expect(rec.handles[0]!.get('SELECT 1')).rejects.toBeInstanceOf(ScopeEndedError);
  });

  it("the hook's temp view is visible to every reader: 50 concurrent gets all succeed", async () => {
    const rec = recorder();
    const db = await pools.open({ readers: 3, onConnection: rec.hook });
    const rows = await Promise.all(Array.from({ length: 50 }, () => db.get<{ answer: number }>('SELECT answer FROM health')));
    expect(rows).toHaveLength(50);
    for (const row of rows) expect(row).toMatchObject({ answer: 42 });
  });

  it('query_only is restored on readers after the hook', async () => {
    const rec = recorder();
    const db = await pools.open({ readers: 3, onConnection: rec.hook });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    expect(await db.get('PRAGMA query_only')).toEqual({ query_only: 1 });
    const lease = await db.acquire();
    try {
      expect(await lease.get('PRAGMA query_only')).toEqual({ query_only: 1 });
      const error = await rejection(lease.run("INSERT INTO t (v) VALUES ('x')"));
      expect(error).toBeInstanceOf(SqliteError);
      expect((error as SqliteError).code).toMatch(/^SQLITE_READONLY/);
      // Not even a temp table can be written through a reader once the hook is over.
      const temp = await rejection(lease.exec('CREATE TEMP TABLE scratch (x)'));
      expect(temp).toBeInstanceOf(SqliteError);
      expect((temp as SqliteError).code).toMatch(/^SQLITE_READONLY/);
    } finally {
      await lease.release();
    }
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
  });
});

describe('a failing onConnection', () => {
  async function expectHookFailure(path: string, options: PoolOptions, thrown: unknown): Promise<void> {
    const error = await rejection(open(path, options));
    expect(error).toBeInstanceOf(LitepoolError);
    expect((error as LitepoolError).code).toBe('LITEPOOL_CONNECTION_HOOK');
    expect((error as Error).cause).toBe(thrown);
  }

  async function opensNormally(path: string): Promise<void> {
    const db = await open(path, { readers: 2 });
    await db.exec('CREATE TABLE IF NOT EXISTS after (x)');
    await db.run('INSERT INTO after (x) VALUES (1)');
    expect(await db.get('SELECT count(*) AS n FROM after')).toEqual({ n: 1 });
    await db.close();
  }

  it('a hook that throws synchronously makes open() reject, cause attached; the file opens afterwards', async () => {
    const before = litepoolThreads();
    const path = pools.file();
    const boom = new Error('sync boom');
    await expectHookFailure(path, { readers: 2, onConnection: () => { throw boom; } }, boom);
    expect(litepoolThreads()).toBe(before);
    await opensNormally(path);
    expect(litepoolThreads()).toBe(before);
  });

  it('a hook that rejects makes open() reject, cause attached; the file opens afterwards', async () => {
    const before = litepoolThreads();
    const path = pools.file();
    const boom = new Error('async boom');
    await expectHookFailure(path, { readers: 2, onConnection: async () => { await sleep(5); throw boom; } }, boom);
    expect(litepoolThreads()).toBe(before);
    await opensNormally(path);
    expect(litepoolThreads()).toBe(before);
  });

  it('a hook failing on readers only also fails open(); the file opens afterwards', async () => {
    const before = litepoolThreads();
    const path = pools.file();
    const boom = new Error('reader boom');
    const roles: string[] = [];
    await expectHookFailure(path, {
      readers: 3,
      onConnection: async (conn) => {
        roles.push(conn.role);
        if (conn.role === 'reader') throw boom;
      },
    }, boom);
    expect(roles).toContain('writer');
    expect(roles).toContain('reader');
    expect(litepoolThreads()).toBe(before);
    await opensNormally(path);
    expect(litepoolThreads()).toBe(before);
  });

  it('a hook whose statement fails makes open() reject with the SqliteError as cause', async () => {
    const before = litepoolThreads();
    const path = pools.file();
    const error = await rejection(open(path, { readers: 1, onConnection: (conn) => conn.exec('THIS IS NOT SQL') }));
    expect(error).toBeInstanceOf(LitepoolError);
    expect((error as LitepoolError).code).toBe('LITEPOOL_CONNECTION_HOOK');
    expect((error as Error).cause).toBeInstanceOf(SqliteError);
    expect(litepoolThreads()).toBe(before);
    await opensNormally(path);
  });
});

describe('option validation', () => {
  it('onConnection that is not a function is a TypeError', async () => {
    for (const bad of ['x', 1, {}, null, true]) {
      const error = await rejection(open(pools.file(), { onConnection: bad as never }));
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/onConnection/);
    }
  });

  it('idleTimeout below 1000 is a RangeError; not a number is a TypeError', async () => {
    const low = await rejection(open(pools.file(), { idleTimeout: 999 }));
    expect(low).toBeInstanceOf(RangeError);
    expect((low as Error).message).toMatch(/idleTimeout/);
    const wrong = await rejection(open(pools.file(), { idleTimeout: 'x' as never }));
    expect(wrong).toBeInstanceOf(TypeError);
    expect((wrong as Error).message).toMatch(/idleTimeout/);
    // The minimum itself is accepted.
    const db = await pools.open({ idleTimeout: 1000, readers: 1 });
    expect(await db.get('SELECT 1 AS one')).toEqual({ one: 1 });
  });
});

describe('idle replacement', () => {
  it('replaces every connection idle past idleTimeout and runs the hook on the new ones', async () => {
    const rec = recorder();
    const db = await pools.open({ readers: 2, idleTimeout: 1000, onConnection: rec.hook });
    expect(rec.count()).toBe(3);
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await db.run("INSERT INTO t (v) VALUES ('a')");
    await Promise.all(Array.from({ length: 20 }, () => db.get('SELECT count(*) AS n FROM t')));
    await sleep(2600);
    // Every replacement ran the hook exactly once: once none is half-way, the counts agree.
    let replaced = -1;
    const consistent = await until(() => {
      replaced = db.stats().connections.replaced;
      return rec.count() - 3 === replaced;
    }, 2000);
    expect(consistent, `hook calls ${rec.count()} - 3 vs replaced ${replaced}`).toBe(true);
    expect(replaced).toBeGreaterThanOrEqual(3);
    expect(db.stats().connections.failures).toBe(0);
    expect(rec.count('writer')).toBeGreaterThanOrEqual(2);
    expect(rec.count('reader')).toBeGreaterThanOrEqual(4);
    // Each of the three connections is a replacement (its view made by a later hook call).
    const seen = await everyConnection(db, 2);
    expect(seen.writer).toBeGreaterThan(3);
    for (const gen of seen.readers) expect(gen).toBeGreaterThan(3);
    expect(new Set(seen.readers).size).toBe(2);
    // Queries keep working, with the hook's view on every reader.
    const rows = await Promise.all(Array.from({ length: 50 }, () => db.get<{ answer: number }>('SELECT answer FROM health')));
    for (const row of rows) expect(row).toMatchObject({ answer: 42 });
    await db.run("INSERT INTO t (v) VALUES ('b')");
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 2 });
  });

  it('a writer kept busy is not replaced for idleness', async () => {
    const rec = recorder();
    const db = await pools.open({ readers: 2, idleTimeout: 1000, onConnection: rec.hook });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)');
    // A write and two reads every 50 ms, 50 times: the writer is never idle for idleTimeout, and
    // the sleeps alone (which never end early) span 2.5 s, so the idle check (every 500 ms) runs
    // several times meanwhile.
    const ROUNDS = 50;
    for (let i = 0; i < ROUNDS; i++) {
      const [run, ...rows] = await Promise.all([
        db.run('INSERT INTO t (v) VALUES (?)', [i]),
        db.get<{ answer: number }>('SELECT answer FROM health'),
        db.get<{ answer: number }>('SELECT answer FROM health'),
      ]);
      expect(run.changes).toBe(1);
      expect(rows).toEqual([{ answer: 42 }, { answer: 42 }]);
      await sleep(50);
    }
    expect(rec.count('writer')).toBe(1);
    expect(db.stats().connections.failures).toBe(0);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: ROUNDS });
  });
});

describe('replacement after a fatal error', () => {
  it('a SQLITE_CANTOPEN on the writer replaces it and runs the hook again', async () => {
    const rec = recorder();
    const db = await pools.open({ readers: 2, onConnection: rec.hook });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    expect(rec.count('writer')).toBe(1);
    const error = await rejection(db.exec("ATTACH '/nonexistent-dir-xyz/x.db' AS x"));
    expect(error).toBeInstanceOf(SqliteError);
    expect((error as SqliteError).code).toMatch(/^SQLITE_CANTOPEN/);
    const replaced = await until(() => db.stats().connections.replaced >= 1 && rec.count('writer') === 2, 2000);
    expect(replaced, `replaced ${db.stats().connections.replaced}, writer hook calls ${rec.count('writer')}`).toBe(true);
    expect(db.stats().connections.failures).toBe(0);
    expect(rec.count('reader')).toBe(2);
    // Later writes work, on a writer that has the hook's view again.
    await db.run("INSERT INTO t (v) VALUES ('after')");
    expect(await db.get('SELECT v FROM t')).toEqual({ v: 'after' });
    const lease = await db.acquire({ write: true });
    try {
      expect(await lease.get('SELECT answer, gen FROM health')).toEqual({ answer: 42, gen: 4 });
    } finally {
      await lease.release();
    }
  });
});

describe('leased readers', () => {
  it('a reader held by a lease is never replaced under it; its read transaction stays intact', async () => {
    const rec = recorder();
    const db = await pools.open({ readers: 2, idleTimeout: 1000, onConnection: rec.hook });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await db.run("INSERT INTO t (v) VALUES ('first')");
    const lease = await db.acquire();
    let released = false;
    try {
      const { gen } = (await lease.get<{ gen: number }>('SELECT gen FROM health'))!;
      expect(gen).toBeLessThanOrEqual(3);
      await lease.exec('BEGIN');
      expect(await lease.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
      await db.run("INSERT INTO t (v) VALUES ('second')");
      await sleep(2600);
      // Other connections were replaced meanwhile (they sat idle)...
      expect(db.stats().connections.replaced).toBeGreaterThanOrEqual(1);
      // ...but the leased one still runs the same transaction on the same connection.
      expect(await lease.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
      expect(await lease.get('SELECT gen FROM health')).toEqual({ gen });
      await lease.exec('COMMIT');
      expect(await lease.get('SELECT count(*) AS n FROM t')).toEqual({ n: 2 });
      await lease.release();
      released = true;
    } finally {
      if (!released) await lease.release();
    }
    // After the release the pool keeps working (a replacement of that reader may now happen).
    const rows = await Promise.all(Array.from({ length: 50 }, () => db.get<{ n: number }>('SELECT count(*) AS n FROM t')));
    for (const row of rows) expect(row).toEqual({ n: 2 });
    const seen = await everyConnection(db, 2);
    expect(seen.readers).toHaveLength(2);
  });
});

describe('close() during a replacement', () => {
  it('resolves while the writer is being replaced', async () => {
    // Replacement hooks are slow, so close() surely begins while one is under way.
    const rec = recorder();
    const slowAfterOpen = async (conn: ConnectionHandle): Promise<void> => {
      if (rec.count() >= 3) await sleep(300);
      await rec.hook(conn);
    };
    const path = pools.file();
    const db = await open(path, { readers: 2, onConnection: slowAfterOpen });
    const error = await rejection(db.exec("ATTACH '/nonexistent-dir-xyz/x.db' AS x"));
    expect((error as SqliteError).code).toMatch(/^SQLITE_CANTOPEN/);
    const closed = db.close();
    const outcome = await Promise.race([closed.then(() => 'closed'), sleep(10_000).then(() => 'hung')]);
    expect(outcome).toBe('closed');
    expect(db.closed).toBe(true);
    // close() waited for the replacement under way: its hook ran on the new writer.
    expect(rec.count('writer')).toBe(2);
    // The file opens again afterwards.
    const again = await pools.openAt(path, { readers: 2 });
    expect(await again.get('SELECT 1 AS one')).toEqual({ one: 1 });
  });

  it('resolves when close() follows the failure at once, without a slow hook', async () => {
    const rec = recorder();
    const path = pools.file();
    const db = await open(path, { readers: 2, onConnection: rec.hook });
    const failing = db.exec("ATTACH '/nonexistent-dir-xyz/x.db' AS x");
    const closed = db.close();
    const error = await rejection(failing);
    expect((error as SqliteError).code).toMatch(/^SQLITE_CANTOPEN/);
    const outcome = await Promise.race([closed.then(() => 'closed'), sleep(10_000).then(() => 'hung')]);
    expect(outcome).toBe('closed');
    const again = await pools.openAt(path, { readers: 2 });
    expect(await again.get('SELECT 1 AS one')).toEqual({ one: 1 });
  });
});
