// Covers the locks SQLite holds on a database's files while the pool reads its WAL figures: the
// WAL monitor and stats() read them without opening or closing any file of the database (on
// POSIX systems closing any descriptor of a file drops every lock the process holds on it), so
// another process still cannot write while a write lease holds the write lock.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNode } from './helpers/child.ts';
import { root } from './helpers/paths.ts';
import { tempPools } from './helpers/pools.ts';
import { sleep } from './helpers/waits.ts';

const pools = tempPools('file-locks');
const tryWrite = join(root, 'test', 'fixtures', 'try-write.mjs');

describe('file locks', () => {
  it('a write lease keeps another process out while stats() and the WAL monitor read the WAL', async () => {
    const db = await pools.fresh({ readers: 1, walMonitor: { intervalMs: 10, checkpointBytes: 1, warnBytes: 1e9 } });
    await db.run("INSERT INTO t (v) VALUES ('before')");
    const lease = await db.acquire({ write: true });
    await lease.exec('BEGIN IMMEDIATE');
    await lease.run("INSERT INTO t (v) VALUES ('lease')");
    for (let i = 0; i < 5; i++) expect(db.stats().wal.frames).toBeGreaterThan(0);
    await sleep(100); // the monitor looks at the WAL about ten times meanwhile
    const blocked = await runNode([tryWrite, db.path], { bound: 30_000 });
    expect(blocked.stdout.trim()).toBe('SQLITE_BUSY');
    await lease.exec('COMMIT');
    await lease.release();
    const after = await runNode([tryWrite, db.path], { bound: 30_000 });
    expect(after.stdout.trim()).toBe('wrote');
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'before' }, { v: 'lease' }, { v: 'other process' }]);
    expect((await db.integrityCheck()).ok).toBe(true);
  });
});
