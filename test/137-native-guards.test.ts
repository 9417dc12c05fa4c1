// Covers what the connections themselves guard (native/core/connection.cc):
// - a caller's statement may not set busy_timeout (it would replace the pool's busy handler) on
//   any connection, nor query_only on a reader (a read lease, a snapshot or a shared reader would
//   write, and its write lock would make the writer fail with SQLITE_BUSY): SQLITE_AUTH; the
//   pool's own requests still set query_only (the onConnection hook on readers);
// - run() and batch() report changes: 0 for statements that change no rows (DDL, PRAGMA, BEGIN),
//   not the count of the INSERT, UPDATE or DELETE before them;
// - transaction control is never iterated (it would leave a shared reader in a transaction);
// - a write cancelled while it ends: the promise tells what happened to the data (a write that
//   committed resolves; one that rejected as cancelled left no row).
import { describe, expect, it } from 'vitest';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('native-guards');

const codeOf = (promise: Promise<unknown>): Promise<string | undefined> =>
  promise.then(
    () => 'ran',
    (error: { code?: string }) => error.code,
  );

describe('PRAGMAs a caller may not set', () => {
  it('busy_timeout: refused on the writer and the readers, in every call; reading it works', async () => {
    for (const readers of [0, 2]) {
      const db = await pools.fresh({ readers });
      for (const sql of ['PRAGMA busy_timeout = 0', 'pragma BUSY_TIMEOUT=20000', 'PRAGMA main.busy_timeout = 1']) {
        for (const call of [() => db.exec(sql), () => db.run(sql), () => db.get(sql), () => db.transaction((tx) => tx.exec(sql)), () => db.read((r) => r.get(sql))]) {
          expect(await codeOf(call())).toBe('SQLITE_AUTH');
        }
      }
      expect(await db.get('PRAGMA busy_timeout')).toEqual({ timeout: 0 });
      await db.close();
    }
  });

  it("query_only: a reader's is refused (shared reader, read lease, snapshot); no write gets through, and the writer is never locked out", async () => {
    const db = await pools.fresh({ readers: 2 });
    expect(await codeOf(db.get('PRAGMA query_only = 0'))).toBe('SQLITE_AUTH');
    expect(await codeOf(db.all('pragma QUERY_ONLY = false'))).toBe('SQLITE_AUTH');
    expect(await codeOf(db.read((snapshot) => snapshot.exec('PRAGMA query_only = OFF')))).toBe('SQLITE_AUTH');
    const lease = await db.acquire();
    try {
      expect(await codeOf(lease.exec('PRAGMA query_only = 0'))).toBe('SQLITE_AUTH');
      expect(await codeOf(lease.run("INSERT INTO t (v) VALUES ('from a read lease')"))).toBe('SQLITE_READONLY');
      expect(await lease.get('PRAGMA query_only')).toEqual({ query_only: 1 });
      // The writer goes on: no reader holds the write lock.
      expect(await db.run("INSERT INTO t (v) VALUES ('writer')")).toMatchObject({ changes: 1 });
    } finally {
      await lease.release();
    }
    expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'writer' }]);
  });

  it("the pool's own requests still lift a reader's query_only for its onConnection hook", async () => {
    const seen: string[] = [];
    const db = await pools.fresh({
      readers: 1,
      onConnection: async (connection) => {
        // Temp tables need query_only off on a reader: the pool lifts it for the hook alone.
        await connection.exec('CREATE TEMP TABLE IF NOT EXISTS scratch (v)');
        seen.push(connection.role);
      },
    });
    expect(seen.sort()).toEqual(['reader', 'writer']);
    expect(await db.get('PRAGMA query_only')).toEqual({ query_only: 1 });
  });

  it('on the writer, query_only stays the caller\'s to set (a pool made read-only on purpose)', async () => {
    const db = await pools.fresh({ readers: 0 });
    await db.exec('PRAGMA query_only = ON');
    expect(await codeOf(db.run("INSERT INTO t (v) VALUES ('x')"))).toBe('SQLITE_READONLY');
    await db.exec('PRAGMA query_only = OFF');
    expect(await db.run("INSERT INTO t (v) VALUES ('x')")).toMatchObject({ changes: 1 });
  });
});

describe('changes of statements that change no rows', () => {
  it('run(): DDL, PRAGMA and transaction control report 0, not the previous write\'s count', async () => {
    const db = await pools.fresh({ readers: 1 });
    expect(await db.run("INSERT INTO t (v) VALUES ('a'), ('b'), ('c'), ('d'), ('e')")).toMatchObject({ changes: 5 });
    for (const sql of ['CREATE TABLE u (x)', 'CREATE INDEX u_x ON u (x)', 'PRAGMA user_version = 3', 'DROP INDEX u_x', 'ANALYZE']) {
      expect((await db.run(sql)).changes).toBe(0);
    }
    expect(await db.run("UPDATE t SET v = v || '!' WHERE v IN ('a', 'b')")).toMatchObject({ changes: 2 });
    expect(await db.run("UPDATE t SET v = 'none' WHERE v = 'missing'")).toMatchObject({ changes: 0 });
    const lease = await db.acquire({ write: true });
    try {
      expect((await lease.run('BEGIN')).changes).toBe(0);
      expect((await lease.run("DELETE FROM t WHERE v = 'c'")).changes).toBe(1);
      expect((await lease.run('COMMIT')).changes).toBe(0);
    } finally {
      await lease.release();
    }
  });

  it('batch(): each statement its own count, 0 for DDL', async () => {
    const db = await pools.fresh({ readers: 1 });
    const results = await db.batch([
      { sql: "INSERT INTO t (v) VALUES ('a'), ('b')" },
      { sql: 'CREATE TABLE u (x)' },
      { sql: 'INSERT INTO u (x) VALUES (1)' },
      { sql: 'CREATE INDEX u_x ON u (x)' },
    ]);
    expect(results.map((result) => result.changes)).toEqual([2, 0, 1, 0]);
  });
});

describe('transaction control in an iteration', () => {
  it('is refused (LITEPOOL_MISUSE) and leaves no transaction open on the reader', async () => {
    const db = await pools.fresh({ readers: 1 });
    for (const sql of ['BEGIN', 'SAVEPOINT s', 'COMMIT']) {
      const refused = await db
        .iterate(sql)
        .next()
        .then(
          () => 'ran',
          (error: { code?: string }) => error.code,
        );
      expect(refused).toBe('LITEPOOL_MISUSE');
      // The only reader is in no transaction: the next read runs.
      expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    }
  });
});

describe('a write cancelled while it ends', () => {
  it('never rejects as cancelled once it committed, nor resolves without its row (2,000 writes, every other one aborted at once)', async () => {
    for (const groupCommit of [false, true]) {
      const db = await pools.fresh({ readers: 1, groupCommit });
      const outcomes = await Promise.all(
        Array.from({ length: 2000 }, (_, i) => {
          const controller = new AbortController();
          const write = db.run('INSERT INTO t (id, v) VALUES (?, ?)', [i + 1, 'x'.repeat(200)], { signal: controller.signal });
          if (i % 2 === 0) controller.abort(new Error(`aborted ${i + 1}`));
          return write.then(
            () => ({ id: i + 1, committed: true }),
            () => ({ id: i + 1, committed: false }),
          );
        }),
      );
      const rows = new Set((await db.all<{ id: number }>('SELECT id FROM t')).map((row) => row.id));
      const wrong = outcomes.filter((outcome) => outcome.committed !== rows.has(outcome.id));
      expect(wrong).toEqual([]);
      await db.close();
    }
  });
});
