// Covers what backup() and vacuumInto() do with their destination: the -wal, -shm and -journal
// files of the database that was at `dest` never survive to be applied to the new copy (a process
// killed with the old copy open left its WAL there); a destination another connection has open is
// refused (Linux, where /proc/locks shows it); names and files that cannot take a copy are refused
// before any work (a name longer than 255 bytes, a blank name, a trailing slash, a FIFO or a
// socket at `dest`); what goes wrong while the copy is put in place (its directory removed, a
// directory made at `dest`) is a SqliteError naming `dest` with the file system's error as its
// cause. Also: an async onProgress whose promise rejects fails the backup as a throw does and is
// never an unhandled rejection; and integrityCheck() reports one entry per problem.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LitepoolError, SqliteError, type Pool } from '../lib/index.ts';
import { problemsOf } from '../lib/maintenance/toolkit.ts';
import { runNode, startNode } from './helpers/child.ts';
import { distEntry, fixture } from './helpers/paths.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection } from './helpers/waits.ts';

const pools = tempPools('backup-destination');

/** Temporary files of copies left in `dir`. */
const temporaries = (dir: string): string[] => readdirSync(dir).filter((name) => name.endsWith('.tmp') || name.includes('.tmp-'));

/**
 * A child process that opens the database at argv[2] with litepool, changes it (rows of t
 * rewritten, a table `extra` of 100 KB), leaving it all in the WAL (no automatic checkpoint), and
 * is killed with SIGKILL before it could close: the -wal and -shm files stay beside the file.
 */
const KILLED_WRITER = `
const { pathToFileURL } = await import('node:url');
const [dist, file] = process.argv.slice(-2);
const { open } = await import(pathToFileURL(dist).href);
const db = await open(file, { readers: 1, walMonitor: false, healthCheck: false, pragmas: { wal_autocheckpoint: 0 } });
await db.exec('CREATE TABLE extra (x BLOB)');
await db.run("UPDATE t SET v = 'written by the killed process'");
for (let i = 0; i < 100; i++) await db.run('INSERT INTO extra VALUES (randomblob(1000))');
process.stdout.write('wrote\\n');
process.kill(process.pid, 'SIGKILL');
`;

/** What a database holds: its tables, and t's rows. */
async function contents(db: Pool): Promise<{ tables: string[]; rows: unknown[] }> {
  const tables = await db.all<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  return { tables: tables.map((row) => row.name), rows: await db.all('SELECT id, v FROM t ORDER BY id') };
}

const copies = {
  backup: (db: Pool, dest: string) => db.backup(dest),
  vacuumInto: (db: Pool, dest: string) => db.vacuumInto(dest),
};

