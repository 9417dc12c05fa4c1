// Owns the key under which a pool names itself: reached through a view of the pool (a Proxy, such
// as the Fastify decoration beside named instances), it still answers with the pool its events
// carry, so that whoever matches events to a pool (OpenTelemetry's instrument()) finds them.
// Runs on the JS thread.

/** `pool[POOL_ITSELF]` is the Pool itself, read through any view of it. */
export const POOL_ITSELF: unique symbol = Symbol('litepool.pool');
