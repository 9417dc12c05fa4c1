// Covers 'litepool/kysely' with the real Kysely: CRUD with RETURNING and the result counters,
// joins, raw SQL (rows or counters as SQLite says; a PRAGMA asked afresh each time, and one
// given a value run on the writer only), cancellation, commit and rollback, 50
// concurrent read-modify-write transactions ending exact with no SQLITE_BUSY, reads answered
// while another transaction holds the writer, read-only transactions on a snapshot, savepoints,
// the transaction timeout, a failed COMMIT (its own error, and a controlled transaction that
// refuses statements after it), transactions in db.connection(), no replay of a held
// transaction, streaming (in order, early stop
// frees the reader), Kysely's Migrator (latest, down, a failing migration rolled back whole, two
// migrators at once), introspection, a dialect that opens and closes its own pool (a query racing
// its destroy() rejects with PoolClosedError), and the
// configuration checks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, sql, type Generated, type Selectable } from 'kysely';
import { Migrator, type Migration } from 'kysely/migration';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { LitepoolError, PoolClosedError, SqliteError, TransactionTimeoutError, open, type Pool } from '../lib/index.ts';
import { holdTransaction } from '../lib/integrations/held-transaction.ts';
import { LitepoolDialect } from '../lib/integrations/kysely/index.ts';
import { transactionBehaviors } from './helpers/channels.ts';

interface PersonTable {
  id: Generated<number>;
  name: string;
  age: number | null;
}
interface PetTable {
  id: Generated<number>;
  owner_id: number;
  species: string;
}
interface CounterTable {
  id: number;
  value: number;
}
interface Database {
  person: PersonTable;
  pet: PetTable;
  counter: CounterTable;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let dir: string;
let counter = 0;
let pool: Pool;
let db: Kysely<Database>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'litepool-kysely-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  pool = await open(join(dir, `kysely-${++counter}.db`), { readers: 3 });
  db = new Kysely<Database>({ dialect: new LitepoolDialect({ pool }) });
  await db.schema
    .createTable('person')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('age', 'integer')
    .execute();
  await db.schema
    .createTable('pet')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('person.id'))
    .addColumn('species', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('counter')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('value', 'integer', (c) => c.notNull())
    .execute();
});

afterEach(async () => {
  await db.destroy();
  await pool.close();
});

