// Owns the type tests of 'litepool/drizzle': drizzle(pool, config), run results, relational
// queries, transaction options, batch results, iterate() rows and migrate(). Compiled only.

import { eq } from 'drizzle-orm';
import type { Pool, RunResult } from '../lib/index.ts';
import { drizzle, iterate, migrate, type LitepoolDatabase } from '../lib/integrations/drizzle/index.ts';
import * as schema from '../test/fixtures/drizzle-migrations/schema.ts';

declare const db: Pool;
const { users, posts } = schema;

export async function driver(): Promise<void> {
  const orm: LitepoolDatabase<typeof schema> = drizzle(db, { schema, logger: true, casing: 'snake_case' });
  const client: Pool = orm.$client;
  void client;
  const result: RunResult = await orm.insert(users).values({ name: 'Ada', email: 'ada@example.com' }).run();
  void result;
  const returned: { id: number }[] = await orm.insert(users).values({ name: 'A', email: 'a@example.com' }).returning({ id: users.id });
  void returned;
  const withPosts = await orm.query.users.findMany({ with: { posts: true } });
  const title: string | undefined = withPosts[0]?.posts[0]?.title;
  void title;
  const published: boolean | undefined = (await orm.select().from(posts).get())?.published;
  void published;
  const nested: number = await orm.transaction(
    async (tx) => tx.transaction(async (inner) => (await inner.select().from(users).where(eq(users.id, 1))).length),
    { behavior: 'immediate' },
  );
  void nested;
  const [written, read] = await orm.batch([orm.insert(users).values({ name: 'B', email: 'b@example.com' }), orm.select().from(users)]);
  const changes: number = written.changes;
  const name: string | undefined = read[0]?.name;
  void changes;
  void name;
  for await (const row of iterate(orm.select({ id: users.id }).from(users), { chunkSize: 100 })) {
    const id: number = row.id;
    void id;
    // @ts-expect-error only the selected fields are there
    void row.email;
  }
  await migrate(orm, { migrationsFolder: './drizzle' });

  // @ts-expect-error drizzle() takes a litepool Pool, not a path
  drizzle('app.db');
  // @ts-expect-error behavior is 'deferred' | 'immediate' | 'exclusive'
  await orm.transaction(async () => undefined, { behavior: 'sometimes' });
  // @ts-expect-error migrate() needs the migrations folder
  await migrate(orm, {});
  // @ts-expect-error the column does not exist
  await orm.select().from(users).where(eq(users.nickname, 'x'));
}