describe('the files of the database a copy replaces', () => {
  for (const [name, copy] of Object.entries(copies)) {
    it(`${name}: the WAL a killed process left beside dest is not applied to the new copy`, async () => {
      const db = await pools.fresh({ readers: 1 });
      await db.run("INSERT INTO t (v) VALUES ('first'), ('second')");
      const dest = join(pools.dir, `${name}-replaced.db`);
      await copy(db, dest);

      // Someone opens the copy, writes to it and is killed: its WAL stays beside dest.
      const killed = await runNode(['--input-type=module', '-e', KILLED_WRITER, distEntry, dest], { bound: 30_000 });
      expect(killed.stdout.trim(), killed.stderr).toBe('wrote');
      expect(killed.signal).toBe('SIGKILL');
      expect(statSync(`${dest}-wal`).size).toBeGreaterThan(100_000);
      expect(existsSync(`${dest}-shm`)).toBe(true);

      // The database moves on, and the next copy goes to the same path.
      await db.run("UPDATE t SET v = v || ' (updated)'");
      await db.exec('CREATE TABLE newer (z)');
      await copy(db, dest);
      expect(existsSync(`${dest}-wal`)).toBe(false);
      expect(existsSync(`${dest}-shm`)).toBe(false);
      expect(temporaries(pools.dir)).toEqual([]);

      const live = await contents(db);
      expect(live.tables).toEqual(['newer', 't']);
      const opened = await pools.openAt(dest, { readers: 1 });
      expect(await contents(opened)).toEqual(live);
      expect(await opened.integrityCheck()).toEqual({ ok: true, problems: [] });
    });
  }

  it('a stale -journal and -shm go too; a failed copy leaves dest and its files as they were', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('kept')");
    const dest = join(pools.dir, 'journal.db');
    writeFileSync(dest, 'previous contents');
    for (const suffix of ['-wal', '-shm', '-journal']) writeFileSync(`${dest}${suffix}`, `stale ${suffix}`);
    // A copy that fails (onProgress throws) touches none of them.
    const failure = await rejection(
      db.backup(dest, {
        onProgress: () => {
          throw new Error('listener failed');
        },
      }),
    );
    expect(failure.message).toBe('listener failed');
    expect(readFileSync(dest, 'utf8')).toBe('previous contents');
    for (const suffix of ['-wal', '-shm', '-journal']) expect(readFileSync(`${dest}${suffix}`, 'utf8')).toBe(`stale ${suffix}`);
    // One that completes removes them.
    await db.backup(dest);
    for (const suffix of ['-wal', '-shm', '-journal']) expect(existsSync(`${dest}${suffix}`)).toBe(false);
    const opened = await pools.openAt(dest, { readers: 0 });
    expect(await opened.all('SELECT v FROM t')).toEqual([{ v: 'kept' }]);
  });

  it.runIf(process.platform === 'linux')('refuses a destination a connection has open (SQLITE_BUSY), in this process or another', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('source')");
    const dest = join(pools.dir, 'in-use.db');
    await db.backup(dest);

    // Open in this process: refused at the call, dest and its pool untouched.
    const user = await pools.openAt(dest, { readers: 1 });
    await user.run("INSERT INTO t (v) VALUES ('written at dest')");
    for (const copy of Object.values(copies)) {
      const refused = await rejection(copy(db, dest));
      expect(refused).toBeInstanceOf(SqliteError);
      expect(refused.code).toBe('SQLITE_BUSY');
      expect(refused.message).toContain('this process');
      expect(refused.message).toContain(dest);
    }
    expect(await user.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'source' }, { v: 'written at dest' }]);
    await user.close();

    // Open in another process (holding a write transaction): refused, naming the process.
    const holder = startNode([fixture('lock-holder.mjs'), dest], { stdin: 'pipe', bound: 30_000 });
    try {
      await holder.waitForLine('locked', 20_000, 'lock-holder');
      const refused = await rejection(db.backup(dest));
      expect(refused.code).toBe('SQLITE_BUSY');
      expect(refused.message).toMatch(/process \d+/);
    } finally {
      holder.endInput();
      await holder.closed;
    }
    expect(temporaries(pools.dir)).toEqual([]);
    // Once every connection is closed, the copy replaces it.
    await db.backup(dest);
    const opened = await pools.openAt(dest, { readers: 0 });
    expect(await opened.all('SELECT v FROM t')).toEqual([{ v: 'source' }]);
  });
});

