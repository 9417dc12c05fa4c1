// Owns the key under which a pool names itself: reached through a view of the pool (a Proxy, such
// as the Fastify decoration beside named instances), it still answers with the pool its events
// carry, so that whoever matches events to a pool (OpenTelemetry's instrument()) finds them.
// Also owns the mark of the parts open() wires: a Pool is built from those only, so `new Pool()`
// fails at once with a typed error instead of a broken pool. Runs on the JS thread.

import { invalidArgument } from '../errors.ts';

/** `pool[POOL_ITSELF]` is the Pool itself, read through any view of it. */
export const POOL_ITSELF: unique symbol = Symbol('litepool.pool');

/** The parts open() wired, each used for one Pool. */
const opened = new WeakSet<object>();

/** Marks `parts` as wired by open(): the Pool constructor takes only such parts. */
export function openedParts<T extends object>(parts: T): T {
  opened.add(parts);
  return parts;
}

/** `parts` when open() wired them (once), else a TypeError (LITEPOOL_INVALID_ARGUMENT): a Pool is made by open(). */
export function checkOpenedParts<T>(parts: T): T {
  if (typeof parts !== 'object' || parts === null || !opened.delete(parts)) {
    throw invalidArgument('a Pool is not constructed with new Pool(): use open(path, options)');
  }
  return parts;
}
