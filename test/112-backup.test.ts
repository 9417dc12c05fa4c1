// Online backup: a ~50 MB database copied while 32 writers insert (completes, passes
// integrity_check, holds every row committed before backup() was called, progress monotonic and
// ending at 0 remaining); an abort or a failure leaves no file at dest and no temporary file;
// bad arguments are typed errors. The big backup is watched on the litepool:backup channel.
import { tracingChannel } from 'node:diagnostics_channel';
import { existsSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PoolClosedError, open, type BackupProgress } from '../lib/index.ts';
import type { BackupChannelContext } from '../lib/observers/channels.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection } from './helpers/waits.ts';

const pools = tempPools('backup');

const temporaries = (): string[] => readdirSync(pools.dir).filter((name) => name.endsWith('.tmp') || name.includes('.tmp-'));

describe('db.backup()', () => {
  it('copies a ~50 MB database while 32 writers insert', async () => {
    const db = await pools.fresh({ readers: 2 }, 'CREATE TABLE t (id INTEGER PRIMARY KEY, writer INTEGER, v BLOB)');
    // ~50 MB: 12,500 rows of 4 KB.
    for (let batch = 0; batch < 50; batch++) {
      await db.transaction(async (tx) => {
        for (let i = 0; i < 250; i++) await tx.run('INSERT INTO t (writer, v) VALUES (-1, randomblob(4000))');
      });
    }
    await db.checkpoint('truncate');
    const committed = (await db.get<{ n: number; last: number }>('SELECT count(*) AS n, max(id) AS last FROM t'))!;
    expect(committed.n).toBe(12_500);

    const events: [string, BackupChannelContext][] = [];
    const handlers = {
      start: (ctx: unknown) => void events.push(['start', { ...(ctx as BackupChannelContext) }]),
      asyncEnd: (ctx: unknown) => void events.push(['asyncEnd', { ...(ctx as BackupChannelContext) }]),
    };
    tracingChannel('litepool:backup').subscribe(handlers as never);
    const progress: BackupProgress[] = [];
    const dest = join(pools.dir, 'copy.db');
    let stop = false;
    let written = 0;
    const writers = Array.from({ length: 32 }, async (_, writer) => {
      while (!stop) {
        await db.run('INSERT INTO t (writer, v) VALUES (?, randomblob(100))', [writer]);
        written++;
      }
    });
    const result = await db.backup(dest, { pagesPerStep: 128, onProgress: (p) => progress.push(p) }).finally(() => {
      tracingChannel('litepool:backup').unsubscribe(handlers as never);
    });
    const writtenDuringBackup = written;
    stop = true;
    await Promise.all(writers);

    expect(result.pages).toBeGreaterThan(12_000);
    expect(result.durationMs).toBeGreaterThan(0);
    // Writes went on while the backup ran: there were many steps, and writes between them.
    expect(progress.length).toBeGreaterThan(50);
    expect(writtenDuringBackup).toBeGreaterThan(0);
    // Monotonic progress, ending at 0 remaining.
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.remainingPages).toBeLessThanOrEqual(progress[i - 1]!.remainingPages);
      expect(progress[i]!.totalPages).toBeGreaterThanOrEqual(progress[i - 1]!.totalPages);
    }
    expect(progress.at(-1)).toEqual({ totalPages: result.pages, remainingPages: 0 });
    const context = { database: db.path, pool: db, operation: 'backup', destination: dest };
    expect(events.map(([phase]) => phase)).toEqual(['start', 'asyncEnd']);
    expect(events[0]![1]).toEqual(context);
    expect(events[1]![1]).toMatchObject({ ...context, result });
    expect(events[1]![1].durationMs).toBeGreaterThanOrEqual(result.durationMs);

    const copy = await pools.openAt(dest, { readers: 1, walMonitor: false });
    expect(await copy.integrityCheck()).toEqual({ ok: true, problems: [] });
    // Every row committed before backup() was called is in the copy.
    expect(await copy.get('SELECT count(*) AS n FROM t WHERE id <= ?', [committed.last])).toEqual({ n: 12_500 });
    expect(temporaries()).toEqual([]);
  });

  it('an aborted backup leaves no file at dest and removes its temporary file', async () => {
    const db = await pools.fresh({ readers: 1 }, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    await db.transaction(async (tx) => {
      for (let i = 0; i < 500; i++) await tx.run('INSERT INTO t (v) VALUES (randomblob(4000))');
    });
    const dest = join(pools.dir, 'aborted.db');
    const controller = new AbortController();
    const seen: BackupProgress[] = [];
    const error = await rejection(
      db.backup(dest, {
        pagesPerStep: 10,
        onProgress: (p) => {
          seen.push(p);
          if (seen.length === 5) controller.abort(new Error('enough'));
        },
        signal: controller.signal,
      }),
    );
    expect(error.message).toBe('enough');
    expect(seen).toHaveLength(5);
    expect(existsSync(dest)).toBe(false);
    expect(temporaries()).toEqual([]);

    // A signal aborted beforehand: nothing starts.
    expect(await rejection(db.backup(dest, { signal: AbortSignal.abort() }))).toMatchObject({ name: 'AbortError' });
    expect(existsSync(dest)).toBe(false);

    // The pool goes on, and a later backup succeeds.
    const done = await db.backup(dest);
    expect(done.pages).toBeGreaterThan(400);
    expect(existsSync(dest)).toBe(true);
  });

  it('a failed backup leaves an existing dest untouched; onProgress throwing aborts it', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('a')");
    const dest = join(pools.dir, 'keep.db');
    writeFileSync(dest, 'previous contents');
    const error = await rejection(
      db.backup(dest, {
        onProgress: () => {
          throw new Error('listener failed');
        },
      }),
    );
    expect(error.message).toBe('listener failed');
    expect(readFileSync(dest, 'utf8')).toBe('previous contents');
    expect(temporaries()).toEqual([]);
    // A directory that does not exist: refused before any work, nothing written.
    const missing = join(pools.dir, 'no-such-dir', 'x.db');
    expect((await rejection(db.backup(missing))).code).toBe('LITEPOOL_OUT_OF_RANGE');
    expect(existsSync(missing)).toBe(false);
    // A directory where no file can be created (Linux /proc): a typed SQLite error, nothing left.
    if (process.platform === 'linux') {
      const failure = await rejection(db.backup('/proc/self/x.db'));
      expect(failure.code).toMatch(/^SQLITE_CANTOPEN/);
      expect(failure.message).toContain('/proc/self/x.db');
    }
  });

  it('rejects bad arguments with typed errors, and after close()', async () => {
    const db = await pools.fresh({ readers: 1 });
    expect(await rejection(db.backup(42 as never))).toBeInstanceOf(TypeError);
    expect(await rejection(db.backup(db.path))).toBeInstanceOf(RangeError);
    expect(await rejection(db.backup(join(pools.dir, 'x.db'), { pagesPerStep: 0 }))).toBeInstanceOf(RangeError);
    expect(await rejection(db.backup(join(pools.dir, 'x.db'), { onProgress: 'log' as never }))).toBeInstanceOf(TypeError);
    expect(await rejection(db.backup(join(pools.dir, 'x.db'), { every: 1 } as never))).toBeInstanceOf(TypeError);
    await db.close();
    expect(await rejection(db.backup(join(pools.dir, 'x.db')))).toBeInstanceOf(PoolClosedError);
  });

  it('copies to a destination whose name is close to the file-name limit', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('long')");
    // 247 bytes (room left for the -journal SQLite looks for when the copy is opened): the
    // temporary name beside it is shortened to fit, a multi-byte name at a character boundary.
    for (const name of [`${'b'.repeat(244)}.db`, `${'é'.repeat(121)}xx.db`]) {
      expect(Buffer.byteLength(name)).toBe(247);
      for (const copy of [(dest: string) => db.backup(dest), (dest: string) => db.vacuumInto(dest)]) {
        const dest = join(pools.dir, name);
        await copy(dest);
        const opened = await pools.openAt(dest, { readers: 0 });
        expect(await opened.all('SELECT v FROM t')).toEqual([{ v: 'long' }]);
        await opened.close();
      }
    }
    expect(temporaries()).toEqual([]);
  });

  it('backs up an in-memory database', async () => {
    const db = await open(':memory:');
    try {
      await db.exec("CREATE TABLE m (v TEXT); INSERT INTO m VALUES ('in memory')");
      const dest = join(pools.dir, 'memory-copy.db');
      await db.backup(dest);
      const copy = await pools.openAt(dest, { readers: 1 });
      expect(await copy.all('SELECT v FROM m')).toEqual([{ v: 'in memory' }]);
    } finally {
      await db.close();
    }
  });
});
