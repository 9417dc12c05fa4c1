// Covers a real full disk: a 2 MiB tmpfs mounted for the test (root only; skipped with a message
// where mounting is not permitted), holding a ballast file and the database. Writes through
// run() and a write queue (group commit) fill it until SQLite reports SQLITE_FULL: the failing
// writes reject with SqliteError SQLITE_FULL, reads keep working, and every acknowledged row is
// there. Removing the ballast frees space: writes work again on the same pool, integrity_check
// says ok, and after close() a fresh pool finds every acknowledged row.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteError, open, type Pool } from '../lib/index.ts';

let dir: string;
let mount: string;
let mounted = false;
let why = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'litepool-full-disk-'));
  mount = join(dir, 'disk');
  mkdirSync(mount);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mount], { stdio: 'pipe' });
    mounted = true;
  } catch (error) {
    why = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    console.warn(`skipping the full-disk test: cannot mount a tmpfs (${why})`);
  }
});

afterAll(() => {
  if (mounted) execFileSync('umount', [mount], { stdio: 'pipe' });
  rmSync(dir, { recursive: true, force: true });
});

const INSERT = 'INSERT INTO t (id, body) VALUES (?, randomblob(3000))';

describe('a real full disk (2 MiB tmpfs)', () => {
  it('fails writes with SQLITE_FULL, keeps every acknowledged row, and writes again once space is freed', async (context) => {
    if (!mounted) context.skip();
    const ballast = join(mount, 'ballast');
    writeFileSync(ballast, Buffer.alloc(384 * 1024, 1));
    const file = join(mount, 'full.db');
    const acked: number[] = [];
    let id = 0;
    const db: Pool = await open(file, { readers: 2 });
    try {
      await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
      // Single writes until the first failure.
      let failure: unknown;
      for (let i = 0; i < 2000 && failure === undefined; i++) {
        const row = ++id;
        try {
          await db.run(INSERT, [row]);
          acked.push(row);
        } catch (error) {
          failure = error;
        }
      }
      expect(failure).toBeInstanceOf(SqliteError);
      expect((failure as SqliteError).code).toBe('SQLITE_FULL');
      expect(acked.length).toBeGreaterThan(50);

      // Queued writes (group commit) on the full disk: each settles; the failures are SQLITE_FULL.
      const queue = db.writeQueue({ capacity: 100 });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 100 }, () => {
          const row = ++id;
          return queue.enqueue(INSERT, [row]).then(() => acked.push(row));
        }),
      );
      await queue.shutdown();
      const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(refused.length).toBeGreaterThan(0);
      for (const { reason } of refused) {
        expect(reason).toBeInstanceOf(SqliteError);
        expect((reason as SqliteError).code).toBe('SQLITE_FULL');
      }

      // Reads still work, and see exactly the acknowledged rows.
      const seen = (await db.all<{ id: number }>('SELECT id FROM t ORDER BY id')).map((row) => row.id);
      expect(seen).toEqual([...acked].sort((a, b) => a - b));

      // Space again: the same pool writes again.
      rmSync(ballast);
      for (let i = 0; i < 20; i++) {
        const row = ++id;
        await db.run(INSERT, [row]);
        acked.push(row);
      }
      expect(await db.all('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    } finally {
      await db.close();
    }

    const again = await open(file, { readers: 1 });
    try {
      const present = new Set((await again.all<{ id: number }>('SELECT id FROM t')).map((row) => row.id));
      expect(acked.filter((row) => !present.has(row))).toEqual([]);
      expect(await again.all('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    } finally {
      await again.close();
    }
  }, 60_000);
});
