// Owns the litepool adapter of the benchmark: a pool with its default readers (or the options given) and the
// suite's settings, behind the connection interface of bench/lib/drivers.mjs, plus litepool's other
// atomic ways of writing 100 rows (batch(), transaction()) when the measured version has them.

import { CACHE_KIB } from './common.mjs';

/** `options` are added to the suite's settings (`{ readers: n }`: n readers instead of the pool's default). */
export async function openLitepool(mod, file, options = {}) {
  const pool = await mod.open(file, { synchronous: 'normal', cacheSize: CACHE_KIB, busyTimeout: 5000, ...options });
  const multiRowSql = new Map();
  return {
    kind: 'async',
    pool,
    get: (sql, params) => pool.get(sql, params),
    all: (sql, params) => pool.all(sql, params),
    iterate:
      typeof pool.iterate === 'function'
        ? async (sql, params) => {
            let n = 0;
            for await (const _row of pool.iterate(sql, params)) n++;
            return n;
          }
        : async (sql, params) => (await pool.all(sql, params)).length,
    iterateMethod: typeof pool.iterate === 'function' ? 'iterate()' : 'all() (no iterate())',
    run: (sql, params) => pool.run(sql, params),
    /** One multi-row INSERT … VALUES (…), (…) statement through run(): one writer round trip. */
    insertMany: (sql, rows) => {
      let text = multiRowSql.get(sql);
      if (!text) {
        const values = sql.slice(sql.toUpperCase().lastIndexOf('VALUES') + 6).trim();
        text = `${sql.slice(0, sql.toUpperCase().lastIndexOf('VALUES'))}VALUES ${Array(rows.length).fill(values).join(', ')}`;
        multiRowSql.set(sql, text);
      }
      return pool.run(text, rows.flat());
    },
    /** The same 100 rows through db.batch(): one prepared INSERT per row, atomic, one round trip. */
    insertManyBatch:
      typeof pool.batch === 'function' ? (sql, rows) => pool.batch(rows.map((params) => ({ sql, params }))) : undefined,
    /** The same 100 rows through db.transaction(): one awaited run() per row. */
    insertManyTx:
      typeof pool.transaction === 'function'
        ? (sql, rows) =>
            pool.transaction(async (tx) => {
              for (const row of rows) await tx.run(sql, row);
            })
        : undefined,
    close: () => pool.close(),
  };
}
