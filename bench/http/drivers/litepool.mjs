// Owns the litepool connection of an HTTP benchmark server: one pool with the pool's default
// number of reader threads (what users get; LITEPOOL_BENCH_READERS=<n> sets another) and the
// writer, opened with the settings every driver of the suite shares.

import { CACHE_KIB } from '../../lib/adapters/common.mjs';

export const id = 'litepool';
export const label = 'litepool';
export const kind = 'async';

/** Environment variable that overrides the pool's default number of readers, for experiments. */
export const READERS_VARIABLE = 'LITEPOOL_BENCH_READERS';

/**
 * The `readers` option from LITEPOOL_BENCH_READERS, or undefined (the pool's default) when it is
 * unset or empty. Throws on anything but an integer from 0 to 64, so a typo does not quietly
 * measure the default.
 */
export function readersOverride(env = process.env) {
  const raw = env[READERS_VARIABLE];
  if (raw === undefined || raw.trim() === '') return undefined;
  const readers = Number(raw);
  if (!Number.isInteger(readers) || readers < 0 || readers > 64) {
    throw new Error(`${READERS_VARIABLE} must be an integer from 0 to 64, got ${JSON.stringify(raw)}`);
  }
  return readers;
}

export async function open(file) {
  const { open: openPool } = await import('../../../dist/index.js');
  const readers = readersOverride();
  const pool = await openPool(file, {
    ...(readers === undefined ? {} : { readers }),
    synchronous: 'normal',
    cacheSize: CACHE_KIB,
    busyTimeout: 5000,
  });
  return {
    get: (sql, params) => pool.get(sql, params),
    run: (sql, params) => pool.run(sql, params),
    close: () => pool.close(),
  };
}
