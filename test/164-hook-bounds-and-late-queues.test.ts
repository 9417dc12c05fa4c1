// An onConnection hook that never settles is bounded by acquireTimeout: at open() it fails open()
// with LITEPOOL_CONNECTION_HOOK and leaves no thread or open file behind (the hooks still running
// on other connections let go, their late calls refused); on a replacement it fails as a hook that
// throws (what waits for the connection gets LITEPOOL_CONNECTION_UNAVAILABLE, the cause attached),
// and close() waits for a hook under way no longer than that bound: a slow hook that settles lets
// what waits for its connection run before the pool closes, one that does not is failed at its
// bound, its later calls on its connection refused. A write queue whose options close()
// the pool is refused with PoolClosedError, and a queue made before close() refuses entries once
// close() collected it. A statement that writes, sent where nothing writes, says why: db.iterate()
// only reads, a reader connection only reads, and without readers the writer is held read-only.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LitepoolError,
  PoolClosedError,
  QueueClosedError,
  ScopeEndedError,
  SqliteError,
  open,
  type ConnectionHandle,
  type NewConnection,
  type Pool,
  type PoolOptions,
} from '../lib/index.ts';
import { isReadOnlySessionRefusal } from '../lib/request/outcome.ts';
import { Status } from '../lib/native/contract.ts';
import type { Request } from '../lib/request/requests.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection, settleOrReport, sleep } from './helpers/waits.ts';

const pools = tempPools('hook-bounds');

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
 * The files of the database at `path` this process still has open: none once every connection
 * closed. (That a failed open() also removes the -wal and -shm files is test 167's.)
 */
function filesHeld(path: string): string[] {
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.startsWith(path));
}

function leftBeside(path: string): string[] {
  const name = basename(path);
  return readdirSync(dirname(path)).filter((file) => file.startsWith(`${name}-`));
}

