// Covers migration behaviour docs/migrations.md states, in cases found wanting:
// - a LiteFS replica runs the same open() with `migrations` as the primary: nothing pending (on
//   its snapshot) is the normal report without the writer; something pending is a
//   ReadOnlyReplicaError saying the primary applies it; the primary still decides under the lock;
// - a failed -- litepool:no-transaction migration leaves its row `failed`, also when the file set
//   PRAGMA query_only = ON; when the pool was closed during it (the row stays `running`), the
//   error says so, and this process takes the row as failed (status, dry run, migrate records it);
// - a baseline's row lists the versions it stands for: a file merged later with an older version
//   is pending (LITEPOOL_MIGRATION_OUT_OF_ORDER), while a baseline row of an older release (no
//   list) keeps standing for every version at or below it;
// - a dangling symbolic link in the directory is LITEPOOL_MIGRATION_FAILED;
// - status() has durationMs with safeIntegers;
// - the refusal after a failed down gives the recovery of a failed down.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReadOnlyReplicaError, open, type Pool } from '../lib/index.ts';
import { checksumOf } from '../lib/migrations/source.ts';
import { Scratch, ledgerOf, refusal } from './migrations-helpers.ts';

const scratch = new Scratch();
const pools: Pool[] = [];
afterAll(async () => {
  await Promise.allSettled(pools.map((db) => db.close()));
  scratch.remove();
});

async function opened(path: string, options: Parameters<typeof open>[1] = {}): Promise<Pool> {
  const db = await open(path, options);
  pools.push(db);
  return db;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('resolved'),
    (reason: unknown) => reason,
  );
}

const tableExists = async (db: Pool, name: string) => (await db.get('SELECT 1 AS found FROM sqlite_schema WHERE name = ?', [name])) !== undefined;

describe('migrations on a LiteFS replica', () => {
  const PRIMARY = 'primary-1.app.internal';
  function mount(): { database: string; becomeReplica: () => void } {
    const dir = join(scratch.dir, `mount-${Math.random().toString(36).slice(2)}`);
    mkdirSync(dir);
    return { database: join(dir, 'app.db'), becomeReplica: () => writeFileSync(join(dir, '.primary'), `${PRIMARY}\n`) };
  }

  it('opens with the same migrations as the primary when nothing is pending, and migrate() reports nothing applied', async () => {
    const { database, becomeReplica } = mount();
    const dir = scratch.files({ '1.0.0__a.sql': 'CREATE TABLE a (x);' });
    const primary = await open(database, { replication: 'litefs', migrations: { dir } });
    await primary.close();
    becomeReplica();
    const replica = await opened(database, { replication: 'litefs', migrations: { dir } });
    expect(replica.replica.isPrimary).toBe(false);
    expect(await replica.migrate({ dir })).toEqual({ applied: [], pending: [], current: '1.0.0', dryRun: false });
    expect((await replica.migrations.status({ dir })).map((entry) => `${entry.version} ${entry.state}`)).toEqual(['1.0.0 applied']);
    // Migrations above `to` are not pending for this call.
    writeFileSync(join(dir, '1.1.0__b.sql'), 'CREATE TABLE b (x);');
    expect(await replica.migrate({ dir, to: '1.0.0' })).toEqual({ applied: [], pending: [{ version: '1.1.0', name: 'b' }], current: '1.0.0', dryRun: false });
  });

  it('refuses pending migrations with ReadOnlyReplicaError saying the primary applies them; open() rejects and writes nothing', async () => {
    const { database, becomeReplica } = mount();
    const dir = scratch.files({ '1.0.0__a.sql': 'CREATE TABLE a (x);' });
    await (await open(database, { replication: 'litefs', migrations: { dir } })).close();
    becomeReplica();
    writeFileSync(join(dir, '1.1.0__b.sql'), 'CREATE TABLE b (x);');
    const atOpen = await rejection(open(database, { replication: 'litefs', migrations: { dir } }));
    expect(atOpen).toBeInstanceOf(ReadOnlyReplicaError);
    expect((atOpen as ReadOnlyReplicaError).primary).toBe(PRIMARY);
    expect((atOpen as Error).message).toContain('1.1.0__b.sql');
    expect((atOpen as Error).message).toContain('the primary applies them');
    const replica = await opened(database, { replication: 'litefs' });
    const error = await rejection(replica.migrate({ dir }));
    expect(error).toBeInstanceOf(ReadOnlyReplicaError);
    expect((error as ReadOnlyReplicaError).code).toBe('LITEPOOL_READONLY_REPLICA');
    expect((await ledgerOf(replica)).map((row) => row.version)).toEqual(['1.0.0']);
    // A refusal of the plan itself (an edited applied file) is the MigrationError it always is.
    writeFileSync(join(dir, '1.0.0__a.sql'), 'CREATE TABLE a (y);');
    expect((await refusal(replica.migrate({ dir }))).code).toBe('LITEPOOL_MIGRATION_CHECKSUM');
  });

  it('on the primary, "nothing pending" is still decided under the lock (another connection holding it makes the run wait)', async () => {
    const { database } = mount();
    const dir = scratch.files({ '1.0.0__a.sql': 'CREATE TABLE a (x);' });
    const db = await opened(database, { replication: 'litefs', migrations: { dir } });
    const other = await opened(database);
    const lease = await other.acquire({ write: true });
    await lease.exec('BEGIN IMMEDIATE');
    try {
      expect((await refusal(db.migrate({ dir, lockTimeout: 300 }))).code).toBe('LITEPOOL_MIGRATION_LOCKED');
    } finally {
      await lease.exec('ROLLBACK');
      await lease.release();
    }
    expect((await db.migrate({ dir })).applied).toEqual([]);
  });
});

