// Covers 'litepool/drizzle' with the real Drizzle ORM: migrations from a drizzle-kit folder
// through Drizzle's own migrator (applied once, also with two migrators at once), CRUD with
// RETURNING, run results, values() as arrays, column modes mapped from array rows, joins (a left
// join's missing side is null), relational queries, placeholders, commit and rollback (a throw,
// tx.rollback()), nested transactions as savepoints, transaction behavior, 50 concurrent
// read-modify-write transactions ending exact with no SQLITE_BUSY, reads answered while another
// transaction holds the writer, db.batch() (one atomic round trip for writes, a transaction for
// mixed batches, tx.batch() as a savepoint, failures as DrizzleQueryError, its argument checks,
// an empty batch refused as the pool refuses one), the pool's retry re-running db.transaction()
// after a transient failure Drizzle wrapped, streaming with iterate() (arguments checked at the
// call; inserts, updates and deletes refused), errors, logging, a query cache and the
// configuration checks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asc, count, DrizzleQueryError, eq, sql, TransactionRollbackError, type Logger } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LitepoolError, SqliteError, open, type Pool } from '../lib/index.ts';
import { drizzle, iterate, migrate, type LitepoolDatabase } from '../lib/integrations/drizzle/index.ts';
import { transactionBehaviors } from './helpers/channels.ts';
import * as schema from './fixtures/drizzle-migrations/schema.ts';

const { users, posts, counters } = schema;
const migrationsFolder = fileURLToPath(new URL('./fixtures/drizzle-migrations', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let dir: string;
let fileCounter = 0;
let pool: Pool;
let db: LitepoolDatabase<typeof schema>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'litepool-drizzle-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  pool = await open(join(dir, `drizzle-${++fileCounter}.db`), { readers: 3 });
  db = drizzle(pool, { schema });
  await migrate(db, { migrationsFolder });
});

afterEach(async () => {
  await pool.close();
});

const when = new Date('2025-01-02T03:04:05.000Z');

async function seed(): Promise<{ ada: number; alan: number; grace: number }> {
  const [ada, alan, grace] = await db
    .insert(users)
    .values([
      { name: 'Ada', email: 'ada@example.com', age: 36 },
      { name: 'Alan', email: 'alan@example.com', age: 41 },
      { name: 'Grace', email: 'grace@example.com', age: null },
    ])
    .returning({ id: users.id });
  await db.insert(posts).values([
    { authorId: ada!.id, title: 'Notes on the engine', published: true, createdAt: when },
    { authorId: ada!.id, title: 'Draft', createdAt: when },
    { authorId: alan!.id, title: 'Computable numbers', published: true, createdAt: when },
  ]);
  return { ada: ada!.id, alan: alan!.id, grace: grace!.id };
}

describe("Drizzle's migrator", () => {
  it('applied the folder once; running it again applies nothing', async () => {
    const ledger = () => pool.all<{ hash: string; created_at: number }>('SELECT hash, created_at FROM __drizzle_migrations ORDER BY created_at');
    const first = await ledger();
    expect(first.map((r) => Number(r.created_at))).toEqual([1735689600000, 1738368000000]);
    await migrate(db, { migrationsFolder });
    expect(await ledger()).toEqual(first);
    const tables = await pool.all<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
    expect(tables.map((t) => t.name)).toEqual(['__drizzle_migrations', 'counters', 'posts', 'users']);
  });

  it('applies each migration once when two migrators start at once', async () => {
    const fresh = await open(join(dir, `drizzle-${++fileCounter}.db`), { readers: 2 });
    const a = drizzle(fresh, { schema });
    const b = drizzle(fresh);
    await Promise.all([migrate(a, { migrationsFolder }), migrate(b, { migrationsFolder }), migrate(a, { migrationsFolder })]);
    expect(await fresh.get('SELECT count(*) AS n FROM __drizzle_migrations')).toEqual({ n: 2 });
    await fresh.close();
  });

  it('refuses a database that drizzle() did not make, and a missing folder', async () => {
    await expect(migrate({} as never, { migrationsFolder })).rejects.toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    await expect(migrate(db, { migrationsFolder: join(dir, 'nowhere') })).rejects.toThrow(/_journal\.json/);
    expect(pool.stats().writer.held).toBe(false);
  });
});

