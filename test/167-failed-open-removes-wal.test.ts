// Covers the -wal and -shm files of a pool that wrote nothing: an open() that fails once its
// connections are open (an onConnection hook that throws, on the writer or on a reader; a pragma
// that fails on a reader) and a process that exits right after open() leave only the database
// file, whichever connection closed last: the writer reads through the WAL from its open on and
// closes after the readers, so its close checkpoints and removes both.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LitepoolError, open, type NewConnection, type PoolOptions } from '../lib/index.ts';
import { runNode } from './helpers/child.ts';
import { distEntry, fixture } from './helpers/paths.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('failed-open-wal');

function leftBeside(path: string): string[] {
  return ['-wal', '-shm', '-journal'].filter((suffix) => existsSync(path + suffix));
}

async function failedOpen(options: PoolOptions): Promise<{ path: string; error: unknown }> {
  const path = pools.file();
  const error = await open(path, options).then(
    (pool) => {
      void pool.close();
      return new Error('open() resolved');
    },
    (reason: unknown) => reason,
  );
  return { path, error };
}

describe('a failed open() on a new file', () => {
  const failing: Array<[string, PoolOptions]> = [
    ['an onConnection hook that throws on the writer', { readers: 4, onConnection: (conn: NewConnection) => {
      if (conn.role === 'writer') throw new Error('no writer');
    } }],
    ['an onConnection hook that throws on a reader', { readers: 4, onConnection: async (conn: NewConnection) => {
      if (conn.role === 'reader') throw new Error('no reader');
    } }],
  ];
  it.each(failing)('leaves no -wal or -shm file: %s (40 rounds)', async (_name, options) => {
    for (let round = 0; round < 40; round++) {
      const { path, error } = await failedOpen(options);
      expect(error).toBeInstanceOf(LitepoolError);
      expect(existsSync(path)).toBe(true);
      expect(leftBeside(path)).toEqual([]);
    }
  });

  it('opens afterwards, and a pool closed normally leaves no -wal or -shm either', async () => {
    const { path } = await failedOpen(failing[0]![1]);
    const db = await open(path, { readers: 2 });
    expect(await db.get('SELECT 1 AS one')).toEqual({ one: 1 });
    await db.close();
    expect(leftBeside(path)).toEqual([]);
  });
});

describe('a process that exits right after open()', () => {
  it.skipIf(!existsSync(distEntry))('leaves no -wal or -shm file (5 processes)', async () => {
    for (let round = 0; round < 5; round++) {
      const path = pools.file();
      const result = await runNode([fixture('exit-after-open.mjs'), path], { bound: 30_000 });
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('opened\n');
      expect(result.code).toBe(0);
      expect(leftBeside(path)).toEqual([]);
    }
  });
});
