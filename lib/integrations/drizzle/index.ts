// Owns the public surface of 'litepool/drizzle': drizzle(), its database and transaction
// classes, the migrator and streaming.

export { drizzle, LitepoolDatabase } from './driver.ts';
export { LitepoolTransaction } from './session.ts';
export { migrate } from './migrator.ts';
export { iterate, type IterateOptions, type Streamable } from './iterate.ts';
