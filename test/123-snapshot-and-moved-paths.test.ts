// A snapshot on the writer (db.read() without readers) leaves the writer as it found it: a call
// on its handle after the callback settled is refused (ScopeEndedError) instead of running as a
// write that the rollback erases, and a writer that was query_only before stays query_only. The
// database's own files are found from the path SQLite opened, whatever the process's working
// directory became since: backup() and vacuumInto() refuse the live database after
// process.chdir() (and through a bind mount, when the test may mount), accept a file of the same
// name elsewhere, and stats() still finds the WAL. tx.transaction(fn, undefined) is a plain
// nested transaction. A read lease in a pool without readers refuses writes as on a reader.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { open, type Pool } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('moved-paths');
const outcome = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => 'resolved', (error: unknown) => error);
const readOnly = expect.objectContaining({ code: 'SQLITE_READONLY' });
const outOfRange = expect.objectContaining({ name: 'RangeError', code: 'LITEPOOL_OUT_OF_RANGE' });

describe('db.read() on the writer', () => {
  it('refuses a call made on its handle after the callback settled, and nothing is written', async () => {
    const db = await open(':memory:');
    try {
      await db.exec('CREATE TABLE t (x)');
      let late: Promise<unknown> | undefined;
      await db.read(async (conn) => {
        // Made after the callback resolved, while the snapshot is being ended.
        setImmediate(() => (late = outcome(conn.run('INSERT INTO t VALUES (1)'))));
        return 1;
      });
      while (late === undefined) await new Promise((resolve) => setImmediate(resolve));
      expect(await late).toEqual(expect.objectContaining({ code: 'LITEPOOL_SCOPE_ENDED' }));
      expect(await db.all('SELECT x FROM t')).toEqual([]);
      await db.run('INSERT INTO t VALUES (2)');
      expect(await db.all('SELECT x FROM t')).toEqual([{ x: 2 }]);
    } finally {
      await db.close();
    }
  });

  it('leaves a writer that was query_only (pragmas, onConnection) query_only', async () => {
    const byPragma = await pools.open({ readers: 0, pragmas: { query_only: true } });
    const byHook = await open(':memory:', { onConnection: (c) => (c.role === 'writer' ? c.exec('PRAGMA query_only = ON') : undefined) });
    for (const db of [byPragma, byHook]) {
      expect(await outcome(db.exec('CREATE TABLE t (x)'))).toEqual(readOnly);
      expect(await db.read((conn) => conn.get('PRAGMA query_only'))).toEqual({ query_only: 1 });
      expect(await outcome(db.exec('CREATE TABLE t (x)'))).toEqual(readOnly);
      expect(await db.get('PRAGMA query_only')).toEqual({ query_only: 1 });
    }
    await byHook.close();
  });
});

describe('a read lease in a pool without readers', () => {
  it('refuses writes (SQLITE_READONLY) like a read lease on a reader; a write lease and the pool write after it', async () => {
    for (const db of [await open(':memory:'), await pools.open({ readers: 0 })]) {
      await db.exec('CREATE TABLE IF NOT EXISTS t (x)');
      const lease = await db.acquire();
      expect(await outcome(lease.run('INSERT INTO t VALUES (1)'))).toEqual(readOnly);
      expect(await lease.all('SELECT x FROM t')).toEqual([]);
      await lease.release();
      const writer = await db.acquire({ write: true });
      await writer.run('INSERT INTO t VALUES (2)');
      await writer.release();
      await db.run('INSERT INTO t VALUES (3)');
      expect(await db.all('SELECT x FROM t ORDER BY x')).toEqual([{ x: 2 }, { x: 3 }]);
      await db.close();
    }
  });
});

describe('tx.transaction(fn, undefined)', () => {
  it('runs as a nested transaction (an undefined second argument is no option)', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.transaction(async (tx) => {
      const nestedTransaction = tx.transaction as (fn: (nested: typeof tx) => Promise<unknown>, options: undefined) => Promise<unknown>;
      await nestedTransaction.call(tx, (nested) => nested.run("INSERT INTO t (v) VALUES ('nested')"), undefined);
    });
    expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'nested' }]);
  });
});

