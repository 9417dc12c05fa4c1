// Integrity checks and upkeep: integrityCheck / foreignKeyCheck on the current schema, typed
// errors (never a crash) on a damaged copy, foreign keys on by default, optimize / analyze /
// ping, vacuum (shrinks the file, refused while a lease is open, incremental), vacuumInto.
import { copyFileSync, existsSync, openSync, readdirSync, statSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LitepoolError, OperationBlockedError, PoolClosedError, SqliteError, open } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { latch, rejection } from './helpers/waits.ts';

const pools = tempPools('maintenance');

describe('integrityCheck()', () => {
  it('reports ok on a sound database, with quick and maxErrors', async () => {
    const db = await pools.fresh({ readers: 2 });
    await db.run("INSERT INTO t (v) VALUES ('a')");
    expect(await db.integrityCheck()).toEqual({ ok: true, problems: [] });
    expect(await db.integrityCheck({ quick: true, maxErrors: 1 })).toEqual({ ok: true, problems: [] });
  });

  it('rejects bad options with typed errors', async () => {
    const db = await pools.fresh({ readers: 1 });
    expect(await rejection(db.integrityCheck({ quick: 'yes' } as never))).toBeInstanceOf(TypeError);
    expect(await rejection(db.integrityCheck({ maxErrors: 0 }))).toBeInstanceOf(RangeError);
    expect(await rejection(db.integrityCheck({ deep: true } as never))).toBeInstanceOf(TypeError);
  });

  it('a copy with overwritten pages gives ok: false or a typed SqliteError, never a crash', async () => {
    const source = pools.file('sound');
    const db = await open(source, { readers: 1 });
    await db.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX big_v ON big (v)');
    await db.transaction(async (tx) => {
      for (let i = 0; i < 2000; i++) await tx.run('INSERT INTO big (v) VALUES (?)', [`value-${i}-${'x'.repeat(200)}`]);
    });
    await db.close();
    const size = statSync(source).size;
    expect(size).toBeGreaterThan(100 * 4096);

    // Pages in the middle of the file overwritten with garbage.
    const damaged = pools.file('damaged');
    copyFileSync(source, damaged);
    const fd = openSync(damaged, 'r+');
    const garbage = Buffer.alloc(4096 * 3, 0x5a);
    writeSync(fd, garbage, 0, garbage.length, 4096 * 20);
    writeSync(fd, garbage, 0, garbage.length, Math.floor(size / 4096 / 2) * 4096);
    closeSync(fd);
    const broken = await pools.openAt(damaged, { readers: 1 });
    const outcome = await broken.integrityCheck().then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    if ('result' in outcome) {
      expect(outcome.result.ok).toBe(false);
      expect(outcome.result.problems.length).toBeGreaterThan(0);
    } else {
      expect(outcome.error).toBeInstanceOf(SqliteError);
      expect((outcome.error as SqliteError).primaryCode).toMatch(/^SQLITE_(CORRUPT|NOTADB)$/);
    }
    // The damage is the same on every run (same rows, same offsets) and the scan of big crosses
    // it: the read rejects with a typed error, never crashes, and the pool still answers.
    const readError = await rejection(broken.all('SELECT count(*), sum(length(v)) FROM big'));
    expect(readError).toBeInstanceOf(SqliteError);
    expect(readError.code).toBe('SQLITE_CORRUPT');
    expect(await broken.get('SELECT 1 AS one')).toEqual({ one: 1 });

    // A header overwritten: not a database at all.
    const notADatabase = pools.file('notadb');
    copyFileSync(source, notADatabase);
    const header = openSync(notADatabase, 'r+');
    writeSync(header, Buffer.alloc(100, 0x42), 0, 100, 0);
    closeSync(header);
    const error = await rejection(open(notADatabase, { readers: 1 }));
    expect(error).toBeInstanceOf(SqliteError);
    expect(error.code).toBe('SQLITE_NOTADB');
  });
});

