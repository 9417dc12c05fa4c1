// Owns the type tests of 'litepool/fastify': registration options (a path with open() options,
// or a pool; a name), the decorations (app.litepool, request.litepoolTx) and the route setting.
// Compiled only, never run.

import Fastify from 'fastify';
import type { Pool, Transaction } from '../lib/index.ts';
import litepool from '../lib/integrations/fastify/index.ts';

declare const db: Pool;

export async function plugin(): Promise<void> {
  const app = Fastify();
  await app.register(litepool, { path: 'app.db', readers: 4, synchronous: 'full' });
  await app.register(litepool, { pool: db, name: 'main' });
  const pool: Pool = app.litepool;
  const named: Pool | undefined = app.litepool.main;
  void pool;
  void named;
  app.post('/transfer', { config: { litepool: { transaction: { behavior: 'exclusive', timeout: 5000, name: 'main' } } } }, async (request) => {
    const tx: Transaction | null = request.litepoolTx;
    await tx?.run('UPDATE accounts SET balance = balance - 1 WHERE id = 1');
    return { ok: true };
  });
  app.post('/simple', { config: { litepool: { transaction: true } } }, async () => ({}));

  // @ts-expect-error open() options only come with a path
  await app.register(litepool, { pool: db, readers: 2 });
  // @ts-expect-error a pool or a path, not both
  await app.register(litepool, { pool: db, path: 'app.db' });
  // @ts-expect-error one of pool or path is required
  await app.register(litepool, { name: 'x' });
  // @ts-expect-error behavior is 'deferred' | 'immediate' | 'exclusive'
  app.post('/bad', { config: { litepool: { transaction: { behavior: 'sometimes' } } } }, async () => ({}));
  // @ts-expect-error the transaction is a Transaction or null
  const notNull: Transaction = ({} as import('fastify').FastifyRequest).litepoolTx;
  void notNull;
}