/** Polls `check` every 10 ms until it holds; false after `ms`. */
async function until(check: () => boolean, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

/** How `promise` settles, or 'pending' after `ms` (a generous upper bound). */
async function settles(promise: Promise<unknown>, ms = 10_000): Promise<{ status: string; value?: unknown; reason?: any }> {
  const [outcome] = await settleOrReport([promise], ms);
  return outcome as { status: string; value?: unknown; reason?: any };
}

const never = (): Promise<never> => new Promise<never>(() => {});

/** What `call` rejects with (or `'fulfilled'`), captured at once so that no rejection goes unhandled. */
const caught = (call: Promise<unknown>): Promise<unknown> => call.then(() => 'fulfilled', (error: unknown) => error);

/**
 * A pool on a new file with table t whose hook runs normally at open() and never settles on the
 * replacements of `role`'s connection; `handles` holds the handles of those replacements' hooks.
 * Opened without tempPools: a close() that never settles must fail the test, not its teardown.
 */
async function hangingReplacements(role: 'reader' | 'writer', options: PoolOptions): Promise<{ db: Pool; path: string; handles: NewConnection[] }> {
  const path = pools.file();
  const setup = await open(path, { readers: 0 });
  await setup.exec('CREATE TABLE t (a)');
  await setup.close();
  let opened = false;
  const handles: NewConnection[] = [];
  const db = await open(path, {
    healthCheck: { intervalMs: 60_000 },
    ...options,
    onConnection: (conn) => {
      if (!opened || conn.role !== role) return undefined;
      handles.push(conn);
      return never();
    },
  });
  opened = true;
  return { db, path, handles };
}

/** Has the writer replaced now: a statement failing with SQLITE_CANTOPEN is fatal. */
async function breakWriter(db: Pool): Promise<void> {
  const error = await rejection(db.exec("ATTACH '/nonexistent-dir-litepool/x.db' AS x"));
  expect((error as SqliteError).code).toMatch(/^SQLITE_CANTOPEN/);
}

describe('an onConnection hook that never settles, at open()', () => {
  it('makes open() reject with LITEPOOL_CONNECTION_HOOK within a bound, leaving no thread or open file', async () => {
    const before = litepoolThreads();
    const path = pools.file();
    const outcome = await settles(open(path, { readers: 2, acquireTimeout: 300, onConnection: never }));
    expect(outcome.status).toBe('rejected');
    expect(outcome.reason).toBeInstanceOf(LitepoolError);
    expect(outcome.reason.code).toBe('LITEPOOL_CONNECTION_HOOK');
    expect(outcome.reason.message).toMatch(/did not settle within 300 ms/);
    expect(litepoolThreads()).toBe(before);
    expect(filesHeld(path)).toEqual([]);
    // The file opens afterwards.
    const db = await pools.openAt(path, { readers: 2 });
    expect(await db.get('SELECT 1 AS one')).toEqual({ one: 1 });
  });

  it('on readers only, with a statement of the hook running: the statement is cancelled, later calls refused', async () => {
    const before = litepoolThreads();
    const path = pools.file();
    const running: Promise<unknown>[] = [];
    const late: Promise<unknown>[] = [];
    const hook = async (conn: ConnectionHandle): Promise<void> => {
      if (conn.role === 'writer') return;
      running.push(caught(conn.get('WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r')));
      await sleep(600);
      late.push(caught(conn.get('SELECT 1')));
      await never();
    };
    const outcome = await settles(open(path, { readers: 2, acquireTimeout: 300, onConnection: hook }));
    expect(outcome.status).toBe('rejected');
    expect(outcome.reason.code).toBe('LITEPOOL_CONNECTION_HOOK');
    for (const statement of await Promise.all(running)) expect(statement).toBeInstanceOf(LitepoolError);
    expect(await until(() => late.length === 2)).toBe(true);
    for (const call of await Promise.all(late)) expect(call).toBeInstanceOf(ScopeEndedError);
    expect(litepoolThreads()).toBe(before);
    expect(filesHeld(path)).toEqual([]);
  });

  it('does not delay open() failing on another connection: the hook still running is let go at once', async () => {
    const path = pools.file();
    const boom = new Error('reader boom');
    let calls = 0;
    let hanging: ConnectionHandle | undefined;
    const hook = async (conn: ConnectionHandle): Promise<void> => {
      if (conn.role === 'writer') return;
      if (calls++ === 0) {
        hanging = conn;
        return never();
      }
      await sleep(50);
      throw boom;
    };
    const startedAt = Date.now();
    const outcome = await settles(open(path, { readers: 2, acquireTimeout: 60_000, onConnection: hook }));
    expect(outcome.status).toBe('rejected');
    expect(outcome.reason.code).toBe('LITEPOOL_CONNECTION_HOOK');
    expect(outcome.reason.cause).toBe(boom);
    // Well before the hanging hook's bound of 60 s.
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(await rejection(hanging!.get('SELECT 1'))).toBeInstanceOf(ScopeEndedError);
    expect(filesHeld(path)).toEqual([]);
  });
});

describe('an onConnection hook that never settles, on a replacement', () => {
  it('fails what waits for the writer with LITEPOOL_CONNECTION_UNAVAILABLE, the hook failure as cause; close() resolves', async () => {
    const { db, path } = await hangingReplacements('writer', { readers: 1, acquireTimeout: 300 });
    await breakWriter(db);
    const write = await settles(db.run('INSERT INTO t VALUES (1)'));
    expect(write.status).toBe('rejected');
    expect(write.reason.code).toBe('LITEPOOL_CONNECTION_UNAVAILABLE');
    expect(write.reason.cause.code).toBe('LITEPOOL_CONNECTION_HOOK');
    expect(write.reason.cause.message).toMatch(/did not settle within 300 ms/);
    // A transaction waiting for the writer settles typed too (its acquire may time out first).
    const transaction = await settles(db.transaction((tx) => tx.run('INSERT INTO t VALUES (2)')));
    expect(transaction.status).toBe('rejected');
    expect(transaction.reason).toBeInstanceOf(LitepoolError);
    expect(['LITEPOOL_CONNECTION_UNAVAILABLE', 'LITEPOOL_ACQUIRE_TIMEOUT']).toContain(transaction.reason.code);
    // The reader serves reads meanwhile.
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    expect(db.stats().connections.failures).toBeGreaterThanOrEqual(1);
    expect((await settles(db.close())).status).toBe('fulfilled');
    expect(leftBeside(path)).toEqual([]);
  });

  it('close() called while the writer hook runs waits for it up to its bound, then resolves; what waited fails typed, later calls on it are refused', async () => {
    const { db, path, handles } = await hangingReplacements('writer', { readers: 1, acquireTimeout: 1000 });
    await breakWriter(db);
    expect(await until(() => handles.length === 1)).toBe(true);
    const write = settles(db.run('INSERT INTO t VALUES (1)'), 20_000);
    expect((await settles(db.close())).status).toBe('fulfilled');
    const waited = await write;
    expect(waited.status).toBe('rejected');
    expect(waited.reason.code).toBe('LITEPOOL_CONNECTION_UNAVAILABLE');
    expect(waited.reason.cause.message).toMatch(/did not settle within 1000 ms/);
    expect(await rejection(handles[0]!.run('INSERT INTO t VALUES (2)'))).toBeInstanceOf(LitepoolError);
    expect(leftBeside(path)).toEqual([]);
    const again = await pools.openAt(path, { readers: 1 });
    expect(await again.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
  });

  it('close() called while a reader hook runs resolves by its bound; a read waiting for a reader fails typed', async () => {
    const { db, path, handles } = await hangingReplacements('reader', { readers: 1, acquireTimeout: 1000 });
    const probe = db.toolkit.health!;
    probe.failNextProbe(0);
    probe.probeNow(0);
    expect(await until(() => handles.length === 1)).toBe(true);
    const read = settles(db.get('SELECT 1 AS one'), 20_000);
    const startedAt = Date.now();
    expect((await settles(db.close())).status).toBe('fulfilled');
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    const waited = await read;
    expect(waited.status).toBe('rejected');
    expect(waited.reason).toBeInstanceOf(LitepoolError);
    expect(await rejection(handles[0]!.get('SELECT 1'))).toBeInstanceOf(LitepoolError);
    expect(leftBeside(path)).toEqual([]);
  });

  it('close() called while a slow hook that settles runs on a new writer: a write waiting for it commits before the pool closes', async () => {
    const path = pools.file();
    const setup = await open(path, { readers: 0 });
    await setup.exec('CREATE TABLE t (a)');
    await setup.close();
    let opened = false;
    let entered = 0;
    const db = await open(path, {
      readers: 1,
      acquireTimeout: 30_000,
      healthCheck: { intervalMs: 60_000 },
      onConnection: async (conn) => {
        if (!opened || conn.role !== 'writer') return;
        entered++;
        await new Promise((resolve) => setTimeout(resolve, 300));
        await conn.run('CREATE TEMP TABLE hooked (a)');
      },
    });
    opened = true;
    await breakWriter(db);
    expect(await until(() => entered === 1)).toBe(true);
    const write = settles(db.run('INSERT INTO t VALUES (1)'), 20_000);
    expect((await settles(db.close())).status).toBe('fulfilled');
    expect((await write).status).toBe('fulfilled');
    const again = await pools.openAt(path, { readers: 1 });
    expect(await again.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
  });
});

describe('write queues and close()', () => {
  it('a queue whose options close() the pool is refused with PoolClosedError', async () => {
    const db = await pools.fresh({ readers: 1 });
    let closing: Promise<void> | undefined;
    const options = {
      get capacity() {
        closing = db.close();
        return 5;
      },
    };
    expect(() => db.writeQueue(options)).toThrow(PoolClosedError);
    expect(db.closed).toBe(true);
    expect((await settles(closing!)).status).toBe('fulfilled');
  });

  it('a queue made before close() refuses entries once close() collected it, and loses none it accepted', async () => {
    const path = pools.file();
    const db = await pools.openAt(path, { readers: 1 });
    await db.exec('CREATE TABLE t (a)');
    const refused: unknown[] = [];
    const queue = db.writeQueue({ capacity: 5, onError: (error) => void refused.push(error) });
    expect(queue.push('INSERT INTO t VALUES (1)')).toBe(true);
    const closing = db.close();
    expect(queue.push('INSERT INTO t VALUES (2)')).toBe(false);
    expect(refused[0]).toBeInstanceOf(QueueClosedError);
    expect(await rejection(queue.enqueue('INSERT INTO t VALUES (3)'))).toBeInstanceOf(QueueClosedError);
    expect((await settles(closing)).status).toBe('fulfilled');
    expect(queue.push('INSERT INTO t VALUES (4)')).toBe(false);
    expect(await rejection(queue.enqueue('INSERT INTO t VALUES (5)'))).toBeInstanceOf(QueueClosedError);
    expect(queue.stats()).toMatchObject({ running: 0, depth: 0, accepted: 1, completed: 1 });
    const again = await pools.openAt(path, { readers: 1 });
    expect(await again.all('SELECT a FROM t')).toEqual([{ a: 1 }]);
  });
});

describe('a statement that writes, sent where nothing writes', () => {
  it('db.iterate() says iterate() only reads; a read lease and a snapshot say a reader connection only reads', async () => {
    const db = await pools.fresh({ readers: 1 }, 'CREATE TABLE t (a)');
    const consume = async (rows: AsyncIterable<unknown>): Promise<void> => {
      for await (const row of rows) void row;
    };
    const fromPool = await rejection(consume(db.iterate('INSERT INTO t VALUES (1) RETURNING a')));
    expect(fromPool).toBeInstanceOf(SqliteError);
    expect((fromPool as SqliteError).code).toBe('SQLITE_READONLY');
    expect((fromPool as Error).message).toMatch(/iterate\(\) runs on a reader and only reads: use run\(\) or all\(\)/);
    expect((fromPool as Error).message).not.toMatch(/lease or snapshot/);
    {
      await using lease = await db.acquire();
      const fromLease = await rejection(consume(lease.iterate('INSERT INTO t VALUES (2) RETURNING a')));
      expect((fromLease as Error).message).toMatch(/a reader connection only reads \(a read lease, a snapshot, an onConnection hook on a reader\)/);
    }
    const fromSnapshot = await rejection(db.read((conn) => conn.get('INSERT INTO t VALUES (3) RETURNING a')));
    expect((fromSnapshot as Error).message).toMatch(/a reader connection only reads/);
    // Nothing was written; the pool's all() runs it on the writer.
    expect(await db.all('INSERT INTO t VALUES (4) RETURNING a')).toEqual([{ a: 4 }]);
    expect(await db.all('SELECT a FROM t')).toEqual([{ a: 4 }]);
  });

  it('an onConnection hook on a reader is told a reader connection only reads', async () => {
    const seen: unknown[] = [];
    const db = await pools.open({
      readers: 1,
      onConnection: async (conn: NewConnection) => {
        if (conn.role === 'reader') seen.push(await rejection(conn.run('CREATE TABLE IF NOT EXISTS z (a)')));
      },
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(SqliteError);
    expect((seen[0] as SqliteError).code).toBe('SQLITE_READONLY');
    expect((seen[0] as Error).message).toMatch(/a reader connection only reads \(a read lease, a snapshot, an onConnection hook on a reader\): write through the pool/);
    expect(await db.all("SELECT name FROM sqlite_schema WHERE name = 'z'")).toEqual([]);
  });

  it('without readers, db.iterate(), a read lease and a snapshot say they hold the writer read-only', async () => {
    const db = await pools.fresh({ readers: 0 }, 'CREATE TABLE t (a)');
    const consume = async (rows: AsyncIterable<unknown>): Promise<void> => {
      for await (const row of rows) void row;
    };
    const expected = /attempt to write a readonly database: a read lease, snapshot or iteration only reads \(without readers it holds the writer read-only\)/;
    const fromPool = await rejection(consume(db.iterate('INSERT INTO t VALUES (1) RETURNING a')));
    expect(fromPool).toBeInstanceOf(SqliteError);
    expect((fromPool as SqliteError).code).toBe('SQLITE_READONLY');
    expect((fromPool as Error).message).toMatch(expected);
    {
      await using lease = await db.acquire();
      const fromLease = await rejection(lease.run('INSERT INTO t VALUES (2)'));
      expect((fromLease as SqliteError).code).toBe('SQLITE_READONLY');
      expect((fromLease as Error).message).toMatch(expected);
    }
    const fromSnapshot = await rejection(db.read((conn) => conn.get('INSERT INTO t VALUES (3) RETURNING a')));
    expect((fromSnapshot as Error).message).toMatch(expected);
    // The writer writes again once they are done; nothing of theirs was written.
    expect(await db.all('INSERT INTO t VALUES (4) RETURNING a')).toEqual([{ a: 4 }]);
    expect(await db.all('SELECT a FROM t')).toEqual([{ a: 4 }]);
  });

  it("keeps SQLite's own code and message for the extended SQLITE_READONLY codes (files the process may not write)", () => {
    const inSession = { route: { session: { readOnly: true } } } as unknown as Request;
    const outside = { route: { session: undefined } } as unknown as Request;
    expect(isReadOnlySessionRefusal(inSession, Status.SqliteFailed, 8)).toBe(true);
    // SQLITE_READONLY_RECOVERY, _CANTLOCK, _ROLLBACK, _CANTINIT: not the session's refusal.
    for (const extended of [264, 520, 776, 1288]) expect(isReadOnlySessionRefusal(inSession, Status.SqliteFailed, extended)).toBe(false);
    expect(isReadOnlySessionRefusal(outside, Status.SqliteFailed, 8)).toBe(false);
  });
});
