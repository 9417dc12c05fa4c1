// Owns the type tests of 'litepool/kysely': the dialect's configuration (a pool, or a path with
// open() options, never both) and Kysely's typed queries on it. Compiled only, never run.

import { Kysely, type Generated } from 'kysely';
import type { Pool } from '../lib/index.ts';
import { LitepoolDialect, type LitepoolDialectConfig } from '../lib/integrations/kysely/index.ts';

declare const db: Pool;

interface Database {
  person: { id: Generated<number>; name: string; age: number | null };
}

export async function dialect(): Promise<void> {
  const k = new Kysely<Database>({ dialect: new LitepoolDialect({ pool: db }) });
  const rows: { id: number; name: string }[] = await k.selectFrom('person').select(['id', 'name']).execute();
  void rows;
  const inserted: { id: number } = await k.insertInto('person').values({ name: 'Ada', age: null }).returning('id').executeTakeFirstOrThrow();
  void inserted;
  await k.transaction().execute(async (trx) => trx.updateTable('person').set({ age: 1 }).execute());

  new LitepoolDialect({ path: 'app.db', readers: 2, synchronous: 'full', transactionBehavior: 'exclusive', transactionTimeout: 5000 });
  new LitepoolDialect({ pool: db, transactionBehavior: 'deferred' });
  const fromVariable: LitepoolDialectConfig = { path: ':memory:' };
  new LitepoolDialect(fromVariable);

  // @ts-expect-error a pool or a path, not both
  new LitepoolDialect({ pool: db, path: 'app.db' });
  // @ts-expect-error open() options only come with a path
  new LitepoolDialect({ pool: db, readers: 2 });
  // @ts-expect-error one of pool or path is required
  new LitepoolDialect({ transactionTimeout: 1000 });
  // @ts-expect-error transactionBehavior is 'deferred' | 'immediate' | 'exclusive'
  new LitepoolDialect({ pool: db, transactionBehavior: 'sometimes' });
  // @ts-expect-error 'readerz' is not an option of open()
  new LitepoolDialect({ path: 'app.db', readerz: 2 });
  // @ts-expect-error the pool is a litepool Pool
  new LitepoolDialect({ pool: 'app.db' });
  // @ts-expect-error the table does not exist
  await k.selectFrom('people').selectAll().execute();
}
