// Owns the better-sqlite3 adapters of the benchmark: one connection with cached statements and
// transactions for multi-row inserts, and a connection opened and closed for every query, behind
// the connection interface of bench/lib/drivers.mjs.

import { SETUP_PRAGMAS, statementCache } from './common.mjs';

export function openBetterSqlite3(BetterSqlite3, file) {
  const db = new BetterSqlite3(file);
  for (const pragma of SETUP_PRAGMAS) db.exec(pragma);
  const stmt = statementCache((sql) => db.prepare(sql));
  const txs = new Map();
  return {
    kind: 'sync',
    db,
    get: (sql, params) => stmt(sql).get(...params),
    all: (sql, params) => stmt(sql).all(...params),
    iterate: (sql, params) => {
      let n = 0;
      for (const _row of stmt(sql).iterate(...params)) n++;
      return n;
    },
    iterateMethod: '.iterate()',
    run: (sql, params) => stmt(sql).run(...params),
    insertMany: (sql, rows) => {
      let tx = txs.get(sql);
      if (!tx) {
        const insert = stmt(sql);
        tx = db.transaction((many) => {
          for (const row of many) insert.run(...row);
        });
        txs.set(sql, tx);
      }
      tx(rows);
    },
    close: () => db.close(),
  };
}

/** A new better-sqlite3 connection for every query: open, prepare, run, close. */
export function openPerQuery(BetterSqlite3, file) {
  const once = (sql, use) => {
    const db = new BetterSqlite3(file);
    try {
      return use(db.prepare(sql));
    } finally {
      db.close();
    }
  };
  return {
    kind: 'sync',
    get: (sql, params) => once(sql, (s) => s.get(...params)),
    all: (sql, params) => once(sql, (s) => s.all(...params)),
    close: () => {},
  };
}