describe('the database file after process.chdir()', () => {
  const start = process.cwd();
  afterEach(() => process.chdir(start));

  it('backup() and vacuumInto() refuse it by its absolute path and accept a same-named file elsewhere; stats() finds its WAL', async () => {
    const one = join(pools.dir, 'one');
    const two = join(pools.dir, 'two');
    mkdirSync(one);
    mkdirSync(two);
    process.chdir(one);
    const db = await open('a.db', { readers: 1, checkpointOnClose: false });
    try {
      await db.exec('CREATE TABLE t (x)');
      await db.run('INSERT INTO t VALUES (1)');
      process.chdir(two);
      const live = join(one, 'a.db');
      expect(await outcome(db.backup(live))).toEqual(outOfRange);
      expect(await outcome(db.vacuumInto(live))).toEqual(outOfRange);
      expect(await outcome(db.backup(`${live}-wal`))).toEqual(outOfRange);
      // 'a.db' now names two/a.db: another file.
      await db.backup('a.db');
      expect(db.stats().wal.bytes).toBeGreaterThan(0);
      await db.run('INSERT INTO t VALUES (2)');
    } finally {
      await db.close();
    }
    process.chdir(start);
    const again = await open(join(one, 'a.db'), { readers: 1 });
    const copy = await open(join(two, 'a.db'), { readers: 1 });
    try {
      expect(await again.all('SELECT x FROM t ORDER BY x')).toEqual([{ x: 1 }, { x: 2 }]);
      expect(await copy.all('SELECT x FROM t ORDER BY x')).toEqual([{ x: 1 }]);
    } finally {
      await again.close();
      await copy.close();
    }
  });
});

/** Whether this process may bind-mount (root on Linux, with mount(8)); tried once. */
function canBindMount(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = join(pools.dir, 'probe');
  try {
    mkdirSync(probe, { recursive: true });
    execFileSync('mount', ['--bind', probe, probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

describe('the database directory reached through a bind mount', () => {
  it('backup() refuses the database by its other path', async (context) => {
    if (!canBindMount()) {
      context.skip();
      return;
    }
    const source = join(pools.dir, 'source');
    const mirror = join(pools.dir, 'mirror');
    mkdirSync(source);
    mkdirSync(mirror);
    let db: Pool | undefined;
    execFileSync('mount', ['--bind', source, mirror]);
    try {
      db = await open(join(source, 'a.db'), { readers: 1 });
      await db.exec('CREATE TABLE t (x)');
      expect(await outcome(db.backup(join(mirror, 'a.db')))).toEqual(outOfRange);
      expect(await outcome(db.backup(join(mirror, 'a.db-shm')))).toEqual(outOfRange);
      await db.backup(join(mirror, 'b.db'));
    } finally {
      await db?.close();
      execFileSync('umount', [mirror]);
    }
  });
});

describe('pools with safeIntegers', () => {
  it('a read lease and db.read() on the writer still refuse writes; schema figures are numbers', async () => {
    const db = await open(':memory:', { safeIntegers: true });
    try {
      await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, x NOT NULL)');
      const lease = await db.acquire();
      expect(await outcome(lease.run('INSERT INTO t (x) VALUES (1)'))).toEqual(readOnly);
      await lease.release();
      expect(await db.read((conn) => outcome(conn.run('INSERT INTO t (x) VALUES (2)')))).toEqual(readOnly);
      expect(await db.all('SELECT x FROM t')).toEqual([]);
      expect(await db.schema.columns('t')).toEqual([
        expect.objectContaining({ name: 'id', notNull: false, primaryKey: 1, hidden: 0 }),
        expect.objectContaining({ name: 'x', notNull: true, primaryKey: 0, hidden: 0 }),
      ]);
      expect(await db.schema.tables()).toEqual([expect.objectContaining({ name: 't', columnCount: 2, withoutRowid: false, strict: false })]);
    } finally {
      await db.close();
    }
  });
});

describe('a database path through a symbolic link and ..', () => {
  it('opens the file the kernel reaches (link/.. is the link target’s parent), as SQLite would', async () => {
    const base = join(pools.dir, 'linked');
    mkdirSync(join(base, 'a', 'b'), { recursive: true });
    symlinkSync(join(base, 'a', 'b'), join(base, 'l'));
    const db = await open(join(base, 'l') + '/../app.db', { readers: 1 });
    try {
      await db.exec('CREATE TABLE t (x)');
    } finally {
      await db.close();
    }
    expect(existsSync(join(base, 'a', 'app.db'))).toBe(true);
    expect(existsSync(join(base, 'app.db'))).toBe(false);
  });
});