describe('destinations refused or failing', () => {
  let db: Pool;
  beforeEach(async () => {
    db = await pools.fresh({ readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('x')");
  });

  it('refuses names that cannot take a copy before any work (LITEPOOL_OUT_OF_RANGE)', async () => {
    const dir = join(pools.dir, 'names');
    mkdirSync(dir);
    const cases = [
      join(dir, 'é'.repeat(128)), // 256 bytes: the rename would fail after the whole copy
      join(dir, 'a'.repeat(256)),
      '   ',
      join(dir, '   '),
      `${join(dir, 'x.db')}/`, // names a directory, not the file x.db
      `${join(dir, 'x.db')}/.`,
      `${join(dir, 'x.db')}/..`,
    ];
    for (const dest of cases) {
      for (const copy of Object.values(copies)) {
        const refused = await rejection(copy(db, dest));
        expect(refused, dest).toBeInstanceOf(RangeError);
        expect(refused, dest).toBeInstanceOf(LitepoolError);
        expect(refused.code, dest).toBe('LITEPOOL_OUT_OF_RANGE');
      }
    }
    expect(readdirSync(dir)).toEqual([]);
    // 255 bytes is a file name.
    const longest = join(dir, 'é'.repeat(127) + 'a');
    await db.backup(longest);
    expect(existsSync(longest)).toBe(true);
  });

  it.runIf(process.platform !== 'win32')('refuses a socket or a FIFO at dest, and a directory beside it named as its -wal', async () => {
    const dir = join(pools.dir, 'special');
    mkdirSync(dir);
    const socket = join(dir, 'socket.db');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      for (const copy of Object.values(copies)) expect((await rejection(copy(db, socket))).code).toBe('LITEPOOL_OUT_OF_RANGE');
      expect(statSync(socket).isSocket()).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    let fifo: string | undefined = join(dir, 'fifo.db');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      fifo = undefined; // no mkfifo here
    }
    if (fifo !== undefined) {
      for (const copy of Object.values(copies)) expect((await rejection(copy(db, fifo))).code).toBe('LITEPOOL_OUT_OF_RANGE');
      expect(statSync(fifo).isFIFO()).toBe(true);
    }
    mkdirSync(join(dir, 'wal.db-wal'));
    expect((await rejection(db.backup(join(dir, 'wal.db')))).code).toBe('LITEPOOL_OUT_OF_RANGE');
    expect(temporaries(dir)).toEqual([]);
  });

  it('what goes wrong while the copy is put in place is a SqliteError naming dest, the cause kept', async () => {
    await db.insertMany('t', Array.from({ length: 200 }, (_, i) => ({ v: `${i}`.padEnd(1000, '.') })));
    const sub = join(pools.dir, 'sub');
    const during = (change: () => void) => {
      let steps = 0;
      return {
        pagesPerStep: 5,
        onProgress: () => {
          if (++steps === 2) change();
        },
      };
    };

    // Its directory removed during the copy.
    mkdirSync(sub);
    const gone = await rejection(db.backup(join(sub, 'b.db'), during(() => rmSync(sub, { recursive: true }))));
    expect(gone).toBeInstanceOf(SqliteError);
    expect(gone.code).toMatch(/^SQLITE_CANTOPEN/);
    expect(gone.message).toContain(join(sub, 'b.db'));
    expect(gone.cause?.code).toBe('ENOENT');

    // A directory (empty, or not) made at dest during the copy.
    for (const fill of [false, true]) {
      mkdirSync(sub, { recursive: true });
      const dest = join(sub, `dir-${fill}.db`);
      const failure = await rejection(
        db.backup(
          dest,
          during(() => {
            mkdirSync(dest);
            if (fill) writeFileSync(join(dest, 'f'), 'x');
          }),
        ),
      );
      expect(failure).toBeInstanceOf(SqliteError);
      expect(failure.code).toMatch(/^SQLITE_CANTOPEN/);
      expect(failure.message).toContain(dest);
      expect(statSync(dest).isDirectory()).toBe(true);
      expect(temporaries(sub)).toEqual([]);
    }
    rmSync(sub, { recursive: true });
    // The pool is unharmed.
    await db.backup(join(pools.dir, 'after.db'));
  });
});

describe('onProgress returning a promise', () => {
  const unhandled: unknown[] = [];
  const listener = (reason: unknown): void => void unhandled.push(reason);
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', listener);
  });
  afterEach(() => {
    process.off('unhandledRejection', listener);
  });
  /** Lets any unhandled rejection be reported (Node reports them after the microtask queue drains). */
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('fails the backup with its rejection, as a throw does, and nothing is left unhandled', async () => {
    const db = await pools.fresh({ readers: 1 });
    for (let i = 0; i < 20; i++) await db.run('INSERT INTO t (v) VALUES (hex(randomblob(1000)))');
    const dest = join(pools.dir, 'async-progress.db');
    writeFileSync(dest, 'previous contents');
    // At the first of several steps, and at the only step (rejecting just before dest is replaced).
    for (const pagesPerStep of [1, 1_000_000]) {
      let calls = 0;
      const failure = await rejection(
        db.backup(dest, {
          pagesPerStep,
          onProgress: async () => {
            calls++;
            throw new Error('progress sink down');
          },
        }),
      );
      expect(failure.message).toBe('progress sink down');
      expect(calls).toBe(1);
      expect(readFileSync(dest, 'utf8')).toBe('previous contents');
    }
    // A thenable whose then() throws.
    const thenable = { then: () => { throw new Error('bad thenable'); } };
    expect((await rejection(db.backup(dest, { onProgress: () => thenable as never }))).message).toBe('bad thenable');
    expect(temporaries(pools.dir)).toEqual([]);
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('a rejection after the backup settled is ignored; one that resolves changes nothing', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('late')");
    const rejects: ((reason: Error) => void)[] = [];
    const dest = join(pools.dir, 'late.db');
    const result = await db.backup(dest, { onProgress: () => new Promise<void>((_, reject) => void rejects.push(reject)) as never });
    expect(result.pages).toBeGreaterThan(0);
    expect(rejects.length).toBeGreaterThan(0);
    for (const reject of rejects) reject(new Error('too late'));
    await settle();
    expect(unhandled).toEqual([]);
    await db.backup(dest, { onProgress: async () => undefined });
    const opened = await pools.openAt(dest, { readers: 0 });
    expect(await opened.all('SELECT v FROM t')).toEqual([{ v: 'late' }]);
  });
});