describe('foreignKeyCheck()', () => {
  it('finds violations in tables created after the readers loaded the schema', async () => {
    const db = await pools.open({ readers: 3, foreignKeys: false });
    // Every reader loads the (empty) schema before the tables exist.
    const leases = [await db.acquire(), await db.acquire()];
    for (const lease of leases) await lease.get('SELECT count(*) AS n FROM sqlite_schema');
    await Promise.all(Array.from({ length: 30 }, () => db.get('SELECT count(*) AS n FROM sqlite_schema')));
    await Promise.all(leases.map((lease) => lease.release()));
    await db.exec(`
      CREATE TABLE parent (id INTEGER PRIMARY KEY);
      CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id));
      INSERT INTO parent (id) VALUES (1);
      INSERT INTO child (id, parent_id) VALUES (10, 1), (11, 2), (12, 3);
    `);
    const violations = await db.foreignKeyCheck();
    expect(violations.sort((a, b) => Number(a.rowid) - Number(b.rowid))).toEqual([
      { table: 'child', rowid: 11, parent: 'parent', fkid: 0 },
      { table: 'child', rowid: 12, parent: 'parent', fkid: 0 },
    ]);
    await db.run('DELETE FROM child WHERE parent_id <> 1');
    expect(await db.foreignKeyCheck()).toEqual([]);
  });

  it('foreign keys are enforced by default, so a default pool stores no violation', async () => {
    const db = await pools.open({ readers: 1 });
    await db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent_id INTEGER REFERENCES parent (id))');
    const error = await rejection(db.run('INSERT INTO child (parent_id) VALUES (7)'));
    expect(error.code).toBe('SQLITE_CONSTRAINT_FOREIGNKEY');
    expect(await db.foreignKeyCheck()).toEqual([]);
  });

  it('works on :memory: (the writer)', async () => {
    const db = await open(':memory:', { foreignKeys: false });
    try {
      await db.exec('CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p INTEGER REFERENCES p (id)); INSERT INTO c VALUES (5)');
      expect(await db.foreignKeyCheck()).toEqual([{ table: 'c', rowid: 1, parent: 'p', fkid: 0 }]);
      expect(await db.integrityCheck()).toEqual({ ok: true, problems: [] });
    } finally {
      await db.close();
    }
  });
});

