// Covers values at the API boundary that used to slip through or fail untyped: an empty path
// (it is not taken as ':memory:'), pragmas that would take WAL or normal locking away from a file
// database (an in-memory one keeps any),
// an object dressed up as an AbortSignal, tx.transaction() without a function, Pool methods
// called on something else, insertMany() rows whose reading throws, sqliteCodeName() of a
// non-integer; a backup onto the database's own files, also through a linked directory; and a
// read snapshot whose callback tries to end its transaction (EXPLAIN of one passes) or, in a pool
// without readers, to write.
import { existsSync, mkdirSync, symlinkSync, lstatSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { open, sqliteCodeName } from '../lib/index.ts';
import { resolveOptions } from '../lib/input/options.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('boundary-values');
const invalid = expect.objectContaining({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' });
const outOfRange = expect.objectContaining({ name: 'RangeError', code: 'LITEPOOL_OUT_OF_RANGE' });
const misuse = expect.objectContaining({ name: 'RangeError', code: 'LITEPOOL_MISUSE' });
const outcome = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => 'resolved', (error: unknown) => error);

describe('open()', () => {
  it("refuses an empty path (':memory:' still opens an in-memory database)", async () => {
    expect(await outcome(open(''))).toEqual(outOfRange);
    const memory = await open(':memory:');
    expect(memory.path).toBe(':memory:');
    await memory.close();
  });

  it('refuses pragmas that change the journal mode or the locking mode, and accepts the values the pool uses', async () => {
    const refused: Record<string, string | number | boolean>[] = [
      { journal_mode: 'DELETE' },
      { JOURNAL_MODE: 'memory' },
      { journal_mode: 1 },
      { locking_mode: 'EXCLUSIVE' },
      { Locking_Mode: true },
    ];
    for (const pragmas of refused) {
      expect(await outcome(open(pools.file(), { pragmas }))).toEqual(outOfRange);
    }
    const db = await pools.open({ readers: 1, pragmas: { journal_mode: 'wal', locking_mode: 'Normal', constructor: 1 } as never });
    expect(await db.get('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' });
    await db.run('CREATE TABLE t (v)');
    await db.run('INSERT INTO t VALUES (1)');
    // The reader still reads beside the writer.
    expect(await db.get('SELECT COUNT(*) AS n FROM t')).toEqual({ n: 1 });
  });

  it('refuses setting the journal or locking mode once open (SQLITE_AUTH), on every connection and in every call; reading them works', async () => {
    for (const readers of [0, 2]) {
      const db = await pools.fresh({ readers });
      for (const sql of ['PRAGMA journal_mode = DELETE', 'pragma JOURNAL_MODE=memory', 'PRAGMA main.locking_mode = EXCLUSIVE', "PRAGMA 'locking_mode' = 'exclusive'"]) {
        for (const call of [() => db.exec(sql), () => db.run(sql), () => db.get(sql), () => db.transaction((tx) => tx.exec(sql))]) {
          expect(await call().then(() => 'ran', (error: { code?: string }) => error.code)).toBe('SQLITE_AUTH');
        }
      }
      expect(await db.get('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' });
      expect(await db.get('PRAGMA locking_mode')).toEqual({ locking_mode: 'normal' });
      await db.run("INSERT INTO t (v) VALUES ('still WAL')");
      expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'still WAL' }]);
      await db.close();
      // No -shm left behind by a WAL index read on a writer switched out of WAL mode.
      expect(existsSync(`${db.path}-shm`)).toBe(false);
    }
  });

  it('leaves the journal and locking modes of an in-memory database (one connection, no WAL) to the caller', async () => {
    const memory = await open(':memory:', { pragmas: { journal_mode: 'MEMORY', locking_mode: 'EXCLUSIVE' } });
    expect(await memory.get('PRAGMA journal_mode')).toEqual({ journal_mode: 'memory' });
    expect(await memory.get('PRAGMA locking_mode')).toEqual({ locking_mode: 'exclusive' });
    await memory.run('CREATE TABLE m (v)');
    await memory.run('INSERT INTO m VALUES (1)');
    expect(await memory.get('SELECT COUNT(*) AS n FROM m')).toEqual({ n: 1 });
    await memory.close();
  });
});

