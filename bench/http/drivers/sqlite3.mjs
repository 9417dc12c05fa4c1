// Owns the sqlite3 connections of an HTTP benchmark server: four connections (libuv's thread pool
// has four threads by default), each request sent to the next one in turn, with the settings every
// driver of the suite shares and a cache of prepared statements per connection.

import { createRequire } from 'node:module';

import { SETUP_PRAGMAS } from '../../lib/adapters/common.mjs';

export const id = 'sqlite3x4';
export const label = 'sqlite3 (4 conns)';
export const kind = 'async';

const CONNECTIONS = 4;

async function connect(sqlite3, file) {
  const db = await new Promise((resolve, reject) => {
    const d = new sqlite3.Database(file, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE, (e) => (e ? reject(e) : resolve(d)));
  });
  await new Promise((resolve, reject) => db.exec(SETUP_PRAGMAS.join('; '), (e) => (e ? reject(e) : resolve())));
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
    get: (sql, params) => new Promise((resolve, reject) => stmt(sql).get(params, (e, row) => (e ? reject(e) : resolve(row)))),
    run: (sql, params) =>
      new Promise((resolve, reject) =>
        stmt(sql).run(params, function done(e) {
          if (e) reject(e);
          else resolve({ changes: this.changes, lastInsertRowid: this.lastID });
        }),
      ),
    close: async () => {
      await Promise.all([...statements.values()].map((s) => new Promise((resolve) => s.finalize(() => resolve()))));
      await new Promise((resolve, reject) => db.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

export async function open(file) {
  const sqlite3 = createRequire(import.meta.url)('sqlite3');
  const conns = [];
  for (let i = 0; i < CONNECTIONS; i++) conns.push(await connect(sqlite3, file));
  let next = 0;
  const pick = () => conns[next++ % CONNECTIONS];
  return {
    get: (sql, params) => pick().get(sql, params),
    run: (sql, params) => pick().run(sql, params),
    close: () => Promise.all(conns.map((c) => c.close())),
  };
}
