// Owns the litepool connection of an HTTP benchmark server: one pool (4 reader threads and the
// writer), opened with the settings every driver of the suite shares.

import { CACHE_KIB } from '../../lib/adapters/common.mjs';

export const id = 'litepool';
export const label = 'litepool';
export const kind = 'async';

export async function open(file) {
  const { open: openPool } = await import('../../../dist/index.js');
  const pool = await openPool(file, { readers: 4, synchronous: 'normal', cacheSize: CACHE_KIB, busyTimeout: 5000 });
  return {
    get: (sql, params) => pool.get(sql, params),
    run: (sql, params) => pool.run(sql, params),
    close: () => pool.close(),
  };
}