describe('busyTimeout: 0', () => {
  it('opens new files every time: the pool\'s own connections wait for each other while they open', async () => {
    const failures: string[] = [];
    for (let i = 0; i < 100; i++) {
      try {
        const db = await open(join(pools.dir, `busy0-${i}.db`), { busyTimeout: 0, readers: 3 });
        await db.get('SELECT 1');
        await db.close();
      } catch (error) {
        failures.push((error as { code?: string }).code ?? String(error));
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('signals', () => {
  it('refuses an object that only looks like an AbortSignal', async () => {
    const db = await pools.fresh({ readers: 1 });
    const fake = Object.create(AbortSignal.prototype) as AbortSignal;
    expect(await outcome(db.get('SELECT 1', [], { signal: fake }))).toEqual(invalid);
    expect(await outcome(db.transaction(() => undefined, { signal: fake }))).toEqual(invalid);
    expect(await outcome(db.acquire({ signal: fake }))).toEqual(invalid);
    // A real one is still taken.
    expect(await db.get('SELECT 1 AS one', [], { signal: new AbortController().signal })).toEqual({ one: 1 });
  });
});

describe('tx.transaction()', () => {
  it('refuses a value that is not a function, and the transaction goes on', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.transaction(async (tx) => {
      await tx.run("INSERT INTO t (v) VALUES ('before')");
      expect(await outcome(tx.transaction(42 as never))).toEqual(invalid);
      expect(await outcome(tx.transaction(undefined as never))).toEqual(invalid);
      // Options are its parent's: given here they are refused, not ignored.
      expect(await outcome((tx.transaction as (...args: unknown[]) => Promise<unknown>)(() => undefined, { timeout: 5 }))).toEqual(invalid);
      await tx.run("INSERT INTO t (v) VALUES ('after')");
    });
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'before' }, { v: 'after' }]);
  });
});

describe('Pool methods called on something else', () => {
  it('reject with a TypeError instead of throwing', async () => {
    const db = await pools.fresh({ readers: 1 });
    const stranger = {};
    for (const call of [
      () => db.checkpoint.call(stranger),
      () => db.backup.call(stranger, pools.file()),
      () => db.vacuumInto.call(stranger, pools.file()),
      () => db.integrityCheck.call(stranger),
      () => db.ping.call(undefined),
      () => db.migrate.call(stranger, { dir: 'migrations' }),
    ]) {
      let result: Promise<unknown> | undefined;
      expect(() => (result = call() as Promise<unknown>)).not.toThrow();
      expect(await outcome(result!)).toEqual(invalid);
    }
  });
});

describe('insertMany() rows whose reading throws', () => {
  it('rejects with a TypeError naming the row, its cause the caller’s error, and a failed call inserts nothing', async () => {
    const db = await pools.fresh({ readers: 1 });
    const boom = new Error('getter failed');
    const rows: Record<string, unknown>[] = [{ v: 'a' }, { v: 'b' }];
    Object.defineProperty(rows[1], 'v', { enumerable: true, get: () => { throw boom; } });
    const failed = (await outcome(db.insertMany('t', rows as never))) as Error;
    expect(failed).toEqual(invalid);
    expect(failed.message).toContain('rows[1]');
    expect(failed.cause).toBe(boom);

    // Many blocks (inside one transaction): the row deep in the array fails it all.
    const many = Array.from({ length: 3000 }, (_, i) => ({ v: `row ${i}` }) as Record<string, unknown>);
    many[2500] = new Proxy({ v: 'x' }, { ownKeys: () => { throw boom; } });
    const failedDeep = (await outcome(db.insertMany('t', many as never))) as Error;
    expect(failedDeep).toEqual(invalid);
    expect(failedDeep.message).toContain('rows[2500]');
    expect(failedDeep.cause).toBe(boom);

    // A proxy array whose first row cannot be read.
    const trap = new Proxy([{ v: 'a' }], { get: (target, key) => (key === '0' ? (() => { throw boom; })() : Reflect.get(target, key)) });
    const failedFirst = (await outcome(db.insertMany('t', trap as never))) as Error;
    expect(failedFirst).toEqual(invalid);
    expect(failedFirst.cause).toBe(boom);

    // Revoked proxies as the array or as its first row: the TypeError of the proxy is the cause.
    const revokedRows = Proxy.revocable([{ v: 'a' }], {});
    revokedRows.revoke();
    const failedArray = (await outcome(db.insertMany('t', revokedRows.proxy as never))) as Error;
    expect(failedArray).toEqual(invalid);
    expect(failedArray.cause).toBeInstanceOf(TypeError);
    const revokedRow = Proxy.revocable({ v: 'a' }, {});
    revokedRow.revoke();
    const failedRow = (await outcome(db.insertMany('t', [revokedRow.proxy] as never))) as Error;
    expect(failedRow).toEqual(invalid);
    expect(failedRow.message).toContain('rows[0]');

    // A length that throws when read a second time is read once.
    let lengthReads = 0;
    const once = new Proxy([{ v: 'a' }, { v: 'b' }], {
      get: (target, key) => {
        if (key === 'length' && ++lengthReads > 1) throw boom;
        return Reflect.get(target, key);
      },
    });
    expect(await db.insertMany('t', once as never)).toBe(2);
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'a' }, { v: 'b' }]);
  });
});

