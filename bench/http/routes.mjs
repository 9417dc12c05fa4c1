// Owns what a benchmark server does per request, whatever the framework: one query per request.
//
//   GET  /point?id=N   the point read of bench/ (items by primary key)      → the row as JSON
//   GET  /heavy?id=N   the join + group-by workload of bench/ (one post)    → the row as JSON
//   POST /items        {name, email, score, created_at}: one INSERT        → {"id": rowid}
//
// A handler returns the value to send, or a promise of it (async drivers); frameworks send it
// without an extra await for synchronous drivers.

import { SQL } from '../lib/data.mjs';

export function routes(conn) {
  return {
    point: (id) => conn.get(SQL.point, [id]),
    heavy: (id) => conn.get(SQL.heavy, [id]),
    insert: (body) => {
      const done = conn.run(SQL.insertItem, [body.name, body.email, body.score, body.created_at]);
      return typeof done.then === 'function' ? done.then(inserted) : inserted(done);
    },
  };
}

const inserted = (result) => ({ id: Number(result.lastInsertRowid) });

export const isThenable = (value) => value !== null && typeof value === 'object' && typeof value.then === 'function';
