// Covers details of the migration API that docs/migrations.md states: down() refuses at once (it
// does not wait as migrate() does) on a no-transaction migration recorded as running; status,
// repair and down take a `migrations` list as migrate does; a migrations directory that is
// missing or not a directory is LITEPOOL_MIGRATION_FAILED.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { open, type Pool } from '../lib/index.ts';
import { Scratch, ledgerOf, refusal } from './migrations-helpers.ts';

const scratch = new Scratch();
const pools: Pool[] = [];
afterAll(async () => {
  await Promise.allSettled(pools.map((db) => db.close()));
  scratch.remove();
});

async function fresh(): Promise<Pool> {
  const db = await open(scratch.db(), { readers: 1 });
  pools.push(db);
  return db;
}

const LIST = [
  { version: '1.0.0', name: 'users', up: 'CREATE TABLE users (id INTEGER PRIMARY KEY)', down: 'DROP TABLE users' },
  { version: '1.1.0', name: 'notes', up: 'CREATE TABLE notes (id INTEGER PRIMARY KEY)', down: 'DROP TABLE notes' },
];

describe('migrations: documented details', () => {
  it('down() refuses at once on a row recorded as running, dry run or not, whatever lockTimeout and to', async () => {
    const db = await fresh();
    await db.migrate({ migrations: LIST });
    await db.run(
      "INSERT INTO _litepool_migrations (version, name, kind, checksum, state, applied_at, litepool_version) VALUES ('1.2.0', 'rebuild', 'migration', 'x', 'running', '2030-01-01T00:00:00.000Z', '0.1.0')",
    );
    for (const options of [{ to: '1.0.0' }, { to: '1.0.0', dryRun: true }, { to: '1.1.0' }]) {
      const started = Date.now();
      const error = await refusal(db.migrations.down({ migrations: LIST, lockTimeout: 60_000, ...options }));
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(error.code).toBe('LITEPOOL_MIGRATION_LOCKED');
      expect(error.version).toBe('1.2.0');
      expect(error.message).toContain('1.2.0__rebuild is recorded as running');
    }
    expect((await ledgerOf(db)).map((row) => `${row.version} ${row.state}`)).toEqual(['1.0.0 applied', '1.1.0 applied', '1.2.0 running']);
    // repair does not wait for it either: forgetting the row is how it is recovered.
    expect(await db.migrations.repair({ migrations: LIST, version: '1.2.0', action: 'forget', lockTimeout: 60_000 })).toBeUndefined();
    expect((await db.migrations.down({ migrations: LIST, to: '1.0.0' })).reverted.map((m) => m.version)).toEqual(['1.1.0']);
  });

  it('status, repair and down take a migrations list instead of dir', async () => {
    const db = await fresh();
    await db.migrate({ migrations: LIST, to: '1.0.0' });
    expect((await db.migrations.status({ migrations: LIST })).map((s) => `${s.version} ${s.state}`)).toEqual(['1.0.0 applied', '1.1.0 pending']);
    await db.run('CREATE TABLE notes (id INTEGER PRIMARY KEY)'); // 1.1.0 done by hand
    expect(await db.migrations.repair({ migrations: LIST, version: '1.1.0', action: 'mark-applied' })).toMatchObject({ version: '1.1.0', state: 'applied' });
    const report = await db.migrations.down({ migrations: LIST, to: '1.0.0' });
    expect(report).toMatchObject({ pending: [], current: '1.0.0', dryRun: false });
    expect(report.reverted.map((m) => m.version)).toEqual(['1.1.0']);
  });

  it('a missing migrations directory, or a file in its place, is LITEPOOL_MIGRATION_FAILED', async () => {
    const db = await fresh();
    const missing = join(scratch.dir, 'no-such-dir');
    const file = join(scratch.dir, 'a-file');
    writeFileSync(file, '');
    for (const dir of [missing, file]) {
      // One call at a time: a rejection made before its turn would go unhandled meanwhile.
      for (const call of [() => db.migrate({ dir }), () => db.migrate({ dir, dryRun: true }), () => db.migrations.status({ dir }), () => db.migrations.down({ dir, to: '1.0.0' })]) {
        const error = await refusal(call());
        expect(error.code, dir).toBe('LITEPOOL_MIGRATION_FAILED');
        expect(error.message, dir).toContain(dir === missing ? `cannot read the migrations directory ${missing}` : `the migrations directory ${file} is not a directory`);
      }
    }
  });
});
