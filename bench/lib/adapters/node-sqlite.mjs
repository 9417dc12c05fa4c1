// Owns the node:sqlite adapter of the benchmark (DatabaseSync with cached statements), behind the
// connection interface of bench/lib/drivers.mjs.

import { SETUP_PRAGMAS, statementCache } from './common.mjs';

export function openNodeSqlite(nodeSqlite, file) {
  const db = new nodeSqlite.DatabaseSync(file);
  for (const pragma of SETUP_PRAGMAS) db.exec(pragma);
  const stmt = statementCache((sql) => db.prepare(sql));
  const hasIterate = typeof db.prepare('SELECT 1').iterate === 'function';
  return {
    kind: 'sync',
    db,
    get: (sql, params) => stmt(sql).get(...params),
    all: (sql, params) => stmt(sql).all(...params),
    iterate: hasIterate
      ? (sql, params) => {
          let n = 0;
          for (const _row of stmt(sql).iterate(...params)) n++;
          return n;
        }
      : (sql, params) => stmt(sql).all(...params).length,
    iterateMethod: hasIterate ? '.iterate()' : '.all() (no .iterate())',
    run: (sql, params) => stmt(sql).run(...params),
    insertMany: (sql, rows) => {
      const insert = stmt(sql);
      db.exec('BEGIN');
      try {
        for (const row of rows) insert.run(...row);
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    },
    close: () => db.close(),
  };
}