describe('sqliteCodeName()', () => {
  it('names an integer code, and no non-integer SQLITE_OK', () => {
    expect(sqliteCodeName(2067)).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(sqliteCodeName(0)).toBe('SQLITE_OK');
    expect(sqliteCodeName(Number.NaN)).toBe('SQLITE_UNKNOWN_NaN');
    expect(sqliteCodeName(0.5)).toBe('SQLITE_UNKNOWN_0.5');
    // An unknown extended code of a known primary code falls back to it...
    expect(sqliteCodeName(19 | (200 << 8))).toBe('SQLITE_CONSTRAINT');
    // ...but a primary part of 0, a negative number or one past 31 bits names nothing.
    for (const code of [768, 4096, -256, -19, 2 ** 31, 2 ** 32, 2 ** 32 + 19, 1e20]) {
      expect(sqliteCodeName(code)).toBe(`SQLITE_UNKNOWN_${String(code)}`);
    }
  });
});

describe('transaction control inside db.read()', () => {
  it('refuses COMMIT, ROLLBACK, END and BEGIN, so the snapshot holds until the callback ends', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('old')");
    const seen = await db.read(async (conn) => {
      const before = await conn.get('SELECT COUNT(*) AS n FROM t');
      await db.run("INSERT INTO t (v) VALUES ('new')");
      const refused = [];
      for (const sql of ['COMMIT', 'ROLLBACK', 'END', 'BEGIN']) refused.push(await outcome(conn.exec(sql)));
      refused.push(await outcome(conn.get('COMMIT')));
      const after = await conn.get('SELECT COUNT(*) AS n FROM t');
      return { before, after, refused };
    });
    expect(seen.refused).toHaveLength(5);
    for (const refusal of seen.refused) expect(refusal).toEqual(misuse);
    expect(seen.before).toEqual({ n: 1 });
    // Still the snapshot: the row written meanwhile is not visible inside it.
    expect(seen.after).toEqual({ n: 1 });
    expect(await db.get('SELECT COUNT(*) AS n FROM t')).toEqual({ n: 2 });
  });

  it('lets EXPLAIN of a transaction statement through (it runs nothing)', async () => {
    const db = await pools.fresh({ readers: 1 });
    const plans = await db.read(async (conn) => [await conn.all('EXPLAIN COMMIT'), await conn.all('EXPLAIN QUERY PLAN SELECT * FROM t')]);
    expect(plans[0]!.length).toBeGreaterThan(0);
    await db.transaction(async (tx) => {
      expect((await tx.all('EXPLAIN BEGIN')).length).toBeGreaterThan(0);
      await tx.exec('EXPLAIN ROLLBACK');
      await tx.run("INSERT INTO t (v) VALUES ('kept')");
    });
    expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'kept' }]);
  });
});

