// Covers connection state set by migrations (lib/migrations/runner.ts, leaveWriter): after a run
// that ran a migration, applied or failed, the writer's connection is replaced by a new one with
// the pool's settings and onConnection hook before anything else writes, so a PRAGMA a migration
// set (ignore_check_constraints, query_only, recursive_triggers...) does not outlive the run. A
// ledger write that fails because of what the migration did is the migration's failure
// (MigrationError, the SQLite error as cause). An in-memory database keeps its one connection:
// the settings that would stop or weaken later writes are set back instead.
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteError, open, type Pool } from '../lib/index.ts';
import { Scratch, refusal } from './migrations-helpers.ts';

const scratch = new Scratch();
afterAll(() => scratch.remove());

async function poolWithCheck(path = scratch.db(), options: Parameters<typeof open>[1] = {}): Promise<Pool> {
  const db = await open(path, { readers: 1, ...options });
  await db.exec('CREATE TABLE chk(x INTEGER CHECK (x > 0))');
  return db;
}

async function violatesCheck(db: Pool): Promise<unknown> {
  return db.run('INSERT INTO chk VALUES (-5)').then(
    () => 'accepted',
    (error: unknown) => error,
  );
}

describe('connection settings a migration set do not outlive the run', () => {
  it('a failed migration that turned ignore_check_constraints on leaves CHECK constraints enforced', async () => {
    const dir = scratch.files({
      '1.0.0__x.sql': 'PRAGMA ignore_check_constraints = ON;\nUPDATE missing_table SET x = 1;\nPRAGMA ignore_check_constraints = OFF;',
    });
    await using db = await poolWithCheck();
    const error = await refusal(db.migrate({ dir }));
    expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
    const outcome = await violatesCheck(db);
    expect(outcome).toBeInstanceOf(SqliteError);
    expect((outcome as SqliteError).message).toMatch(/CHECK constraint failed/);
    await db.run('INSERT INTO chk VALUES (5)');
    expect(await db.get('PRAGMA ignore_check_constraints')).toEqual({ ignore_check_constraints: 0 });
  });

  it('a migration that turned query_only on fails with a MigrationError and the pool still writes', async () => {
    const dir = scratch.files({ '1.0.0__x.sql': 'CREATE TABLE t(x);\nPRAGMA query_only = ON;' });
    await using db = await poolWithCheck();
    const error = await refusal(db.migrate({ dir }));
    expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(error.cause).toBeInstanceOf(SqliteError);
    expect((error.cause as SqliteError).primaryCode).toBe('SQLITE_READONLY');
    await db.run('INSERT INTO chk VALUES (5)');
    expect(await db.get("SELECT count(*) AS n FROM sqlite_schema WHERE name = 't'")).toEqual({ n: 0 });
  });

  it('a successful migration that set connection settings leaves a fresh writer, the onConnection hook run on it', async () => {
    const dir = scratch.files({ '1.0.0__x.sql': 'CREATE TABLE t(x);\nPRAGMA ignore_check_constraints = ON;\nPRAGMA recursive_triggers = ON;' });
    const roles: string[] = [];
    await using db = await poolWithCheck(scratch.db(), {
      onConnection: async (conn) => {
        roles.push(conn.role);
        await conn.exec('CREATE TEMP TABLE IF NOT EXISTS hooked(x)');
      },
    });
    const writerHooks = roles.filter((role) => role === 'writer').length;
    const report = await db.migrate({ dir });
    expect(report.applied.map((m) => m.version)).toEqual(['1.0.0']);
    expect(await violatesCheck(db)).toBeInstanceOf(SqliteError);
    await using lease = await db.acquire({ write: true });
    expect(await lease.get('PRAGMA recursive_triggers')).toEqual({ recursive_triggers: 0 });
    expect(await lease.get("SELECT count(*) AS n FROM temp.sqlite_schema WHERE name = 'hooked'")).toEqual({ n: 1 });
    expect(roles.filter((role) => role === 'writer').length).toBe(writerHooks + 1);
  });

  it('a run that ran no migration keeps the writer', async () => {
    const dir = scratch.files({ '1.0.0__x.sql': 'CREATE TABLE t(x);' });
    await using db = await poolWithCheck();
    await db.migrate({ dir });
    const replaced = db.stats().connections.replaced;
    await db.migrate({ dir });
    expect(db.stats().connections.replaced).toBe(replaced);
  });

  it('an in-memory database gets query_only and ignore_check_constraints set back', async () => {
    const dir = scratch.files({ '1.0.0__x.sql': 'PRAGMA ignore_check_constraints = ON;\nCREATE TABLE t(x);\nPRAGMA query_only = ON;' });
    await using db = await poolWithCheck(':memory:', { readers: 0 });
    await refusal(db.migrate({ dir }));
    expect(await violatesCheck(db)).toBeInstanceOf(SqliteError);
    await db.run('INSERT INTO chk VALUES (5)');
  });
});
