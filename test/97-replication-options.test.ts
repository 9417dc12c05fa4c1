// Covers the options checkpointOnClose and replication: their defaults, what
// replication: 'litestream' changes (passive close checkpoint, 'truncate' refused, busyTimeout of
// at least 5000 ms, autocheckpoints off, read snapshots bounded by busyTimeout, a warning for a
// longer explicit maxReadDuration), bad values; and what close() does to the files for each
// close checkpoint while another connection keeps the database open, as Litestream does.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { open, type Pool, type PoolOptions } from '../lib/index.ts';
import { resolveOptions } from '../lib/input/options.ts';
import { LONG_READS_WARNING } from '../lib/replication/litestream.ts';

let dir: string;
let counter = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'litepool-replication-options-'));
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const file = (): string => join(dir, `db-${++counter}.db`);
const resolve = (options?: PoolOptions) => resolveOptions('app.db', options);

function rangeError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RangeError);
    expect((error as { code?: string }).code).toBe('LITEPOOL_OUT_OF_RANGE');
    expect((error as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected a RangeError');
}

describe('defaults', () => {
  it("is replication 'none' with a TRUNCATE checkpoint on close", () => {
    const options = resolve();
    expect(options.replication).toBe('none');
    expect(options.checkpointOnClose).toBe('truncate');
    expect(options.pragmas).toEqual({});
    expect(resolve({ checkpointOnClose: false }).checkpointOnClose).toBe(false);
    expect(resolve({ checkpointOnClose: 'passive', replication: 'litefs' }).checkpointOnClose).toBe('passive');
  });

  it('rejects bad values with a typed error naming the option', () => {
    expect(() => resolve({ checkpointOnClose: true as never })).toThrow(TypeError);
    expect(() => resolve({ checkpointOnClose: true as never })).toThrow(/checkpointOnClose must be 'truncate', 'passive' or false/);
    rangeError(() => resolve({ checkpointOnClose: 'full' as never }), /checkpointOnClose must be one of 'truncate', 'passive'/);
    rangeError(() => resolve({ replication: 'rqlite' as never }), /replication must be one of 'none', 'litestream', 'litefs'/);
    expect(() => resolve({ replication: 1 as never })).toThrow(TypeError);
    rangeError(() => resolveOptions(':memory:', { replication: 'litestream' }), /needs a database file/);
    rangeError(() => resolveOptions(':memory:', { replication: 'litefs' }), /needs a database file/);
  });
});

describe("replication: 'litestream'", () => {
  it('closes with a passive checkpoint, or none; refuses TRUNCATE', () => {
    expect(resolve({ replication: 'litestream' }).checkpointOnClose).toBe('passive');
    expect(resolve({ replication: 'litestream', checkpointOnClose: false }).checkpointOnClose).toBe(false);
    rangeError(() => resolve({ replication: 'litestream', checkpointOnClose: 'truncate' }), /Litestream owns the checkpoints/);
  });

  it('waits at least 5000 ms for locks: a smaller explicit busyTimeout is refused, a preset one raised', () => {
    expect(resolve({ replication: 'litestream' }).busyTimeout).toBe(5000);
    expect(resolve({ replication: 'litestream', preset: 'minimal' }).busyTimeout).toBe(5000);
    expect(resolve({ replication: 'litestream', preset: 'production' }).busyTimeout).toBe(10_000);
    expect(resolve({ replication: 'litestream', busyTimeout: 8000 }).busyTimeout).toBe(8000);
    rangeError(() => resolve({ replication: 'litestream', busyTimeout: 4999 }), /at least 5000 ms/);
    // Without replication, small values stay allowed.
    expect(resolve({ busyTimeout: 100 }).busyTimeout).toBe(100);
  });

  it('turns autocheckpoints off unless the pragmas say otherwise', () => {
    expect(resolve({ replication: 'litestream' }).pragmas).toEqual({ wal_autocheckpoint: 0 });
    expect(resolve({ replication: 'litestream', pragmas: { wal_autocheckpoint: 500 } }).pragmas).toEqual({ wal_autocheckpoint: 500 });
    expect(resolve({ replication: 'litestream', preset: 'production' }).pragmas).toMatchObject({ wal_autocheckpoint: 0, temp_store: 'MEMORY' });
  });

  it('bounds read snapshots by busyTimeout by default, and warns about a longer explicit maxReadDuration', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    expect(resolve({ replication: 'litestream' }).maxReadDuration).toBe(5000);
    expect(resolve({ replication: 'litestream', preset: 'production' }).maxReadDuration).toBe(10_000);
    expect(resolve({ replication: 'litestream', busyTimeout: 7000, maxReadDuration: 7000 }).maxReadDuration).toBe(7000);
    expect(resolve({ replication: 'litestream', maxReadDuration: 2000 }).maxReadDuration).toBe(2000);
    expect(warn).not.toHaveBeenCalled();
    expect(resolve({ replication: 'litestream', maxReadDuration: 60_000 }).maxReadDuration).toBe(60_000);
    expect(warn).toHaveBeenCalledTimes(1);
    const [message, options] = warn.mock.calls[0]!;
    expect(message).toMatch(/maxReadDuration \(60000 ms\) is longer than busyTimeout \(5000 ms\)/);
    expect(options).toEqual({ code: LONG_READS_WARNING });
    // Without replication, no warning and no bound.
    expect(resolve({ maxReadDuration: 60_000 }).maxReadDuration).toBe(60_000);
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('reaches the connections: wal_autocheckpoint is 0 on the writer', async () => {
    const replicated = await open(file(), { replication: 'litestream', readers: 1 });
    const plain = await open(file(), { readers: 1 });
    try {
      for (const [db, expected] of [[replicated, 0], [plain, 1000]] as const) {
        const lease = await db.acquire({ write: true });
        try {
          expect(await lease.get('PRAGMA wal_autocheckpoint')).toEqual({ wal_autocheckpoint: expected });
        } finally {
          await lease.release();
        }
      }
    } finally {
      await Promise.all([replicated.close(), plain.close()]);
    }
  });
});

describe('close() with another connection keeping the database open', () => {
  /** Writes through `options`' pool while `keeper` stays open; returns file sizes around close(). */
  async function closeWith(options: PoolOptions): Promise<{ walBefore: number; walAfter: number; dbBefore: number; dbAfter: number }> {
    const path = file();
    const keeper: Pool = await open(path, { readers: 1 });
    try {
      await keeper.exec('CREATE TABLE t (v TEXT)');
      await keeper.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      const db = await open(path, { readers: 1, pragmas: { wal_autocheckpoint: 0 }, ...options });
      await Promise.all(Array.from({ length: 300 }, (_, i) => db.run('INSERT INTO t (v) VALUES (?)', [`${i}:${'x'.repeat(400)}`])));
      const walBefore = statSync(`${path}-wal`).size;
      const dbBefore = statSync(path).size;
      await db.close();
      const sizes = { walBefore, walAfter: statSync(`${path}-wal`).size, dbBefore, dbAfter: statSync(path).size };
      expect(await keeper.get('SELECT count(*) AS n FROM t')).toEqual({ n: 300 });
      return sizes;
    } finally {
      await keeper.close();
    }
  }

  it("'truncate' (the default) empties the WAL file", async () => {
    const sizes = await closeWith({});
    expect(sizes.walBefore).toBeGreaterThan(0);
    expect(sizes.walAfter).toBe(0);
  });

  it("'passive' (the default under 'litestream') copies pages into the database and leaves the WAL file as it is", async () => {
    for (const options of [{ checkpointOnClose: 'passive' }, { replication: 'litestream' }] as const) {
      const sizes = await closeWith(options);
      expect(sizes.walAfter).toBeGreaterThanOrEqual(sizes.walBefore);
      expect(sizes.walAfter).toBeGreaterThan(0);
      expect(sizes.dbAfter).toBeGreaterThan(sizes.dbBefore);
    }
  });

  it('false runs no checkpoint: the pages stay in the WAL only', async () => {
    for (const options of [{ checkpointOnClose: false }, { replication: 'litestream', checkpointOnClose: false }] as const) {
      const sizes = await closeWith(options);
      expect(sizes.walAfter).toBeGreaterThanOrEqual(sizes.walBefore);
      expect(sizes.dbAfter).toBe(sizes.dbBefore);
    }
  });
});
