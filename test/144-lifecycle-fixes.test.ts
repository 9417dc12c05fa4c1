// Covers lifecycle fixes. close() awaited from inside a transaction or read() callback of the
// same pool waits for it until its timeout, then closes (bounded, never a hang); a close() from
// outside lets a transaction finish; a lease close() releases rejects later calls with
// PoolClosedError. open() with `migrations` (and
// `litepool migrate`) on a missing file: runs of one process at once build the file once, the
// others migrate it as it is (each migration reported applied once, its JS run once, no temporary
// file left), and a run whose copy lost the name to a file created meanwhile migrates that file
// instead of failing with its copy's error or leaving the file unmigrated. A Kysely 'read only'
// transaction refuses a raw PRAGMA given a value (SQLITE_READONLY) before it reaches the reader.
// Outcomes only: a watchdog reports what never settled, no wall-clock thresholds.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CompiledQuery, Kysely, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { MigrationError, PoolClosedError, SqliteError, open, type Pool } from '../lib/index.ts';
import { run } from '../lib/cli/commands.ts';
import { LitepoolConnection } from '../lib/integrations/kysely/connection.ts';
import { LitepoolDialect } from '../lib/integrations/kysely/index.ts';
import { RawStatementKinds } from '../lib/integrations/kysely/statement-kind.ts';
import { tempPools } from './helpers/pools.ts';
import { latch, rejection, settleOrReport, sleep } from './helpers/waits.ts';
import { Scratch, ledgerOf } from './migrations-helpers.ts';

const pools = tempPools('lifecycle-fixes');
const scratch = new Scratch();
afterAll(() => scratch.remove());

