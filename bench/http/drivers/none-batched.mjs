// Owns the "no database, batched" connection of an HTTP benchmark server: the constant row of
// none.mjs, answered the way an asynchronous driver answers. Every query made during one
// event-loop turn gets its row in one batch on the next turn (setImmediate), as litepool's replies
// come back: one completion batch settles every query it finished. Beside the synchronous
// ceiling (none.mjs), it shows what HTTP leaves to a driver whose replies arrive in batches.

import { open as openConstant } from './none.mjs';

export const id = 'none-batched';
export const label = 'no database, batched';
export const kind = 'async';

export async function open() {
  const constant = await openConstant();
  /** Queries of the current turn: [resolve, value] pairs, answered together on the next one. */
  let pending = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    for (const [resolve, value] of batch) resolve(value);
  };
  const later = (value) =>
    new Promise((resolve) => {
      if (pending.length === 0) setImmediate(flush);
      pending.push([resolve, value]);
    });
  return {
    get: (sql, params) => later(constant.get(sql, params)),
    run: (sql, params) => later(constant.run(sql, params)),
    close: () => constant.close(),
  };
}