describe('queries', () => {
  it('inserts, selects, updates and deletes, with and without RETURNING', async () => {
    const ada = await db.insertInto('person').values({ name: 'Ada', age: 36 }).returning(['id', 'name']).executeTakeFirstOrThrow();
    expect(ada).toEqual({ id: 1, name: 'Ada' });

    const plain = await db.insertInto('person').values({ name: 'Grace', age: 85 }).executeTakeFirstOrThrow();
    expect(plain.insertId).toBe(2n);
    expect(plain.numInsertedOrUpdatedRows).toBe(1n);

    const many = await db
      .insertInto('person')
      .values([
        { name: 'Alan', age: 41 },
        { name: 'Edsger', age: null },
      ])
      .returningAll()
      .execute();
    expect(many.map((p) => p.name)).toEqual(['Alan', 'Edsger']);

    const everyone = await db.selectFrom('person').selectAll().orderBy('id').execute();
    expect(everyone).toHaveLength(4);
    expect(everyone[3]).toEqual({ id: 4, name: 'Edsger', age: null });

    const updated = await db.updateTable('person').set({ age: 42 }).where('name', '=', 'Alan').executeTakeFirstOrThrow();
    expect(updated.numUpdatedRows).toBe(1n);
    const older = await db
      .updateTable('person')
      .set((eb) => ({ age: eb('age', '+', 1) }))
      .where('age', 'is not', null)
      .returning(['name', 'age'])
      .execute();
    expect(older).toHaveLength(3);
    expect(older.find((p) => p.name === 'Ada')?.age).toBe(37);

    const deleted = await db.deleteFrom('person').where('name', '=', 'Edsger').returning('id').execute();
    expect(deleted).toEqual([{ id: 4 }]);
    const none = await db.deleteFrom('person').where('id', '=', 999).executeTakeFirstOrThrow();
    expect(none.numDeletedRows).toBe(0n);
    expect(await db.selectFrom('person').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).toEqual({ n: 3 });
  });

  it('joins', async () => {
    const [ada, grace] = await db
      .insertInto('person')
      .values([
        { name: 'Ada', age: 36 },
        { name: 'Grace', age: 85 },
      ])
      .returning('id')
      .execute();
    await db
      .insertInto('pet')
      .values([
        { owner_id: ada!.id, species: 'cat' },
        { owner_id: ada!.id, species: 'dog' },
        { owner_id: grace!.id, species: 'owl' },
      ])
      .execute();
    const rows = await db
      .selectFrom('pet')
      .innerJoin('person', 'person.id', 'pet.owner_id')
      .select(['person.name as owner', 'pet.species'])
      .orderBy('pet.id')
      .execute();
    expect(rows).toEqual([
      { owner: 'Ada', species: 'cat' },
      { owner: 'Ada', species: 'dog' },
      { owner: 'Grace', species: 'owl' },
    ]);
    const counts = await db
      .selectFrom('person')
      .leftJoin('pet', 'pet.owner_id', 'person.id')
      .select(['person.name', (eb) => eb.fn.count<number>('pet.id').as('pets')])
      .groupBy('person.name')
      .orderBy('person.name')
      .execute();
    expect(counts).toEqual([
      { name: 'Ada', pets: 2 },
      { name: 'Grace', pets: 1 },
    ]);
  });

  it('runs raw SQL: rows when the statement returns rows, counters when it does not', async () => {
    await sql`INSERT INTO person (name, age) VALUES (${'Ada'}, ${36}), (${'Alan'}, ${41})`.execute(db);
    const selected = await sql<Selectable<PersonTable>>`SELECT * FROM person ORDER BY id`.execute(db);
    expect(selected.rows.map((r) => r.name)).toEqual(['Ada', 'Alan']);
    const updated = await sql`UPDATE person SET age = age + 1`.execute(db);
    expect(updated.rows).toEqual([]);
    expect(updated.numAffectedRows).toBe(2n);
    const inserted = await sql`INSERT INTO person (name) VALUES (${'Grace'})`.execute(db);
    expect(inserted.insertId).toBe(3n);
    const returned = await sql<{ id: number }>`DELETE FROM person WHERE name = ${'Grace'} RETURNING id`.execute(db);
    expect(returned.rows).toEqual([{ id: 3 }]);
    // The same texts again (remembered kinds) give the same shapes.
    expect((await sql`UPDATE person SET age = age + 1`.execute(db)).numAffectedRows).toBe(2n);
    expect((await sql<Selectable<PersonTable>>`SELECT * FROM person ORDER BY id`.execute(db)).rows[0]?.age).toBe(38);
  });

  it('answers a raw PRAGMA afresh each time: its rows can change with the schema', async () => {
    const info = sql<{ name: string }>`PRAGMA table_info(items)`;
    const quoted = sql<{ name: string }>`PRAGMA "table_info"(items)`;
    expect((await info.execute(db)).rows).toEqual([]);
    expect((await quoted.execute(db)).rows).toEqual([]);
    await db.schema.createTable('items').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('name', 'text').execute();
    expect((await info.execute(db)).rows.map((r) => r.name)).toEqual(['id', 'name']);
    expect((await quoted.execute(db)).rows.map((r) => r.name)).toEqual(['id', 'name']);
    // Inside a transaction too (asked on its connection).
    await db.transaction().execute(async (trx) => {
      await sql`ALTER TABLE items ADD COLUMN price REAL`.execute(trx);
      expect((await info.execute(trx)).rows.map((r) => r.name)).toEqual(['id', 'name', 'price']);
    });
  });

  it('runs a raw PRAGMA given a value on the writer, as db.run() does, never preparing it on a reader', async () => {
    const file = join(dir, `kysely-${++counter}.db`);
    const single = await open(file, { readers: 1 });
    const kysely = new Kysely<Database>({ dialect: new LitepoolDialect({ pool: single }) });
    const onWriter = async (pragma: string): Promise<unknown> => {
      await using lease = await single.acquire({ write: true });
      return Object.values((await lease.get<Record<string, unknown>>(`PRAGMA ${pragma}`))!)[0];
    };
    try {
      await single.exec("CREATE TABLE t(x); INSERT INTO t VALUES ('Apple')");
      const like = () => single.all("SELECT x FROM t WHERE x LIKE 'apple'");
      expect(await like()).toEqual([{ x: 'Apple' }]);
      for (const statement of [
        sql`PRAGMA case_sensitive_like = ON`,
        sql`PRAGMA foreign_keys = OFF`,
        sql`/* a comment */ pragma main.recursive_triggers(1);`,
        sql`EXPLAIN PRAGMA reverse_unordered_selects = ON`,
      ]) {
        await statement.execute(kysely);
      }
      // The reader kept its settings (db.run() leaves it alone too); the writer took them.
      expect(await like()).toEqual([{ x: 'Apple' }]);
      expect(await single.get('PRAGMA foreign_keys')).toEqual({ foreign_keys: 1 });
      expect(await single.get('PRAGMA recursive_triggers')).toEqual({ recursive_triggers: 0 });
      expect(await single.get('PRAGMA reverse_unordered_selects')).toEqual({ reverse_unordered_selects: 0 });
      expect([await onWriter('foreign_keys'), await onWriter('recursive_triggers')]).toEqual([0, 1]);
      // Its result: rows when it reports some, counters when it does not.
      expect((await sql`PRAGMA wal_autocheckpoint = 500`.execute(kysely)).rows).toEqual([{ wal_autocheckpoint: 500 }]);
      expect(await sql`PRAGMA user_version = 7`.execute(kysely)).toMatchObject({ rows: [], numAffectedRows: 0n });
      expect((await sql`PRAGMA user_version`.execute(kysely)).rows).toEqual([{ user_version: 7 }]);
      expect(single.stats().writer.held).toBe(false);
    } finally {
      await kysely.destroy();
      await single.close();
    }
  });

  it('surfaces SQLite errors as SqliteError with their code', async () => {
    await db.insertInto('person').values({ id: 1, name: 'Ada', age: 1 }).execute();
    const error = await db
      .insertInto('person')
      .values({ id: 1, name: 'Again', age: 2 })
      .execute()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqliteError);
    expect((error as SqliteError).code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
  });
});