/** Rows in t of the database file `path`, read by a pool of its own. */
async function rowsAt(path: string): Promise<string[]> {
  const db = await open(path, { readers: 1, create: false });
  try {
    return (await db.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((row) => row.v);
  } finally {
    await db.close();
  }
}

/** How `promise` ended within a watchdog: the error's class name and code, 'fulfilled', or 'pending'. */
async function outcome(promise: Promise<unknown>): Promise<string> {
  const [settled] = await settleOrReport([promise], 10_000);
  if (settled!.status !== 'rejected') return settled!.status;
  const error = settled!.reason as Error & { code?: string };
  return `${error.constructor.name} ${error.code}`;
}

describe('close() called from inside a callback of the same pool', () => {
  // close() waits for what was accepted, a transaction whose callback awaits it included: the
  // transaction ends by its own timeout (rolled back), then the pool closes. The pool does not
  // track which callback calls it: on Node 20 that context costs every promise of the process.
  it("awaited in a transaction's callback: the transaction ends by its timeout, rolled back, and close() resolves", async () => {
    const db = await pools.fresh({ readers: 2 });
    let closed: Promise<void> | undefined;
    const tx = db.transaction(
      async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('never committed')");
        closed = db.close();
        await closed;
      },
      { timeout: 300 },
    );
    expect(await outcome(tx)).toBe('TransactionTimeoutError LITEPOOL_TRANSACTION_TIMEOUT');
    expect(await outcome(closed!)).toBe('fulfilled');
    expect(db.closed).toBe(true);
    expect(await rowsAt(db.path)).toEqual([]);
  });

  it("awaited in a read() callback: the snapshot ends by maxReadDuration and close() resolves", async () => {
    const db = await pools.fresh({ readers: 2, maxReadDuration: 300 });
    await db.run("INSERT INTO t (v) VALUES ('a')");
    const read = db.read(async (conn) => {
      expect(await conn.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
      await db.close();
    });
    expect(await outcome(read)).toMatch(/^TransactionTimeoutError /);
    expect(await outcome(db.close())).toBe('fulfilled');
  });

  it('a close() from outside still lets the transaction run to its commit', async () => {
    const db = await pools.fresh({ readers: 1 });
    const held = latch();
    const entered = latch();
    const tx = db.transaction(async (tx) => {
      entered.open();
      await held.promise;
      await tx.run("INSERT INTO t (v) VALUES ('committed')");
      return 'done';
    });
    await entered.promise;
    const closing = db.close();
    held.open();
    expect(await tx).toBe('done');
    await closing;
    expect(await rowsAt(db.path)).toEqual(['committed']);
  });

  it('a lease in use: close() releases it (its transaction rolled back) and later calls reject with PoolClosedError', async () => {
    const db = await pools.fresh({ readers: 2 });
    const used = (async () => {
      await using lease = await db.acquire({ write: true });
      await lease.exec('BEGIN');
      await lease.run("INSERT INTO t (v) VALUES ('never committed')");
      await db.close();
      return rejection(lease.run('SELECT 1'));
    })();
    const [settled] = await settleOrReport([used]);
    expect(settled!.status).toBe('fulfilled');
    expect((settled as PromiseFulfilledResult<unknown>).value).toBeInstanceOf(PoolClosedError);
    expect(await rowsAt(db.path)).toEqual([]);
  });

  it("a read lease's open iteration: its next pull after close() rejects with PoolClosedError too", async () => {
    const db = await pools.fresh({ readers: 2 });
    const used = (async () => {
      const lease = await db.acquire();
      const rows = lease.iterate<{ n: number }>('WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 100000) SELECT n FROM c')[Symbol.asyncIterator]();
      expect((await rows.next()).value).toEqual({ n: 1 });
      await db.close();
      return rejection(rows.next());
    })();
    const [settled] = await settleOrReport([used]);
    expect(settled!.status).toBe('fulfilled');
    expect((settled as PromiseFulfilledResult<unknown>).value).toBeInstanceOf(PoolClosedError);
  });
});

/** Runs the command line in this process. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } });
  return { code, stdout, stderr };
}

/** The ledger and table a of the database file `path`, read by a pool of its own. */
async function contentAt(path: string): Promise<{ ledger: string[]; a: unknown[] }> {
  const db = await open(path, { readers: 1, create: false });
  try {
    return { ledger: (await ledgerOf(db)).map((row) => `${row.version} ${row.state}`), a: await db.all('SELECT x FROM a') };
  } finally {
    await db.close();
  }
}

/** A migrations directory: a table, a row, and a JS migration that counts its runs in this process. */
function counted(key: string): string {
  const js = `export async function up(tx) {
  globalThis[${JSON.stringify(key)}] = (globalThis[${JSON.stringify(key)}] ?? 0) + 1;
  await new Promise((resolve) => setTimeout(resolve, 20));
  await tx.run('CREATE TABLE b (y)');
}
`;
  return scratch.files({ '1.0.0__first.sql': 'CREATE TABLE a (x);\n', '1.1.0__second.sql': "INSERT INTO a VALUES ('once');\n", '1.2.0__third.mjs': js });
}

const MIGRATED = { ledger: ['1.0.0 applied', '1.1.0 applied', '1.2.0 applied'], a: [{ x: 'once' }] };

describe('concurrent runs on one missing database file', () => {
  it('two open() calls at once: one builds the file, the other migrates it; each migration reported and run once', async () => {
    const dir = counted('litepool144a');
    const home = scratch.copy();
    const path = join(home, 'app.db');
    const applied: string[] = [];
    const opening = () => open(path, { readers: 1, migrations: { dir }, observers: [{ onMigration: (e) => void (e.phase === 'applied' && applied.push(e.version)) }] });
    const opened = await Promise.all([opening(), opening()]);
    await Promise.all(opened.map((db) => db.close()));
    // Without the fix each call migrated a copy of its own: every version reported applied twice,
    // the JS migration run twice, and one copy thrown away.
    expect(applied.sort()).toEqual(['1.0.0', '1.1.0', '1.2.0']);
    expect((globalThis as Record<string, unknown>).litepool144a).toBe(1);
    expect(await contentAt(path)).toEqual(MIGRATED);
    expect(readdirSync(home)).toEqual(['app.db']);
  });

  it('open() and `litepool migrate` at once: the command reports what it applied to the file, nothing twice', async () => {
    const dir = counted('litepool144b');
    const home = scratch.copy();
    const path = join(home, 'app.db');
    const applied: string[] = [];
    const [db, command] = await Promise.all([
      open(path, { readers: 1, migrations: { dir }, observers: [{ onMigration: (e) => void (e.phase === 'applied' && applied.push(e.version)) }] }),
      cli('migrate', '--db', path, '--dir', dir, '--json'),
    ]);
    await db.close();
    expect([command.code, command.stderr]).toEqual([0, '']);
    const report = JSON.parse(command.stdout) as { applied: { version: string }[]; current: string };
    expect(report.current).toBe('1.2.0');
    expect([...applied, ...report.applied.map((entry) => entry.version)].sort()).toEqual(['1.0.0', '1.1.0', '1.2.0']);
    expect((globalThis as Record<string, unknown>).litepool144b).toBe(1);
    expect(await contentAt(path)).toEqual(MIGRATED);
    expect(readdirSync(home)).toEqual(['app.db']);
  });

  it('a run waiting for another of this process gives up after its lockTimeout (LITEPOOL_MIGRATION_LOCKED), or when its signal aborts', async () => {
    const slow = "export async function up(tx) { await new Promise((resolve) => setTimeout(resolve, 500)); await tx.run('CREATE TABLE a (x)'); }\n";
    const dir = scratch.files({ '1.0.0__slow.mjs': slow });
    const home = scratch.copy();
    const path = join(home, 'app.db');
    const first = open(path, { readers: 1, migrations: { dir } });
    const second = open(path, { readers: 1, migrations: { dir, lockTimeout: 1 } });
    const controller = new AbortController();
    const third = open(path, { readers: 1, migrations: { dir, signal: controller.signal } });
    const stop = new Error('stopped waiting');
    controller.abort(stop);
    expect(await rejection(third)).toBe(stop);
    const error = await rejection(second);
    expect(error).toBeInstanceOf(MigrationError);
    expect(error.code).toBe('LITEPOOL_MIGRATION_LOCKED');
    expect(error.message).toContain('another run of this process was still building the new database file');
    await (await first).close();
    expect((await contentAt(path)).ledger).toEqual(['1.0.0 applied']);
    expect(readdirSync(home)).toEqual(['app.db']);
  });

  for (const failing of ['1.0.0', '1.1.0']) {
    it(`the file appears while migration ${failing} of the copy fails: that file is migrated, not left as it is`, async () => {
      const home = scratch.copy();
      const path = join(home, 'app.db');
      // Another process creates the (empty) database file while this run's copy is migrated, and
      // the copy's migration fails meanwhile (a transient failure); it succeeds on the file.
      const racing = `import { closeSync, existsSync, openSync } from 'node:fs';
export async function up(tx) {
  const db = ${JSON.stringify(path)};
  if (!existsSync(db)) {
    closeSync(openSync(db, 'wx'));
    throw new Error('transient: the file appeared meanwhile');
  }
  await tx.run('CREATE TABLE b (y)');
}
`;
      const files: Record<string, string> =
        failing === '1.0.0'
          ? { '1.0.0__racing.mjs': racing, '1.1.0__second.sql': "CREATE TABLE a (x); INSERT INTO a VALUES ('once');\n" }
          : { '1.0.0__first.sql': "CREATE TABLE a (x); INSERT INTO a VALUES ('once');\n", '1.1.0__racing.mjs': racing };
      const dir = scratch.files(files);
      // Without the fix open() rejected with the copy's MigrationError and left the new file empty.
      const db = await open(path, { readers: 1, migrations: { dir } });
      await db.close();
      expect(await contentAt(path)).toEqual({ ledger: ['1.0.0 applied', '1.1.0 applied'], a: [{ x: 'once' }] });
      expect(readdirSync(home)).toEqual(['app.db']);
    });
  }
});

describe("a Kysely 'read only' transaction", () => {
  it('refuses a raw PRAGMA given a value (SQLITE_READONLY) before it reaches the reader', async () => {
    const pool: Pool = await pools.fresh({ readers: 1 });
    const db = new Kysely<Record<string, never>>({ dialect: new LitepoolDialect({ pool }) });
    const before = await pool.get<{ cache_size: number }>('PRAGMA cache_size');
    const refused = await db
      .transaction()
      .setAccessMode('read only')
      .execute(async (trx) => {
        const errors = [];
        for (const text of ['PRAGMA cache_size = 77', 'PRAGMA foreign_keys = OFF', 'EXPLAIN PRAGMA reverse_unordered_selects = ON']) {
          errors.push(await rejection(trx.executeQuery(CompiledQuery.raw(text))));
        }
        // The snapshot goes on: a PRAGMA without a value still reads.
        expect((await sql<{ cache_size: number }>`PRAGMA cache_size`.execute(trx)).rows).toEqual([before]);
        return errors;
      });
    for (const error of refused) {
      expect(error).toBeInstanceOf(SqliteError);
      expect(error.code).toBe('SQLITE_READONLY');
    }
    expect(refused.map((error) => error.sql)).toEqual(['PRAGMA cache_size = 77', 'PRAGMA foreign_keys = OFF', 'EXPLAIN PRAGMA reverse_unordered_selects = ON']);
    // The only reader (the snapshot ran on it) keeps the pool's settings.
    expect(await pool.get('PRAGMA cache_size')).toEqual(before);
    expect(await pool.get('PRAGMA foreign_keys')).toEqual({ foreign_keys: 1 });
    expect(await pool.all('SELECT 1 AS one UNION ALL SELECT 2 ORDER BY 1')).toEqual([{ one: 1 }, { one: 2 }]);
    // A write transaction still runs it, on the writer.
    await db.transaction().execute((trx) => sql`PRAGMA cache_size = 77`.execute(trx));
    await db.destroy();
  });

  it('refuses one streamed as well', async () => {
    const pool = await pools.fresh({ readers: 1 });
    const connection = new LitepoolConnection(pool, new RawStatementKinds());
    await connection.begin({ accessMode: 'read only' }, { behavior: undefined, timeout: undefined });
    let error: unknown;
    try {
      error = await rejection(connection.streamQuery(CompiledQuery.raw('PRAGMA cache_size = 77')).next());
    } finally {
      await connection.rollback();
    }
    expect(error).toBeInstanceOf(SqliteError);
    expect((error as SqliteError).code).toBe('SQLITE_READONLY');
    expect(await pool.get<{ cache_size: number }>('PRAGMA cache_size')).not.toEqual({ cache_size: 77 });
  });
});