describe('integrityCheck() problems', () => {
  it('one entry per problem, at most maxErrors, without the "*** in database main ***" heading', async () => {
    const file = pools.file('damaged');
    const writer = await pools.openAt(file, { readers: 0 });
    await writer.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    await writer.insertMany('t', Array.from({ length: 5000 }, (_, i) => ({ id: i + 1, v: 'v'.repeat(50) })));
    await writer.close();
    // Garbage over the cell pointers of a table leaf page.
    const bytes = readFileSync(file);
    let page = -1;
    for (let i = 10; i < bytes.length / 4096; i++) {
      if (bytes[i * 4096] === 0x0d) {
        page = i;
        break;
      }
    }
    expect(page).toBeGreaterThan(0);
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(300, 0xee), 0, 300, page * 4096 + 8);
    closeSync(fd);
    const db = await pools.openAt(file, { readers: 1 });
    const all = await db.integrityCheck();
    expect(all.ok).toBe(false);
    expect(all.problems.length).toBeGreaterThan(3);
    for (const problem of all.problems) {
      expect(problem).not.toContain('\n');
      expect(problem).not.toMatch(/^\*\*\*/);
    }
    const three = await db.integrityCheck({ maxErrors: 3 });
    expect(three).toEqual({ ok: false, problems: all.problems.slice(0, 3) });
  });

  it('names the attached database a problem is in', () => {
    expect(
      problemsOf(['*** in database main ***\nTree 2 page 3: a\nTree 2 page 4: b', 'row 5 missing from index i', '*** in database aux ***\nTree 4 page 1: c'], 100),
    ).toEqual(['Tree 2 page 3: a', 'Tree 2 page 4: b', 'row 5 missing from index i', 'in database aux: Tree 4 page 1: c']);
    expect(problemsOf(['*** in database main ***\na\nb\nc'], 2)).toEqual(['a', 'b']);
  });
});
