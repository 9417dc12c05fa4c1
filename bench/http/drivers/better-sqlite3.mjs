// Owns the better-sqlite3 connection of an HTTP benchmark server: one synchronous connection with
// the settings every driver of the suite shares and a cache of prepared statements. Each request
// runs its query on the event loop, as a better-sqlite3 server does.

import { createRequire } from 'node:module';

import { SETUP_PRAGMAS } from '../../lib/adapters/common.mjs';

export const id = 'better-sqlite3';
export const label = 'better-sqlite3';
export const kind = 'sync';

export async function open(file) {
  const BetterSqlite3 = createRequire(import.meta.url)('better-sqlite3');
  const db = new BetterSqlite3(file);
  for (const pragma of SETUP_PRAGMAS) db.exec(pragma);
  const statements = new Map();
  const stmt = (sql) => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
  return {
    get: (sql, params) => stmt(sql).get(...params),
    run: (sql, params) => stmt(sql).run(...params),
    close: () => db.close(),
  };
}