describe('a failed -- litepool:no-transaction migration', () => {
  it('is recorded failed although the file set PRAGMA query_only = ON; the next migrate refuses at once', async () => {
    const db = await opened(scratch.db());
    const dir = scratch.files({ '1.0.0__ro.sql': '-- litepool:no-transaction\nCREATE TABLE b (x);\nPRAGMA query_only = 1;\n' });
    expect((await refusal(db.migrate({ dir }))).code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(await db.all('SELECT version, state, error FROM _litepool_migrations')).toEqual([
      { version: '1.0.0', state: 'failed', error: expect.stringMatching(/^up: .*readonly/) },
    ]);
    const started = Date.now();
    const again = await refusal(db.migrate({ dir, lockTimeout: 20_000 }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(again.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(again.message).toContain('failed earlier and may be half applied');
  });

  it('closed during its run: the error says the row stays running; this process takes it as failed and records it so', async () => {
    const path = scratch.db();
    const dir = scratch.files({ '1.0.0__a.sql': '-- litepool:no-transaction\nCREATE TABLE a (x);\nCREATE TABLE b (x);\n' });
    let closing: Promise<void> | undefined;
    const db: Pool = await open(path, { observers: [{ onMigration: (e) => void (e.phase === 'start' && (closing = db.close())) }] });
    const error = await refusal(db.migrate({ dir }));
    await closing;
    expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(error.version).toBe('1.0.0');
    expect(error.message).toContain('could not be set to failed (the pool was closed during the migration) and still says running');

    const next = await opened(path);
    expect((await ledgerOf(next)).map((row) => `${row.version} ${row.state}`)).toEqual(['1.0.0 running']);
    const [entry] = await next.migrations.status({ dir });
    expect(entry).toMatchObject({ version: '1.0.0', state: 'failed', error: expect.stringMatching(/^up: .*lease has ended/) });
    expect((await refusal(next.migrate({ dir, dryRun: true }))).code).toBe('LITEPOOL_MIGRATION_FAILED');
    const started = Date.now();
    const again = await refusal(next.migrate({ dir, lockTimeout: 20_000 }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(again.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(again.message).toContain('repair --action mark-applied --version 1.0.0');
    // Recorded for every process now.
    expect(await next.all('SELECT state, error FROM _litepool_migrations')).toEqual([{ state: 'failed', error: expect.stringMatching(/^up: /) }]);
    expect(await next.migrations.repair({ dir, version: '1.0.0', action: 'forget' })).toMatchObject({ state: 'pending' });
    expect((await next.migrate({ dir })).applied.map((run) => run.version)).toEqual(['1.0.0']);
  });

  it('a failed down is refused with the recovery of a failed down', async () => {
    const db = await opened(scratch.db());
    const dir = scratch.files({ '1.0.0__c.sql': '-- litepool:no-transaction\nCREATE TABLE c (x);\n-- litepool:down\nDROP TABLE c;\nDROP TABLE nope;\n' });
    await db.migrate({ dir });
    expect((await refusal(db.migrations.down({ dir, to: '0.0.0' }))).code).toBe('LITEPOOL_MIGRATION_FAILED');
    for (const attempt of [() => db.migrate({ dir }), () => db.migrations.down({ dir, to: '0.0.0' })]) {
      const error = await refusal(attempt());
      expect(error.message).toContain('half reverted');
      expect(error.message).toMatch(/finish reverting it by hand and run repair --action forget --version 1\.0\.0, or put it back as it was and run repair --action mark-applied/);
      expect(error.message).not.toContain('half applied');
    }
  });
});

describe('a baseline stands for the versions it covered', () => {
  const files = { 'baseline__2.0.0.sql': 'CREATE TABLE a (x);', '1.0.0__a.sql': 'CREATE TABLE a (x);', '2.0.0__b.sql': 'SELECT 1;' };

  it('a file merged later with an older version is pending and out of order, as on a database migrated step by step', async () => {
    const db = await opened(scratch.db());
    const dir = scratch.files(files);
    expect((await db.migrate({ dir })).applied.map((run) => run.version)).toEqual(['2.0.0']);
    writeFileSync(join(dir, '1.5.0__merged.sql'), 'CREATE TABLE merged (x);');
    const error = await refusal(db.migrate({ dir }));
    expect(error.code).toBe('LITEPOOL_MIGRATION_OUT_OF_ORDER');
    expect(error.file).toBe('1.5.0__merged.sql');
    const status = await db.migrations.status({ dir });
    expect(status.find((entry) => entry.version === '1.5.0')).toEqual({ version: '1.5.0', name: 'merged', kind: 'migration', state: 'pending' });
    expect(status.find((entry) => entry.version === '1.0.0')).toMatchObject({ state: 'applied', coveredByBaseline: '2.0.0' });
    expect((await db.migrate({ dir, dryRun: true, allowOutOfOrder: true })).pending).toEqual([{ version: '1.5.0', name: 'merged' }]);
    expect((await db.migrate({ dir, allowOutOfOrder: true })).applied.map((run) => run.version)).toEqual(['1.5.0']);
    expect(await tableExists(db, 'merged')).toBe(true);
    // The same with a baseline recorded by repair mark-applied (adopting a database).
    const adopted = await opened(scratch.db());
    const dir2 = scratch.files(files);
    await adopted.exec('CREATE TABLE a (x)');
    await adopted.migrations.repair({ dir: dir2, version: '2.0.0', action: 'mark-applied' });
    writeFileSync(join(dir2, '1.5.0__merged.sql'), 'CREATE TABLE merged (x);');
    expect((await refusal(adopted.migrate({ dir: dir2 }))).code).toBe('LITEPOOL_MIGRATION_OUT_OF_ORDER');
  });

  it('a baseline row of an older release (no list) stands for every version at or below it; its ledger gains the column', async () => {
    const db = await opened(scratch.db());
    const dir = scratch.files({ ...files, '1.5.0__merged.sql': 'CREATE TABLE merged (x);' });
    // The ledger as an older release created and wrote it.
    await db.exec(`CREATE TABLE _litepool_migrations (version TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('baseline', 'migration')), checksum TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('applied', 'running', 'failed')), applied_at TEXT NOT NULL, duration_ms INTEGER,
      litepool_version TEXT NOT NULL, error TEXT)`);
    await db.exec('CREATE TABLE a (x)');
    await db.run(
      "INSERT INTO _litepool_migrations (version, name, kind, checksum, state, applied_at, litepool_version) VALUES ('2.0.0', 'baseline', 'baseline', ?, 'applied', '2030-01-01T00:00:00.000Z', '0.1.0')",
      [checksumOf(files['baseline__2.0.0.sql'])],
    );
    expect(await db.migrate({ dir })).toMatchObject({ applied: [], pending: [], current: '2.0.0' });
    expect((await db.migrations.status({ dir })).find((entry) => entry.version === '1.5.0')).toMatchObject({ state: 'applied', coveredByBaseline: '2.0.0' });

    // A baseline recorded in such a ledger adds the column and lists what it covers.
    const fresh = await opened(scratch.db());
    await fresh.exec(`CREATE TABLE _litepool_migrations (version TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
      checksum TEXT NOT NULL, state TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER, litepool_version TEXT NOT NULL, error TEXT)`);
    const dir2 = scratch.files(files);
    expect((await fresh.migrate({ dir: dir2 })).applied.map((run) => run.version)).toEqual(['2.0.0']);
    expect(await fresh.all("SELECT version, covers FROM _litepool_migrations WHERE kind = 'baseline'")).toEqual([{ version: '2.0.0', covers: '["1.0.0","2.0.0"]' }]);
  });
});

describe('the migration source and status', () => {
  it('a dangling symbolic link in the directory is LITEPOOL_MIGRATION_FAILED for migrate, a dry run and status', async () => {
    const db = await opened(scratch.db());
    const dir = scratch.files({ '1.0.0__a.sql': 'CREATE TABLE a (x);' });
    symlinkSync(join(scratch.dir, 'gone.sql'), join(dir, '1.1.0__b.sql'));
    for (const attempt of [() => db.migrate({ dir }), () => db.migrate({ dir, dryRun: true }), () => db.migrations.status({ dir })]) {
      const error = await refusal(attempt());
      expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
      expect(error.file).toBe('1.1.0__b.sql');
      expect(error.message).toContain('ENOENT');
    }
    expect(await tableExists(db, 'a')).toBe(false);
  });

  it('status() entries have durationMs with safeIntegers', async () => {
    const db = await opened(scratch.db(), { safeIntegers: true });
    const migrations = [{ version: '1.0.0', name: 'a', up: 'CREATE TABLE a (x)' }];
    await db.migrate({ migrations });
    const [entry] = await db.migrations.status({ migrations });
    expect(typeof entry!.durationMs).toBe('number');
  });
});