describe('upkeep', () => {
  it('optimize(), analyze() and ping() run; analyze writes statistics', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.exec('CREATE INDEX t_v ON t (v)');
    for (let i = 0; i < 50; i++) await db.run('INSERT INTO t (v) VALUES (?)', [`v${i % 5}`]);
    await db.optimize();
    await db.analyze();
    expect(await db.get<{ n: number }>('SELECT count(*) AS n FROM sqlite_stat1')).toEqual({ n: 1 });
    await expect(db.ping()).resolves.toBeUndefined();
    await db.close();
    expect(await rejection(db.ping())).toBeInstanceOf(PoolClosedError);
    expect(await rejection(db.optimize())).toBeInstanceOf(PoolClosedError);
  });

  it('vacuum() shrinks a file after a large delete', async () => {
    const path = pools.file();
    const db = await pools.openAt(path, { readers: 2 });
    await db.exec('CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)');
    await db.transaction(async (tx) => {
      for (let i = 0; i < 400; i++) await tx.run('INSERT INTO blobs (data) VALUES (randomblob(8000))');
    });
    await db.checkpoint('truncate');
    const before = statSync(path).size;
    await db.run('DELETE FROM blobs WHERE id > 10');
    await db.checkpoint('truncate');
    expect(statSync(path).size).toBe(before); // freed pages stay in the file
    await db.vacuum();
    const after = statSync(path).size;
    expect(after).toBeLessThan(before / 10);
    expect(db.stats().wal.bytes).toBe(0);
    expect(await db.get('SELECT count(*) AS n FROM blobs')).toEqual({ n: 10 });
  });

  it('vacuum() is refused while a lease, snapshot or iteration is open, and runs once they end', async () => {
    const db = await pools.fresh({ readers: 2 });
    const lease = await db.acquire();
    const error = await rejection(db.vacuum());
    expect(error).toBeInstanceOf(OperationBlockedError);
    expect(error).toBeInstanceOf(LitepoolError);
    expect(error.code).toBe('LITEPOOL_OPERATION_BLOCKED');
    expect(error.heldBy).toEqual(['read lease']);
    await lease.release();

    // Without readers a read lease holds the writer; it is still named a read lease.
    const single = await pools.fresh({ readers: 0 });
    const onWriter = await single.acquire();
    expect((await rejection(single.vacuum())).heldBy).toEqual(['read lease']);
    await onWriter.release();
    await single.vacuum();

    const gate = latch();
    const inside = latch();
    const snapshot = db.read(async () => {
      inside.open();
      await gate.promise;
    });
    await inside.promise;
    expect((await rejection(db.vacuum())).heldBy).toEqual(['read() snapshot']);
    gate.open();
    await snapshot;

    await db.run("INSERT INTO t (v) VALUES ('a'), ('b')");
    for await (const _ of db.iterate('SELECT * FROM t', [], { chunkSize: 1 })) {
      expect((await rejection(db.vacuum())).heldBy).toEqual(['iteration (SELECT * FROM t)']);
      break;
    }
    await expect(db.vacuum()).resolves.toBeUndefined();
    expect(await rejection(db.vacuum({ full: true } as never))).toBeInstanceOf(TypeError);
  });

  it('vacuum({ incremental }) frees pages of an auto_vacuum = INCREMENTAL database, and is refused otherwise', async () => {
    const path = pools.file();
    const db = await pools.openAt(path, { readers: 1 });
    const refused = await rejection(db.vacuum({ incremental: 10 }));
    expect(refused).toBeInstanceOf(RangeError);
    expect(refused.message).toMatch(/auto_vacuum = INCREMENTAL/);
    await db.exec('PRAGMA auto_vacuum = INCREMENTAL');
    await db.vacuum(); // auto_vacuum takes effect with a VACUUM
    await db.exec('CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)');
    await db.transaction(async (tx) => {
      for (let i = 0; i < 100; i++) await tx.run('INSERT INTO blobs (data) VALUES (randomblob(8000))');
    });
    await db.run('DELETE FROM blobs');
    const free = async () => ((await db.get<{ freelist_count: number }>('PRAGMA freelist_count'))!).freelist_count;
    const before = await free();
    expect(before).toBeGreaterThan(100);
    await db.vacuum({ incremental: 50 });
    expect(await free()).toBe(before - 50);
    await db.vacuum({ incremental: 0 });
    expect(await free()).toBe(0);
  });
});

describe('vacuumInto()', () => {
  it('writes a compacted, sound copy at dest, replacing what was there, with no temporary file left', async () => {
    const db = await pools.fresh({ readers: 1 });
    for (let i = 0; i < 100; i++) await db.run('INSERT INTO t (v) VALUES (?)', [`row ${i}`]);
    const dest = join(pools.dir, 'compact.db');
    const first = await db.vacuumInto(dest);
    expect(first.pages).toBeGreaterThan(1);
    await db.run("INSERT INTO t (v) VALUES ('later')");
    await db.vacuumInto(dest);
    const copy = await pools.openAt(dest, { readers: 1 });
    expect(await copy.get('SELECT count(*) AS n FROM t')).toEqual({ n: 101 });
    expect(await copy.integrityCheck()).toEqual({ ok: true, problems: [] });
    expect(readdirSync(pools.dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('a failure leaves no file at dest and no temporary file', async () => {
    const db = await pools.fresh({ readers: 1 });
    const dest = join(pools.dir, 'missing-dir', 'copy.db');
    expect(await rejection(db.vacuumInto(dest))).toBeInstanceOf(RangeError);
    expect(existsSync(dest)).toBe(false);
    // A directory where no file can be created (Linux /proc): SQLite's error, nothing left.
    if (process.platform === 'linux') {
      const failure = await rejection(db.vacuumInto('/proc/self/copy.db'));
      expect(failure).toBeInstanceOf(SqliteError);
      // Named by its destination, not by the temporary file SQLite was asked to create.
      expect(failure.message).toMatch(/^cannot create the copy at \/proc\/self\/copy\.db: /);
    }
    expect(await rejection(db.vacuumInto(db.path))).toBeInstanceOf(RangeError);
    expect(await rejection(db.vacuumInto(42 as never))).toBeInstanceOf(TypeError);
  });
});