describe('cancellation', () => {
  it("interrupts the running statement with inflightQueryAbortStrategy: 'cancel query'", async () => {
    const slow = sql<{ n: number }>`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c`;
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('client went away')), 50);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await expect(slow.execute(db, { signal: controller.signal, inflightQueryAbortStrategy: 'cancel query' })).rejects.toThrow(
        'client went away',
      );
      // Kysely waits for the statement to end before it reuses the connection, and reports it.
      await vi.waitFor(() => expect(logged).toHaveBeenCalledWith(expect.stringContaining('`query` failed in the background')));
    } finally {
      logged.mockRestore();
    }
    expect(pool.stats().operations.cancelled).toBeGreaterThanOrEqual(1);
    // A cancelled read rejects at once; its reader is free as soon as the progress handler sees
    // the interrupt (within 1,000 VM instructions), which a loaded machine can delay.
    await vi.waitFor(() => expect(pool.stats().readers.busy).toBe(0));
    expect(await db.selectFrom('person').selectAll().execute()).toEqual([]);
  });
});

describe('transactions', () => {
  it('commits on success and rolls back on a throw', async () => {
    const id = await db.transaction().execute(async (trx) => {
      const row = await trx.insertInto('person').values({ name: 'Ada', age: 1 }).returning('id').executeTakeFirstOrThrow();
      await trx.insertInto('pet').values({ owner_id: row.id, species: 'cat' }).execute();
      return row.id;
    });
    expect(id).toBe(1);
    const failure = new Error('stop');
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('person').values({ name: 'Ghost', age: 2 }).execute();
        await trx.insertInto('pet').values({ owner_id: 1, species: 'ghost dog' }).execute();
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await db.selectFrom('person').select('name').execute()).toEqual([{ name: 'Ada' }]);
    expect(await db.selectFrom('pet').select('species').execute()).toEqual([{ species: 'cat' }]);
    expect(pool.stats().writer.held).toBe(false);
  });

  it('runs 50 concurrent read-modify-write transactions on one counter exactly, with no SQLITE_BUSY', async () => {
    await db.insertInto('counter').values({ id: 1, value: 0 }).execute();
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () =>
        db.transaction().execute(async (trx) => {
          const { value } = await trx.selectFrom('counter').select('value').where('id', '=', 1).executeTakeFirstOrThrow();
          await sleep(1);
          await trx.updateTable('counter').set({ value: value + 1 }).where('id', '=', 1).execute();
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await db.selectFrom('counter').select('value').executeTakeFirstOrThrow()).toEqual({ value: 50 });
  });

  it('answers reads while another transaction holds the writer, and queues writes behind it', async () => {
    await db.insertInto('person').values({ name: 'Ada', age: 36 }).execute();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inside!: () => void;
    const entered = new Promise<void>((resolve) => {
      inside = resolve;
    });
    const holder = db.transaction().execute(async (trx) => {
      await trx.updateTable('person').set({ age: 99 }).execute();
      inside();
      await gate;
    });
    await entered;
    expect(pool.stats().writer.held).toBe(true);
    // A read answers at once from a reader, seeing the last committed state.
    const seen = await db.selectFrom('person').select('age').executeTakeFirstOrThrow();
    expect(seen.age).toBe(36);
    let written = false;
    const write = db
      .insertInto('person')
      .values({ name: 'Later', age: 1 })
      .execute()
      .then(() => {
        written = true;
      });
    await sleep(50);
    expect(written).toBe(false);
    release();
    await holder;
    await write;
    expect(written).toBe(true);
    expect((await db.selectFrom('person').select('age').where('name', '=', 'Ada').executeTakeFirstOrThrow()).age).toBe(99);
  });

  it("runs 'read only' transactions on one snapshot, where writes are refused", async () => {
    await db.insertInto('person').values({ name: 'Ada', age: 36 }).execute();
    const trx = await db.startTransaction().setAccessMode('read only').execute();
    const before = await trx.selectFrom('person').selectAll().execute();
    await db.insertInto('person').values({ name: 'Committed meanwhile', age: 1 }).execute();
    const after = await trx.selectFrom('person').selectAll().execute();
    expect(after).toEqual(before);
    const refused = await trx
      .insertInto('person')
      .values({ name: 'x', age: 2 })
      .execute()
      .catch((e: unknown) => e);
    expect((refused as SqliteError).code).toMatch(/^SQLITE_READONLY/);
    await trx.commit().execute();
    expect(await db.selectFrom('person').selectAll().execute()).toHaveLength(2);
    expect(pool.stats().readers.pinned).toBe(0);
  });

  it('supports savepoints on controlled transactions', async () => {
    const trx = await db.startTransaction().execute();
    await trx.insertInto('person').values({ name: 'kept', age: 1 }).execute();
    const sp = await trx.savepoint('one').execute();
    await sp.insertInto('person').values({ name: 'undone', age: 2 }).execute();
    const back = await sp.rollbackToSavepoint('one').execute();
    const sp2 = await back.savepoint('two').execute();
    await sp2.insertInto('person').values({ name: 'released', age: 3 }).execute();
    const released = await sp2.releaseSavepoint('two').execute();
    await released.commit().execute();
    expect((await db.selectFrom('person').select('name').orderBy('id').execute()).map((r) => r.name)).toEqual(['kept', 'released']);
  });

  it('rolls a transaction back past transactionTimeout and frees the writer', async () => {
    const timed = new Kysely<Database>({ dialect: new LitepoolDialect({ pool, transactionTimeout: 100 }) });
    const error = await timed
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('person').values({ name: 'slow', age: 1 }).execute();
        await sleep(400);
        await trx.insertInto('person').values({ name: 'too late', age: 2 }).execute();
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect(pool.stats().writer.held).toBe(false);
    expect(await timed.selectFrom('person').selectAll().execute()).toEqual([]);
    await timed.insertInto('person').values({ name: 'after', age: 3 }).execute();
    await timed.destroy();
  });

  /** A pool with foreign keys on, where inserting `child` 42 fails at COMMIT (a deferred foreign key). */
  async function withDeferredForeignKey(body: (fk: Pool, k: Kysely<Database>) => Promise<void>): Promise<void> {
    const fk = await open(join(dir, `kysely-fk-${++counter}.db`), { pragmas: { foreign_keys: true } });
    const k = new Kysely<Database>({ dialect: new LitepoolDialect({ pool: fk }) });
    try {
      await fk.exec('CREATE TABLE parent(id INTEGER PRIMARY KEY); CREATE TABLE note(x)');
      await fk.exec('CREATE TABLE child(pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)');
      await body(fk, k);
    } finally {
      await k.destroy();
      await fk.close();
    }
  }

  it('rejects with the COMMIT error itself when COMMIT fails (a deferred foreign key), as db.transaction() does', async () => {
    await withDeferredForeignKey(async (fk, k) => {
      const error = await k
        .transaction()
        .execute((trx) => sql`INSERT INTO child VALUES (42)`.execute(trx))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SqliteError);
      expect(error).toMatchObject({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
      expect(await fk.all('SELECT * FROM child')).toEqual([]);
      expect(fk.stats().writer.held).toBe(false);
      // The connection was released clean: the next transaction commits.
      await k.transaction().execute(async (trx) => {
        await sql`INSERT INTO parent VALUES (42)`.execute(trx);
        await sql`INSERT INTO child VALUES (42)`.execute(trx);
      });
      expect(await fk.all('SELECT * FROM child')).toEqual([{ pid: 42 }]);
    });
  });

  it('rejects with TransactionTimeoutError when only the COMMIT comes after transactionTimeout', async () => {
    const timed = new Kysely<Database>({ dialect: new LitepoolDialect({ pool, transactionTimeout: 100 }) });
    const error = await timed
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('person').values({ name: 'slow', age: 1 }).execute();
        await sleep(400);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect(await timed.selectFrom('person').selectAll().execute()).toEqual([]);
    await timed.destroy();
  });

  it('refuses statements on a controlled transaction whose COMMIT failed, never running them on the pool', async () => {
    await withDeferredForeignKey(async (fk, k) => {
      const trx = await k.startTransaction().execute();
      await sql`INSERT INTO child VALUES (42)`.execute(trx);
      const failed = await trx
        .commit()
        .execute()
        .catch((e: unknown) => e);
      expect(failed).toMatchObject({ name: 'SqliteError', code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
      // Kysely still treats the transaction as active: what is sent on it gets the COMMIT's error.
      await expect(sql`INSERT INTO note VALUES ('through a failed transaction')`.execute(trx)).rejects.toBe(failed);
      await expect(trx.savepoint('after').execute()).rejects.toBe(failed);
      await expect(trx.rollback().execute()).resolves.toBeUndefined();
      expect(trx.isRolledBack).toBe(true);
      expect(await fk.all('SELECT * FROM note')).toEqual([]);
      expect(await fk.all('SELECT * FROM child')).toEqual([]);
      expect(fk.stats().writer.held).toBe(false);
    });
  });

  it('after transactionTimeout, rejects savepoints and the commit with TransactionTimeoutError, and rolls back quietly', async () => {
    const timed = new Kysely<Database>({ dialect: new LitepoolDialect({ pool, transactionTimeout: 100 }) });
    const trx = await timed.startTransaction().execute();
    await trx.insertInto('person').values({ name: 'slow', age: 1 }).execute();
    await sleep(400);
    await expect(trx.savepoint('late').execute()).rejects.toBeInstanceOf(TransactionTimeoutError);
    await expect(trx.commit().execute()).rejects.toBeInstanceOf(TransactionTimeoutError);
    await expect(trx.insertInto('person').values({ name: 'too late', age: 2 }).execute()).rejects.toBeInstanceOf(TransactionTimeoutError);
    await expect(trx.rollback().execute()).resolves.toBeUndefined();
    expect(await timed.selectFrom('person').selectAll().execute()).toEqual([]);
    await timed.destroy();
  });

  it('runs transactions one after another on one connection (db.connection()), and plain queries between them', async () => {
    await db.connection().execute(async (conn) => {
      await conn.transaction().execute((trx) => trx.insertInto('person').values({ name: 'first', age: 1 }).execute());
      await conn.insertInto('person').values({ name: 'between', age: 2 }).execute();
      await expect(
        conn.transaction().execute(async (trx) => {
          await trx.insertInto('person').values({ name: 'undone', age: 3 }).execute();
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      await conn.transaction().execute((trx) => trx.insertInto('person').values({ name: 'last', age: 4 }).execute());
    });
    expect((await db.selectFrom('person').select('name').orderBy('id').execute()).map((r) => r.name)).toEqual(['first', 'between', 'last']);
  });

  it('is never replayed: a transaction the pool would run again after a failed COMMIT is rolled back', async () => {
    // What the pool's `retry` does after a transient failure at COMMIT: it calls the body again.
    const replaying = {
      transaction: async (body: (tx: unknown) => Promise<void>) => {
        await body({});
        return body({});
      },
    };
    const held = await holdTransaction(replaying as never);
    await expect(held.commit()).rejects.toMatchObject({ name: 'LitepoolError', code: 'LITEPOOL_ROLLED_BACK' });
  });

  it('begins with the behavior configured, BEGIN IMMEDIATE by default', async () => {
    // litepool:transaction carries the behavior each of this pool's transactions ran with.
    const behaviors = await transactionBehaviors(pool, async () => {
      await db.transaction().execute((trx) => trx.insertInto('person').values({ name: 'default', age: 0 }).execute());
      for (const transactionBehavior of ['deferred', 'immediate', 'exclusive'] as const) {
        const k = new Kysely<Database>({ dialect: new LitepoolDialect({ pool, transactionBehavior }) });
        await k.transaction().execute((trx) => trx.insertInto('person').values({ name: transactionBehavior, age: 0 }).execute());
        await k.destroy();
      }
    });
    expect(behaviors).toEqual(['immediate', 'deferred', 'immediate', 'exclusive']);
    expect(await db.selectFrom('person').select('name').orderBy('id').execute()).toEqual([
      { name: 'default' },
      { name: 'deferred' },
      { name: 'immediate' },
      { name: 'exclusive' },
    ]);
  });
});

describe('streaming', () => {
  beforeEach(async () => {
    await db
      .insertInto('person')
      .values(Array.from({ length: 250 }, (_, i) => ({ name: `p${i + 1}`, age: i })))
      .execute();
  });

  it('streams every row in order, in chunks', async () => {
    const names: string[] = [];
    for await (const row of db.selectFrom('person').select('name').orderBy('id').stream(32)) names.push(row.name);
    expect(names).toHaveLength(250);
    expect(names[0]).toBe('p1');
    expect(names[249]).toBe('p250');
  });

  it('frees the reader when the consumer stops early', async () => {
    let seen = 0;
    for await (const _ of db.selectFrom('person').selectAll().stream(10)) {
      if (++seen === 15) break;
    }
    expect(seen).toBe(15);
    expect(pool.stats().readers.pinned).toBe(0);
  });

  it('streams inside a transaction from its connection', async () => {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('person').values({ name: 'uncommitted', age: 0 }).execute();
      let n = 0;
      let last = '';
      for await (const row of trx.selectFrom('person').select('name').orderBy('id').stream(100)) {
        n++;
        last = row.name;
      }
      expect(n).toBe(251);
      expect(last).toBe('uncommitted');
    });
  });
});

describe("Kysely's Migrator", () => {
  const migrations: Record<string, Migration> = {
    '001_accounts': {
      async up(k: Kysely<any>) {
        await k.schema
          .createTable('account')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .execute();
      },
      async down(k: Kysely<any>) {
        await k.schema.dropTable('account').execute();
      },
    },
    '002_account_name': {
      async up(k: Kysely<any>) {
        await k.schema.alterTable('account').addColumn('name', 'text').execute();
        await k.schema.createIndex('account_name').on('account').column('name').execute();
      },
      async down(k: Kysely<any>) {
        await k.schema.dropIndex('account_name').execute();
        await k.schema.alterTable('account').dropColumn('name').execute();
      },
    },
  };
  const migrator = (k: Kysely<any>, set = migrations): Migrator =>
    new Migrator({ db: k, provider: { getMigrations: async () => set } });

  it('migrates to the latest version and back down', async () => {
    const { error, results } = await migrator(db).migrateToLatest();
    expect(error).toBeUndefined();
    expect(results?.map((r) => [r.migrationName, r.status])).toEqual([
      ['001_accounts', 'Success'],
      ['002_account_name', 'Success'],
    ]);
    await sql`INSERT INTO account (email, name) VALUES ('a@example.com', 'A')`.execute(db);
    const down = await migrator(db).migrateDown();
    expect(down.error).toBeUndefined();
    expect(down.results?.map((r) => [r.migrationName, r.direction, r.status])).toEqual([['002_account_name', 'Down', 'Success']]);
    const columns = (await db.introspection.getTables()).find((t) => t.name === 'account')?.columns.map((c) => c.name);
    expect(columns).toEqual(['id', 'email']);
    expect((await migrator(db).migrateToLatest()).results?.map((r) => r.migrationName)).toEqual(['002_account_name']);
  });

  it('rolls a failing run back whole (transactional DDL)', async () => {
    const failing: Record<string, Migration> = {
      ...migrations,
      '003_broken': {
        async up(k: Kysely<any>) {
          await k.schema.createTable('half_done').addColumn('id', 'integer').execute();
          await sql`THIS IS NOT SQL`.execute(k);
        },
      },
    };
    const { error, results } = await migrator(db, failing).migrateToLatest();
    expect(error).toBeInstanceOf(SqliteError);
    expect(results?.find((r) => r.migrationName === '003_broken')?.status).toBe('Error');
    const tables = (await db.introspection.getTables()).map((t) => t.name);
    expect(tables).not.toContain('half_done');
    expect(tables).not.toContain('account');
    expect(pool.stats().writer.held).toBe(false);
  });

  it('serializes two migrators started at once: each migration runs once', async () => {
    const other = new Kysely<Database>({ dialect: new LitepoolDialect({ pool }) });
    const [a, b] = await Promise.all([migrator(db).migrateToLatest(), migrator(other).migrateToLatest()]);
    expect(a.error).toBeUndefined();
    expect(b.error).toBeUndefined();
    const applied = [...(a.results ?? []), ...(b.results ?? [])].map((r) => r.migrationName).sort();
    expect(applied).toEqual(['001_accounts', '002_account_name']);
    const ledger = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db);
    expect(ledger.rows.map((r) => r.name)).toEqual(['001_accounts', '002_account_name']);
    await other.destroy();
  });
});

describe('introspection', () => {
  it('lists tables and columns', async () => {
    const tables = await db.introspection.getTables();
    expect(tables.map((t) => t.name).sort()).toEqual(['counter', 'person', 'pet']);
    const person = tables.find((t) => t.name === 'person')!;
    expect(person.columns.map((c) => [c.name, c.dataType, c.isNullable])).toEqual([
      ['id', 'INTEGER', true],
      ['name', 'TEXT', false],
      ['age', 'INTEGER', true],
    ]);
    expect(person.columns[0]?.isAutoIncrementing).toBe(true);
  });
});

describe('dialect configuration', () => {
  it('opens its own pool from { path, ...options } and closes it on destroy()', async () => {
    const file = join(dir, `own-${++counter}.db`);
    const own = new Kysely<Database>({ dialect: new LitepoolDialect({ path: file, readers: 2 }) });
    await own.schema.createTable('t').addColumn('v', 'text').execute();
    await sql`INSERT INTO t (v) VALUES ('x')`.execute(own);
    await own.destroy();
    // The file is complete and closed: another pool reads it.
    const check = await open(file);
    expect(await check.all('SELECT v FROM t')).toEqual([{ v: 'x' }]);
    await check.close();
  });

  it('a query that races destroy() of a dialect that opens its own pool rejects with PoolClosedError', async () => {
    const own = new Kysely<Database>({ dialect: new LitepoolDialect({ path: join(dir, `own-${++counter}.db`) }) });
    const query = sql`SELECT 1 AS x`.execute(own).then(
      () => undefined,
      (error: unknown) => error,
    );
    await own.destroy();
    expect(await query).toBeInstanceOf(PoolClosedError);
  });

  it('leaves a pool passed in open on destroy()', async () => {
    const k = new Kysely<Database>({ dialect: new LitepoolDialect({ pool }) });
    await k.selectFrom('person').selectAll().execute();
    await k.destroy();
    expect(pool.closed).toBe(false);
    expect(await pool.get('SELECT 1 AS one')).toEqual({ one: 1 });
  });

  it('refuses bad configurations with a clear error', () => {
    const bad = (config: unknown): unknown => {
      try {
        new LitepoolDialect(config as never);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    expect(bad(undefined)).toMatchObject({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' });
    expect(bad({})).toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    expect(bad({ pool: {} })).toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    expect(bad({ pool, path: 'x.db' })).toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    expect(bad({ pool, readers: 2 })).toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    expect(bad({ pool, transactionBehavior: 'sometimes' })).toMatchObject({ name: 'RangeError', code: 'LITEPOOL_OUT_OF_RANGE' });
    expect(bad({ pool, transactionTimeout: 0 })).toMatchObject({ code: 'LITEPOOL_OUT_OF_RANGE' });
    expect(bad({ pool, transactionTimeout: '5' })).toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    // Like the pool's own argument errors, they are LitepoolErrors.
    for (const config of [undefined, { pool, transactionBehavior: 'sometimes' }]) expect(bad(config)).toBeInstanceOf(LitepoolError);
  });

  it('reports a bad open() option when the dialect first opens its pool', async () => {
    const k = new Kysely<Database>({ dialect: new LitepoolDialect({ path: join(dir, 'never.db'), readerz: 2 } as never) });
    await expect(k.selectFrom('person').selectAll().execute()).rejects.toMatchObject({ code: 'LITEPOOL_INVALID_ARGUMENT' });
    await k.destroy();
  });
});