describe('queries', () => {
  it('inserts with RETURNING and reports run results', async () => {
    const [ada] = await db.insert(users).values({ name: 'Ada', email: 'ada@example.com', age: 36 }).returning();
    expect(ada).toEqual({ id: 1, name: 'Ada', email: 'ada@example.com', age: 36 });
    const result = await db.insert(users).values({ name: 'Alan', email: 'alan@example.com' }).run();
    expect(result).toEqual({ changes: 1, lastInsertRowid: 2 });
    const updated = await db
      .update(users)
      .set({ age: sql`${users.age} + 1` })
      .where(eq(users.name, 'Ada'))
      .returning({ name: users.name, age: users.age });
    expect(updated).toEqual([{ name: 'Ada', age: 37 }]);
    const plainUpdate = await db.update(users).set({ age: 50 }).where(eq(users.name, 'Alan'));
    expect(plainUpdate.changes).toBe(1);
    const deleted = await db.delete(users).where(eq(users.name, 'Alan')).returning({ id: users.id });
    expect(deleted).toEqual([{ id: 2 }]);
    expect(await db.select().from(users)).toEqual([{ id: 1, name: 'Ada', email: 'ada@example.com', age: 37 }]);
    expect(await db.select({ n: count() }).from(users).get()).toEqual({ n: 1 });
  });

  it('maps column modes from array rows (boolean, timestamp) and reads values() as arrays', async () => {
    await seed();
    const rows = await db.select({ title: posts.title, published: posts.published, createdAt: posts.createdAt }).from(posts).orderBy(asc(posts.id));
    expect(rows[0]).toEqual({ title: 'Notes on the engine', published: true, createdAt: when });
    expect(rows[1]?.published).toBe(false);
    expect(await db.select({ id: users.id, name: users.name }).from(users).orderBy(users.id).values()).toEqual([
      [1, 'Ada'],
      [2, 'Alan'],
      [3, 'Grace'],
    ]);
  });

  it('runs raw SQL through db.all / db.get / db.run / db.values', async () => {
    await seed();
    expect(await db.all<{ name: string }>(sql`SELECT name FROM users ORDER BY id`)).toEqual([{ name: 'Ada' }, { name: 'Alan' }, { name: 'Grace' }]);
    expect(await db.get<{ n: number }>(sql`SELECT count(*) AS n FROM posts`)).toEqual({ n: 3 });
    expect(await db.values(sql`SELECT id FROM users WHERE age IS NULL`)).toEqual([[3]]);
    expect(await db.run(sql`UPDATE users SET age = 1 WHERE age IS NULL`)).toEqual({ changes: 1, lastInsertRowid: 3 });
  });

  it('joins, with a left join missing side as null', async () => {
    const { grace } = await seed();
    const joined = await db
      .select({ title: posts.title, author: users.name })
      .from(posts)
      .innerJoin(users, eq(posts.authorId, users.id))
      .orderBy(posts.id);
    expect(joined).toEqual([
      { title: 'Notes on the engine', author: 'Ada' },
      { title: 'Draft', author: 'Ada' },
      { title: 'Computable numbers', author: 'Alan' },
    ]);
    const left = await db.select().from(users).leftJoin(posts, eq(posts.authorId, users.id)).where(eq(users.id, grace));
    expect(left).toEqual([{ users: { id: grace, name: 'Grace', email: 'grace@example.com', age: null }, posts: null }]);
  });

  it('answers relational queries', async () => {
    await seed();
    const authors = await db.query.users.findMany({
      with: { posts: { columns: { title: true }, orderBy: (p, { asc: up }) => [up(p.id)] } },
      orderBy: (u, { asc: up }) => [up(u.id)],
    });
    expect(authors.map((a) => [a.name, a.posts.map((p) => p.title)])).toEqual([
      ['Ada', ['Notes on the engine', 'Draft']],
      ['Alan', ['Computable numbers']],
      ['Grace', []],
    ]);
    const one = await db.query.posts.findFirst({ where: (p, { eq: is }) => is(p.title, 'Draft'), with: { author: true } });
    expect(one?.author.name).toBe('Ada');
  });

  it('runs prepared queries with placeholders', async () => {
    await seed();
    const byId = db.select({ name: users.name }).from(users).where(eq(users.id, sql.placeholder('id'))).prepare();
    expect(await byId.get({ id: 2 })).toEqual({ name: 'Alan' });
    expect(await byId.all({ id: 3 })).toEqual([{ name: 'Grace' }]);
    expect(await byId.get({ id: 99 })).toBeUndefined();
  });

  it('reports SQLite failures as DrizzleQueryError caused by SqliteError', async () => {
    await seed();
    const error = await db
      .insert(users)
      .values({ name: 'Copy', email: 'ada@example.com' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DrizzleQueryError);
    expect((error as DrizzleQueryError).cause).toBeInstanceOf(SqliteError);
    expect(((error as DrizzleQueryError).cause as SqliteError).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
  });

  it('logs every query to the configured logger', async () => {
    const logged: string[] = [];
    const logger: Logger = { logQuery: (query) => logged.push(query) };
    const logging = drizzle(pool, { schema, logger });
    await logging.select().from(users);
    await logging.insert(users).values({ name: 'x', email: 'x@example.com' });
    expect(logged).toEqual([expect.stringMatching(/^select .* from "users"$/), expect.stringMatching(/^insert into "users"/)]);
  });
});

describe('transactions', () => {
  it('commits on success, rolls back on a throw and on tx.rollback()', async () => {
    const id = await db.transaction(async (tx) => {
      const [row] = await tx.insert(users).values({ name: 'Ada', email: 'ada@example.com' }).returning({ id: users.id });
      await tx.insert(posts).values({ authorId: row!.id, title: 'kept', createdAt: when });
      return row!.id;
    });
    expect(id).toBe(1);
    const failure = new Error('stop');
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(posts).values({ authorId: 1, title: 'lost', createdAt: when });
        throw failure;
      }),
    ).rejects.toBe(failure);
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(posts).values({ authorId: 1, title: 'also lost', createdAt: when });
        tx.rollback();
      }),
    ).rejects.toBeInstanceOf(TransactionRollbackError);
    expect(await db.select({ title: posts.title }).from(posts)).toEqual([{ title: 'kept' }]);
    expect(pool.stats().writer.held).toBe(false);
  });

  it('runs nested transactions as savepoints that roll back alone', async () => {
    await db.transaction(async (tx) => {
      await tx.insert(counters).values({ id: 1, value: 1 });
      await expect(
        tx.transaction(async (inner) => {
          await inner.insert(counters).values({ id: 2, value: 2 });
          throw new Error('inner fails');
        }),
      ).rejects.toThrow('inner fails');
      await tx.transaction(async (inner) => {
        await inner.insert(counters).values({ id: 3, value: 3 });
        await inner.transaction(async (deeper) => {
          await deeper.insert(counters).values({ id: 4, value: 4 });
        });
      });
    });
    expect((await db.select({ id: counters.id }).from(counters).orderBy(counters.id)).map((r) => r.id)).toEqual([1, 3, 4]);
  });

  it("runs fn again under the pool's retry option after a transient failure Drizzle wrapped, and rejects as Drizzle would once retries run out", async () => {
    const file = join(dir, `drizzle-${++fileCounter}.db`);
    const retried = await open(file, { readers: 1, retry: { attempts: 3, baseDelay: 1, maxDelay: 5 } });
    const other = await open(file, { readers: 1 });
    try {
      const orm = drizzle(retried, { schema });
      await migrate(orm, { migrationsFolder });
      // A deferred transaction that read, then finds another connection wrote: SQLITE_BUSY_SNAPSHOT,
      // which Drizzle reports as DrizzleQueryError; the pool's retry runs fn again.
      let calls = 0;
      await orm.transaction(
        async (tx) => {
          calls++;
          await tx.select().from(counters);
          if (calls === 1) await other.run('INSERT INTO counters (id, value) VALUES (100, 0)');
          await tx.insert(counters).values({ id: calls, value: calls });
        },
        { behavior: 'deferred' },
      );
      expect(calls).toBe(2);
      expect((await orm.select({ id: counters.id }).from(counters).orderBy(counters.id)).map((r) => r.id)).toEqual([2, 100]);
      // Failing every time: fn runs `attempts` times, and the caller gets Drizzle's error.
      let attempts = 0;
      const error = await orm
        .transaction(
          async (tx) => {
            attempts++;
            await tx.select().from(counters);
            await other.run('INSERT INTO counters (id, value) VALUES (?, 0)', [200 + attempts]);
            await tx.insert(counters).values({ id: 300 + attempts, value: 0 });
          },
          { behavior: 'deferred' },
        )
        .catch((e: unknown) => e);
      expect(attempts).toBe(3);
      expect(error).toBeInstanceOf(DrizzleQueryError);
      expect((error as DrizzleQueryError).cause).toBeInstanceOf(SqliteError);
      expect((error as DrizzleQueryError).cause).toMatchObject({ code: 'SQLITE_BUSY_SNAPSHOT' });
      // A failure that is not transient is not retried, and is Drizzle's error as before.
      let once = 0;
      const unique = await orm
        .transaction(async (tx) => {
          once++;
          await tx.insert(counters).values({ id: 2, value: 0 });
        })
        .catch((e: unknown) => e);
      expect(once).toBe(1);
      expect(unique).toBeInstanceOf(DrizzleQueryError);
      expect((unique as DrizzleQueryError).cause).toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    } finally {
      await retried.close();
      await other.close();
    }
  });

  it('begins with the behavior asked for, BEGIN IMMEDIATE by default, and refuses an unknown one', async () => {
    // litepool:transaction carries the behavior each of this pool's transactions ran with.
    const behaviors = await transactionBehaviors(pool, async () => {
      await db.transaction((tx) => tx.insert(users).values({ name: 'default', email: 'default@example.com' }));
      for (const behavior of ['deferred', 'immediate', 'exclusive'] as const) {
        await db.transaction((tx) => tx.insert(users).values({ name: behavior, email: `${behavior}@example.com` }), { behavior });
      }
    });
    expect(behaviors).toEqual(['immediate', 'deferred', 'immediate', 'exclusive']);
    expect(await db.select({ n: count() }).from(users).get()).toEqual({ n: 4 });
    await expect(db.transaction(async () => undefined, { behavior: 'sometimes' as never })).rejects.toMatchObject({
      code: 'LITEPOOL_OUT_OF_RANGE',
    });
  });

  it('runs 50 concurrent read-modify-write transactions on one counter exactly, with no SQLITE_BUSY', async () => {
    await db.insert(counters).values({ id: 1, value: 0 });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () =>
        db.transaction(async (tx) => {
          const row = await tx.select({ value: counters.value }).from(counters).where(eq(counters.id, 1)).get();
          await sleep(1);
          await tx.update(counters).set({ value: row!.value + 1 }).where(eq(counters.id, 1));
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await db.select({ value: counters.value }).from(counters).get()).toEqual({ value: 50 });
  });

  it('answers reads while another transaction holds the writer, and queues writes behind it', async () => {
    await db.insert(counters).values({ id: 1, value: 1 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inside!: () => void;
    const entered = new Promise<void>((resolve) => {
      inside = resolve;
    });
    const holder = db.transaction(async (tx) => {
      await tx.update(counters).set({ value: 2 });
      inside();
      await gate;
    });
    await entered;
    expect(pool.stats().writer.held).toBe(true);
    expect(await db.select({ value: counters.value }).from(counters).get()).toEqual({ value: 1 });
    let written = false;
    const write = db
      .insert(counters)
      .values({ id: 2, value: 0 })
      .then(() => {
        written = true;
      });
    await sleep(50);
    expect(written).toBe(false);
    release();
    await holder;
    await write;
    expect(await db.select({ value: counters.value }).from(counters).where(eq(counters.id, 1)).get()).toEqual({ value: 2 });
  });
});

describe('db.batch()', () => {
  it('runs plain writes in one atomic round trip: a failing item rolls the others back', async () => {
    const before = pool.stats().operations.started;
    const [a, b] = await db.batch([
      db.insert(users).values({ name: 'Ada', email: 'ada@example.com' }),
      db.insert(users).values({ name: 'Alan', email: 'alan@example.com' }),
    ]);
    expect(a).toEqual({ changes: 1, lastInsertRowid: 1 });
    expect(b).toEqual({ changes: 1, lastInsertRowid: 2 });
    expect(pool.stats().operations.started - before).toBe(1);
    const error = await db
      .batch([
        db.insert(users).values({ name: 'Grace', email: 'grace@example.com' }),
        db.insert(users).values({ name: 'Copy', email: 'ada@example.com' }),
      ])
      .catch((e: unknown) => e);
    // As a single query's failure: DrizzleQueryError, the SqliteError as its cause.
    expect(error).toBeInstanceOf(DrizzleQueryError);
    expect((error as DrizzleQueryError).cause).toBeInstanceOf(SqliteError);
    expect((error as DrizzleQueryError).cause).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' });
    expect((error as DrizzleQueryError).params).toEqual(['Grace', 'grace@example.com', 'Copy', 'ada@example.com']);
    expect((await db.select({ name: users.name }).from(users).orderBy(users.id)).map((u) => u.name)).toEqual(['Ada', 'Alan']);
  });

  it('runs a mixed batch (reads, RETURNING, raw SQL) in one transaction, each result in its shape', async () => {
    await seed();
    const [inserted, everyone, first, raw, rawRows, rawValues] = await db.batch([
      db.insert(users).values({ name: 'Edsger', email: 'edsger@example.com' }).returning({ id: users.id }),
      db.select({ name: users.name }).from(users).orderBy(users.id),
      db.query.users.findFirst({ columns: { name: true, age: true }, where: (u, { eq: is }) => is(u.name, 'Ada') }),
      db.run(sql`UPDATE users SET age = 0 WHERE age IS NULL`),
      db.all<{ n: number }>(sql`SELECT count(*) AS n FROM users`),
      db.values(sql`SELECT id FROM users WHERE name = 'Edsger'`),
    ]);
    expect(inserted).toEqual([{ id: 4 }]);
    expect(everyone.map((u) => u.name)).toEqual(['Ada', 'Alan', 'Grace', 'Edsger']);
    expect(first).toEqual({ name: 'Ada', age: 36 });
    expect(raw).toMatchObject({ changes: 2 });
    expect(rawRows).toEqual([{ n: 4 }]);
    expect(rawValues).toEqual([[4]]);
  });

  it('rolls a mixed batch back whole when one item fails, reporting that item as DrizzleQueryError', async () => {
    await seed();
    const error = await db
      .batch([
        db.insert(users).values({ name: 'Edsger', email: 'edsger@example.com' }).returning(),
        db.select().from(users),
        db.insert(users).values({ name: 'Copy', email: 'ada@example.com' }).returning(),
      ])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DrizzleQueryError);
    expect((error as DrizzleQueryError).cause).toBeInstanceOf(SqliteError);
    expect((error as DrizzleQueryError).cause).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' });
    expect((error as DrizzleQueryError).query).toMatch(/^insert into "users"/);
    expect((error as DrizzleQueryError).params).toEqual(['Copy', 'ada@example.com']);
    expect(await db.select({ n: count() }).from(users).get()).toEqual({ n: 3 });
  });

  it('refuses what is not a batch of queries with coded errors, before anything runs', async () => {
    const bad = (batch: unknown): Promise<unknown> => db.batch(batch as never).catch((e: unknown) => e);
    expect(await bad(null)).toMatchObject({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' });
    expect(await bad([{ not: 'a query' }])).toMatchObject({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' });
    expect(await bad([db.insert(users).values({ name: 'Ada', email: 'ada@example.com' }), 5])).toMatchObject({
      code: 'LITEPOOL_INVALID_ARGUMENT',
      message: expect.stringMatching(/item 1 /),
    });
    // A query of a kind litepool does not know (another driver's prepared query).
    const foreign = { _prepare: () => ({ getQuery: () => ({ sql: 'SELECT 1', params: [] }), mapResult: (r: unknown) => r }) };
    expect(await bad([foreign])).toMatchObject({ name: 'RangeError', code: 'LITEPOOL_MISUSE' });
    expect(await bad(null)).toBeInstanceOf(LitepoolError);
    expect(await db.select().from(users)).toEqual([]);
  });

  it("refuses an empty batch up front with the pool's own error for one, in and out of a transaction", async () => {
    const poolError = await pool.batch([]).catch((e: unknown) => e);
    expect(poolError).toMatchObject({ name: 'RangeError', code: 'LITEPOOL_OUT_OF_RANGE' });
    const outside = await db.batch([] as never).catch((e: unknown) => e);
    const inside = await db.transaction((tx) => tx.batch([] as never).catch((e: unknown) => e));
    for (const error of [outside, inside]) {
      expect(error).not.toBeInstanceOf(DrizzleQueryError);
      expect(error).toBeInstanceOf((poolError as Error).constructor);
      expect(error).toBeInstanceOf(LitepoolError);
      expect(error).toMatchObject({ name: 'RangeError', code: 'LITEPOOL_OUT_OF_RANGE', message: expect.stringMatching(/at least one/) });
    }
    expect(pool.stats().writer.held).toBe(false);
  });

  it('runs tx.batch() as a SAVEPOINT: a failing batch is undone alone and the transaction goes on', async () => {
    await seed();
    const outcome = await db.transaction(async (tx) => {
      await tx.insert(users).values({ name: 'kept', email: 'kept@example.com' });
      const [written, read] = await tx.batch([
        tx.insert(users).values({ name: 'batched', email: 'batched@example.com' }),
        tx.select({ name: users.name }).from(users).orderBy(users.id),
      ]);
      const mixed = await tx
        .batch([
          tx.insert(users).values({ name: 'undone', email: 'undone@example.com' }).returning(),
          tx.insert(users).values({ name: 'Copy', email: 'ada@example.com' }).returning(),
        ])
        .catch((e: unknown) => e);
      const writes = await tx
        .batch([
          tx.insert(users).values({ name: 'undone too', email: 'undone-too@example.com' }),
          tx.insert(users).values({ name: 'Copy', email: 'ada@example.com' }),
        ])
        .catch((e: unknown) => e);
      return { changes: written.changes, names: read.map((u) => u.name), mixed, writes };
    });
    expect(outcome.changes).toBe(1);
    expect(outcome.names).toEqual(['Ada', 'Alan', 'Grace', 'kept', 'batched']);
    for (const error of [outcome.mixed, outcome.writes]) {
      expect(error).toBeInstanceOf(DrizzleQueryError);
      expect((error as DrizzleQueryError).cause).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' });
    }
    expect((await db.select({ name: users.name }).from(users).orderBy(users.id)).map((u) => u.name)).toEqual([
      'Ada',
      'Alan',
      'Grace',
      'kept',
      'batched',
    ]);
  });
});

describe('streaming with iterate()', () => {
  beforeEach(async () => {
    await db.insert(users).values(Array.from({ length: 300 }, (_, i) => ({ name: `u${i + 1}`, email: `u${i + 1}@example.com`, age: i })));
  });

  it('streams every row in order, mapped like all()', async () => {
    const names: string[] = [];
    for await (const row of iterate(db.select({ name: users.name, age: users.age }).from(users).orderBy(users.id), { chunkSize: 64 })) {
      names.push(row.name);
    }
    expect(names).toHaveLength(300);
    expect(names[0]).toBe('u1');
    expect(names[299]).toBe('u300');
    const full = [];
    for await (const row of iterate(db.select().from(users).leftJoin(posts, eq(posts.authorId, users.id)).where(eq(users.id, 1)))) {
      full.push(row);
    }
    expect(full).toEqual([{ users: { id: 1, name: 'u1', email: 'u1@example.com', age: 0 }, posts: null }]);
  });

  it('frees the reader when the consumer stops early, and takes placeholders', async () => {
    let seen = 0;
    const query = db.select().from(users).where(sql`${users.age} >= ${sql.placeholder('min')}`).orderBy(users.id);
    for await (const row of iterate(query, { placeholders: { min: 100 }, chunkSize: 10 })) {
      expect(row.age).toBeGreaterThanOrEqual(100);
      if (++seen === 25) break;
    }
    expect(seen).toBe(25);
    expect(pool.stats().readers.pinned).toBe(0);
  });

  it('streams inside a transaction, and refuses relational queries and foreign objects', async () => {
    await db.transaction(async (tx) => {
      await tx.insert(users).values({ name: 'uncommitted', email: 'new@example.com' });
      let last = '';
      let n = 0;
      for await (const row of iterate(tx.select({ name: users.name }).from(users).orderBy(users.id))) {
        last = row.name;
        n++;
      }
      expect([n, last]).toEqual([301, 'uncommitted']);
    });
    expect(() => iterate(db.query.users.findMany() as never)).toThrow(/relational queries/);
    expect(() => iterate({ all: async () => [] })).toThrow(TypeError);
  });

  it('checks its arguments at the call, with coded errors, before any row is pulled', () => {
    const query = db.select().from(users);
    const thrown = (call: () => unknown): unknown => {
      try {
        call();
      } catch (error) {
        return error;
      }
      return undefined;
    };
    expect(thrown(() => iterate(null as never))).toMatchObject({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' });
    expect(thrown(() => iterate(query, null as never))).toMatchObject({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' });
    expect(thrown(() => iterate(query, { chunksize: 5 } as never))).toMatchObject({
      code: 'LITEPOOL_INVALID_ARGUMENT',
      message: expect.stringMatching(/chunksize/),
    });
    expect(thrown(() => iterate(query, { chunkSize: 0 }))).toMatchObject({ name: 'RangeError', code: 'LITEPOOL_OUT_OF_RANGE' });
    expect(thrown(() => iterate(query, { chunkSize: '5' as never }))).toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    expect(thrown(() => iterate(query, { signal: 'abort' as never }))).toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    expect(thrown(() => iterate(query, { placeholders: 5 as never }))).toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    expect(thrown(() => iterate(null as never))).toBeInstanceOf(LitepoolError);
    expect(pool.stats().readers.pinned).toBe(0);
  });

  it('refuses an insert, update or delete at the call, also inside a transaction, running nothing', async () => {
    const thrown = (call: () => unknown): unknown => {
      try {
        call();
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const writes = (q: typeof db | Parameters<Parameters<typeof db.transaction>[0]>[0]) => [
      q.insert(users).values({ name: 'new', email: 'new@example.com' }),
      q.insert(users).values({ name: 'new', email: 'new@example.com' }).returning(),
      q.update(users).set({ name: 'renamed' }),
      q.update(users).set({ name: 'renamed' }).returning(),
      q.delete(users),
      q.delete(users).returning(),
      q.delete(users).returning().prepare(),
    ];
    for (const query of writes(db)) {
      expect(thrown(() => iterate(query as never))).toMatchObject({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT', message: expect.stringMatching(/select/) });
    }
    await db.transaction(async (tx) => {
      for (const query of writes(tx)) {
        expect(thrown(() => iterate(query as never))).toMatchObject({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' });
      }
    });
    expect(await db.select({ count: count() }).from(users)).toEqual([{ count: 300 }]);
    expect(await db.select({ count: count() }).from(users).where(eq(users.name, 'renamed'))).toEqual([{ count: 0 }]);
    // A prepared select is still streamed.
    let n = 0;
    for await (const _ of iterate(db.select({ id: users.id }).from(users).prepare())) n++;
    expect(n).toBe(300);
  });
});

describe('configuration', () => {
  it('refuses what is not a pool, unknown options and bad values', () => {
    expect(() => drizzle({} as never)).toThrow(expect.objectContaining({ code: 'LITEPOOL_INVALID_ARGUMENT' }));
    expect(() => drizzle(pool, { schemas: schema } as never)).toThrow(/unknown drizzle\(\) option schemas/);
    expect(() => drizzle(pool, { casing: 'kebab' as never })).toThrow(expect.objectContaining({ code: 'LITEPOOL_OUT_OF_RANGE' }));
    expect(() => drizzle(pool, { logger: 'yes' as never })).toThrow(expect.objectContaining({ code: 'LITEPOOL_INVALID_ARGUMENT' }));
    // A cache is a Drizzle Cache: one without its methods would fail the first query.
    expect(() => drizzle(pool, { cache: 5 as never })).toThrow(expect.objectContaining({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' }));
    expect(() => drizzle(pool, { cache: {} as never })).toThrow(expect.objectContaining({ code: 'LITEPOOL_INVALID_ARGUMENT' }));
    expect(() => drizzle(pool, { cache: { strategy: () => 'all', get: async () => undefined } as never })).toThrow(/without put\(\), onMutate\(\)/);
    // Like the pool's own argument errors, they are LitepoolErrors.
    expect(() => drizzle({} as never)).toThrow(LitepoolError);
    expect(() => drizzle(pool, { casing: 'kebab' as never })).toThrow(LitepoolError);
  });

  it('runs queries through a Drizzle cache given as `cache`', async () => {
    const calls: string[] = [];
    const cache = {
      strategy: () => 'all' as const,
      get: async () => {
        calls.push('get');
        return undefined;
      },
      put: async () => {
        calls.push('put');
      },
      onMutate: async () => {
        calls.push('onMutate');
      },
    };
    const cached = drizzle(pool, { schema, cache: cache as never });
    await cached.insert(users).values({ name: 'Ada', email: 'ada@example.com' });
    expect(await cached.select({ name: users.name }).from(users)).toEqual([{ name: 'Ada' }]);
    expect(calls).toEqual(['onMutate', 'get', 'put']);
  });

  it('exposes the pool as $client and maps snake_case casing', async () => {
    expect(db.$client).toBe(pool);
    const snake = drizzle(pool, { casing: 'snake_case' });
    await snake.insert(users).values({ name: 'Ada', email: 'ada@example.com' });
    expect(await snake.select({ id: users.id }).from(users)).toEqual([{ id: 1 }]);
  });
});
