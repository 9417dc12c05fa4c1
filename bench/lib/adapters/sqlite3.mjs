// Owns the sqlite3 adapter of the benchmark: callback connections wrapped in promises, with
// cached statements, one connection or a round-robin set of them, behind the connection interface
// of bench/lib/drivers.mjs.

import { SETUP_PRAGMAS, statementCache } from './common.mjs';

function sqlite3Open(sqlite3, file) {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE, (error) => {
      if (error) reject(error);
      else resolve(db);
    });
  });
}

const sqlite3Exec = (db, sql) => new Promise((resolve, reject) => db.exec(sql, (e) => (e ? reject(e) : resolve())));

async function sqlite3Connection(sqlite3, file) {
  const db = await sqlite3Open(sqlite3, file);
  await sqlite3Exec(db, SETUP_PRAGMAS.join('; '));
  const statements = [];
  const stmt = statementCache((sql) => {
    const s = db.prepare(sql);
    statements.push(s);
    return s;
  });
  return {
    db,
    get: (sql, params) => new Promise((resolve, reject) => stmt(sql).get(params, (e, row) => (e ? reject(e) : resolve(row)))),
    all: (sql, params) => new Promise((resolve, reject) => stmt(sql).all(params, (e, rows) => (e ? reject(e) : resolve(rows)))),
    iterate: (sql, params) =>
      new Promise((resolve, reject) => {
        let n = 0;
        stmt(sql).each(
          params,
          () => void n++,
          (e) => (e ? reject(e) : resolve(n)),
        );
      }),
    run: (sql, params) =>
      new Promise((resolve, reject) =>
        stmt(sql).run(params, function done(e) {
          if (e) reject(e);
          else resolve({ changes: this.changes, lastInsertRowid: this.lastID });
        }),
      ),
    insertMany: async (sql, rows) => {
      await sqlite3Exec(db, 'BEGIN');
      try {
        const insert = stmt(sql);
        await Promise.all(
          rows.map((row) => new Promise((resolve, reject) => insert.run(row, (e) => (e ? reject(e) : resolve())))),
        );
        await sqlite3Exec(db, 'COMMIT');
      } catch (error) {
        await sqlite3Exec(db, 'ROLLBACK').catch(() => {});
        throw error;
      }
    },
    close: async () => {
      await Promise.all(statements.map((s) => new Promise((resolve) => s.finalize(() => resolve()))));
      await new Promise((resolve, reject) => db.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

/** `size` sqlite3 connections; each call goes to the next one (round robin). */
export async function openSqlite3(sqlite3, file, size) {
  const conns = [];
  for (let i = 0; i < size; i++) conns.push(await sqlite3Connection(sqlite3, file));
  if (size === 1) return { kind: 'async', ...conns[0], iterateMethod: 'Statement#each()' };
  let next = 0;
  const pick = () => conns[next++ % size];
  return {
    kind: 'async',
    get: (sql, params) => pick().get(sql, params),
    all: (sql, params) => pick().all(sql, params),
    iterate: (sql, params) => pick().iterate(sql, params),
    iterateMethod: 'Statement#each()',
    run: (sql, params) => pick().run(sql, params),
    insertMany: (sql, rows) => pick().insertMany(sql, rows),
    close: () => Promise.all(conns.map((c) => c.close())),
  };
}