describe('backup() and vacuumInto() destinations', () => {
  it("refuse the database and its -wal, -shm and -journal files, also through a linked directory", async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('kept')");
    const file = db.path;
    const linkedDir = join(pools.dir, `linked-${basename(file)}`);
    symlinkSync(dirname(file), linkedDir);
    for (const dest of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`, join(linkedDir, basename(file)), join(linkedDir, `${basename(file)}-wal`)]) {
      expect(await outcome(db.backup(dest))).toEqual(outOfRange);
      expect(await outcome(db.vacuumInto(dest))).toEqual(outOfRange);
    }
    expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'kept' }]);
    expect((await db.integrityCheck()).ok).toBe(true);
  });

  it('replace a symbolic link at dest, never the file it points to', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('kept')");
    const dir = join(pools.dir, `links-${basename(db.path)}`);
    mkdirSync(dir);
    const older = join(dir, 'older.db');
    await db.vacuumInto(older);
    await db.run("INSERT INTO t (v) VALUES ('later')");
    const link = join(dir, 'copy.db');
    symlinkSync(older, link);
    await db.backup(link);
    // The link became the new copy; the file it pointed to is the older copy still.
    expect(lstatSync(link).isSymbolicLink()).toBe(false);
    for (const [file, rows] of [[link, ['kept', 'later']], [older, ['kept']]] as const) {
      const copy = await open(file, { readers: 0 });
      expect((await copy.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((row) => row.v)).toEqual(rows);
      await copy.close();
    }
  });

  it('refuse a symbolic link to the database or its files: the pool may have been opened by it', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('kept')");
    const dir = join(pools.dir, `links-to-${basename(db.path)}`);
    mkdirSync(dir);
    const toDatabase = join(dir, 'app.db');
    symlinkSync(db.path, toDatabase);
    const toWal = join(dir, 'app.db-wal');
    symlinkSync(`${db.path}-wal`, toWal);
    const throughLink = await open(toDatabase, { readers: 1 });
    try {
      for (const pool of [db, throughLink]) {
        for (const dest of [toDatabase, toWal, throughLink.path]) {
          expect(await outcome(pool.backup(dest))).toEqual(outOfRange);
          expect(await outcome(pool.vacuumInto(dest))).toEqual(outOfRange);
        }
      }
      expect(lstatSync(toDatabase).isSymbolicLink()).toBe(true);
      await throughLink.run("INSERT INTO t (v) VALUES ('through the link')");
    } finally {
      await throughLink.close();
    }
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'kept' }, { v: 'through the link' }]);
  });
});

describe('db.read() without readers', () => {
  it("refuses writes (SQLITE_READONLY) on ':memory:' and readers: 0, and the writer writes again after it ends, however it ends", async () => {
    const readOnly = expect.objectContaining({ code: 'SQLITE_READONLY' });
    for (const start of [() => open(':memory:', { maxReadDuration: 200 }), () => pools.open({ readers: 0, maxReadDuration: 200 })]) {
      const db = await start();
      await db.exec('CREATE TABLE IF NOT EXISTS w (v)');
      // Resolved, thrown, and timed out (maxReadDuration).
      expect(await db.read((conn) => outcome(conn.run('INSERT INTO w VALUES (1)')))).toEqual(readOnly);
      expect(await outcome(db.read(async (conn) => {
        expect(await outcome(conn.exec('INSERT INTO w VALUES (2)'))).toEqual(readOnly);
        throw new Error('callback failed');
      }))).toEqual(expect.objectContaining({ message: 'callback failed' }));
      expect(await outcome(db.read(() => new Promise(() => undefined)))).toEqual(expect.objectContaining({ code: 'LITEPOOL_TRANSACTION_TIMEOUT' }));
      await db.run('INSERT INTO w VALUES (3)');
      await db.transaction((tx) => tx.run('INSERT INTO w VALUES (4)'));
      expect(await db.all('SELECT v FROM w ORDER BY v')).toEqual([{ v: 3 }, { v: 4 }]);
      await db.close();
    }
  });
});

describe('true for the options that take an object or false', () => {
  it('walMonitor, healthCheck and groupCommit: true mean on, with the defaults', async () => {
    const defaults = resolveOptions('app.db', {});
    const on = resolveOptions('app.db', { walMonitor: true, healthCheck: true, groupCommit: true });
    expect(on.walMonitor).toEqual(defaults.walMonitor);
    expect(on.healthCheck).toEqual(defaults.healthCheck);
    expect(on.groupCommit).toEqual(defaults.groupCommit);
    expect(on.walMonitor).not.toBe(false);
    const db = await pools.open({ readers: 1, walMonitor: true, healthCheck: true });
    expect(db.toolkit.health).toBeDefined();
    expect(await db.get('SELECT 1 AS one')).toEqual({ one: 1 });
  });
});
