// Covers schema migrations in one process: file names and semver order, statement splitting,
// applying with `to` and dryRun, a failure in the middle, baseline versus incremental paths, the
// refusals (checksum, out of order, newer database, locked), every repair action, down, JS
// migrations and programmatic lists, open()'s migrations option, option validation, and the
// `-- litepool:no-transaction` path with PRAGMA foreign_key_check.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { getEventListeners } from 'node:events';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LitepoolError, MigrationError, OperationTimeoutError, SqliteError, open, type Pool } from '../lib/index.ts';
import { bumpVersion, compareVersions, isVersion } from '../lib/migrations/semver.ts';
import { checksumOf } from '../lib/migrations/source.ts';
import { setsForeignKeys, splitStatements, transactionControl } from '../lib/migrations/sql-split.ts';
import { sleep } from './helpers/waits.ts';
import { Scratch, ledgerOf, refusal, schemaOf } from './migrations-helpers.ts';

const scratch = new Scratch();
const pools: Pool[] = [];
afterAll(async () => {
  await Promise.allSettled(pools.map((db) => db.close()));
  scratch.remove();
});

async function fresh(options: Parameters<typeof open>[1] = {}): Promise<Pool> {
  const db = await open(scratch.db(), { readers: 2, ...options });
  pools.push(db);
  return db;
}

async function tables(db: Pool): Promise<string[]> {
  const rows = await db.all<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
  return rows.map((row) => row.name);
}

describe('versions and statements', () => {
  it('orders versions by semver precedence, not as text', () => {
    const versions = ['1.10.0', '1.9.0', '1.2.0', '1.0.0', '1.0.0-rc.1', '1.0.0-alpha', '1.0.0-alpha.1', '10.0.0', '2.0.0', '1.0.0-beta.11', '1.0.0-beta.2'];
    expect(versions.sort(compareVersions)).toEqual([
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.2.0',
      '1.9.0',
      '1.10.0',
      '2.0.0',
      '10.0.0',
    ]);
    expect(compareVersions('99999999999999999999.0.0', '99999999999999999998.0.0')).toBeGreaterThan(0);
    for (const bad of ['1.0', '01.0.0', '1.0.0+build', 'v1.0.0', '1.0.0-', '1.0.0-01']) expect(isVersion(bad)).toBe(false);
  });

  it('gives the next version of a new file as npm version does, a prerelease followed by its release', () => {
    const next = (version: string | undefined, part: 'major' | 'minor' | 'patch') => bumpVersion(version, part);
    expect(next(undefined, 'minor')).toBe('1.0.0');
    expect([next('1.2.3', 'major'), next('1.2.3', 'minor'), next('1.2.3', 'patch')]).toEqual(['2.0.0', '1.3.0', '1.2.4']);
    expect([next('1.2.3-rc.1', 'major'), next('1.2.3-rc.1', 'minor'), next('1.2.3-rc.1', 'patch')]).toEqual(['2.0.0', '1.3.0', '1.2.3']);
    expect([next('1.3.0-rc.1', 'major'), next('1.3.0-rc.1', 'minor'), next('1.3.0-rc.1', 'patch')]).toEqual(['2.0.0', '1.3.0', '1.3.0']);
    expect([next('2.0.0-rc.1', 'major'), next('2.0.0-rc.1', 'minor'), next('2.0.0-rc.1', 'patch')]).toEqual(['2.0.0', '2.0.0', '2.0.0']);
    for (const version of ['1.2.3', '1.2.3-rc.1', '1.3.0-rc.1', '2.0.0-rc.1']) {
      for (const part of ['major', 'minor', 'patch'] as const) expect(compareVersions(next(version, part), version)).toBeGreaterThan(0);
    }
  });

  it('splits SQL into statements like sqlite3_complete: strings, comments and trigger bodies keep their semicolons', () => {
    const text = [
      '-- a comment; with a semicolon',
      "INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`, [g;h]); /* x; */",
      '',
      'CREATE TRIGGER tr AFTER INSERT ON t BEGIN',
      '  UPDATE t SET x = 1; DELETE FROM u;',
      'END;',
      'CREATE TEMP TRIGGER tt AFTER INSERT ON t BEGIN SELECT 1; END;',
      ';;',
      "SELECT 'it''s; fine'",
    ].join('\n');
    const statements = splitStatements(text);
    expect(statements.map((s) => s.line)).toEqual([2, 4, 7, 9]);
    expect(statements[0]!.sql).toBe("INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`, [g;h]);");
    expect(statements[1]!.sql).toBe('CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET x = 1; DELETE FROM u;\nEND;');
    expect(statements[3]!.sql).toBe("SELECT 'it''s; fine'");
    expect(splitStatements('-- only a comment\n  \n/* and another */')).toEqual([]);
  });

  it('checksums text with line endings normalised', () => {
    expect(checksumOf('A;\r\nB;\r\n')).toBe(checksumOf('A;\nB;\n'));
    expect(checksumOf('A;\rB;\r')).toBe(checksumOf('A;\nB;\n'));
    expect(checksumOf('\uFEFFA;\r\nB;\n')).toBe(checksumOf('A;\nB;\n')); // a byte order mark is not a change
    expect(checksumOf('A;\n\uFEFFB;\n')).not.toBe(checksumOf('A;\nB;\n')); // only a leading one
    expect(checksumOf('A;\nB;\n')).not.toBe(checksumOf('A; \nB;\n'));
  });

  it('refuses a code file whose name is not a migration name, and duplicate versions; ignores helpers and other files', async () => {
    const db = await fresh();
    const badName = scratch.files({ '1.0__one.sql': 'SELECT 1;' });
    const error = await refusal(db.migrate({ dir: badName }));
    expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(error.message).toContain('1.0__one.sql');
    for (const name of ['1.0.0__upper.SQL', '1.0.0__common.cjs', '1.0.0__x.Mjs']) {
      expect((await refusal(db.migrate({ dir: scratch.files({ [name]: 'SELECT 1;' }) }))).message).toContain(`${name} is not a migration file name`);
    }
    const duplicate = scratch.files({ '1.0.0__a.sql': 'SELECT 1;', '1.0.0__b.sql': 'SELECT 2;' });
    expect((await refusal(db.migrate({ dir: duplicate }))).message).toContain('two migrations have version 1.0.0');
    const ignored = scratch.files({ '_helper.mjs': 'throw new Error("never imported")', 'notes.txt': 'x', '1.0.0__a.sql': 'CREATE TABLE a (x);' });
    expect((await db.migrate({ dir: ignored })).applied.map((m) => m.version)).toEqual(['1.0.0']);
    const missing = await refusal(db.migrate({ dir: join(scratch.dir, 'no-such-dir') }));
    expect(missing.message).toContain('cannot read the migrations directory');
  });
});

describe('migrate', () => {
  it('applies files in semver order (1.10.0 after 1.9.0) and each only once', async () => {
    const db = await fresh();
    const report = await db.migrate({ dir: join(scratch.copy('semver')) });
    const order = ['1.0.0-rc.1', '1.0.0', '1.2.0', '1.9.0', '1.10.0'];
    expect(report.applied.map((m) => m.version)).toEqual(order);
    expect(report.current).toBe('1.10.0');
    expect(report.pending).toEqual([]);
    expect(report.dryRun).toBe(false);
    expect((await db.all<{ version: string }>('SELECT version FROM log ORDER BY seq')).map((r) => r.version)).toEqual(order);
    const again = await db.migrate({ dir: scratch.copy('semver') });
    expect(again.applied).toEqual([]);
    expect(again.current).toBe('1.10.0');
    expect(await db.get('SELECT count(*) AS n FROM log')).toEqual({ n: 5 });
    const ledger = await db.all<Record<string, unknown>>('SELECT * FROM _litepool_migrations WHERE version = ?', ['1.9.0']);
    expect(ledger).toHaveLength(1);
    expect(ledger[0]).toMatchObject({ version: '1.9.0', name: 'nine', kind: 'migration', state: 'applied', litepool_version: '0.1.0', error: null });
    expect(ledger[0]!.checksum).toBe(checksumOf(readFileSync(join(scratch.copy('semver'), '1.9.0__nine.sql'), 'utf8')));
    expect(typeof ledger[0]!.duration_ms).toBe('number');
    expect(Number.isNaN(Date.parse(ledger[0]!.applied_at as string))).toBe(false);
  });

  it('stops at `to`, and reports what is left', async () => {
    const db = await fresh();
    const dir = scratch.copy('semver');
    const report = await db.migrate({ dir, to: '1.2.0' });
    expect(report.applied.map((m) => m.version)).toEqual(['1.0.0-rc.1', '1.0.0', '1.2.0']);
    expect(report.pending).toEqual([
      { version: '1.9.0', name: 'nine' },
      { version: '1.10.0', name: 'ten' },
    ]);
    expect(report.current).toBe('1.2.0');
    // A `to` below the database's version applies nothing (going down is migrations.down).
    expect((await db.migrate({ dir, to: '1.0.0' })).applied).toEqual([]);
    expect((await db.migrate({ dir })).applied.map((m) => m.version)).toEqual(['1.9.0', '1.10.0']);
  });

  it('dryRun reports the plan and changes nothing, not even the ledger table', async () => {
    const db = await fresh();
    const dir = scratch.copy('shop');
    const before = await schemaOf(db);
    const plan = await db.migrate({ dir, dryRun: true });
    expect(plan).toEqual({
      applied: [],
      pending: [
        { version: '1.2.0', name: 'baseline' },
        { version: '1.3.0', name: 'order_notes' },
        { version: '1.4.0', name: 'seed' },
      ],
      current: null,
      dryRun: true,
    });
    expect(await schemaOf(db)).toEqual(before);
    expect(before).toEqual([]);

    await db.migrate({ dir, to: '1.3.0' });
    const schema = await schemaOf(db);
    const ledger = await ledgerOf(db);
    const version = await db.get('PRAGMA schema_version');
    const second = await db.migrate({ dir, dryRun: true });
    expect(second.pending).toEqual([{ version: '1.4.0', name: 'seed' }]);
    expect(second.current).toBe('1.3.0');
    expect(await schemaOf(db)).toEqual(schema);
    expect(await ledgerOf(db)).toEqual(ledger);
    expect(await db.get('PRAGMA schema_version')).toEqual(version);
    expect(await db.get('SELECT count(*) AS n FROM users')).toEqual({ n: 1 });
  });

  it('a failure in migration 3 of 5: 1-2 applied, 3 rolled back with nothing of it left, 4-5 not run, the error names the file and the statement', async () => {
    const db = await fresh();
    const dir = scratch.copy('failing');
    const error = await refusal(db.migrate({ dir }));
    expect(error).toBeInstanceOf(LitepoolError);
    expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(error.file).toBe('1.2.0__three.sql');
    expect(error.version).toBe('1.2.0');
    expect(error.statement).toBe('INSERT INTO three (nope) VALUES (2);');
    expect(error.message).toContain('1.2.0__three.sql failed at statement 4 (line 5)');
    expect(error.message).toContain('table three has no column named nope');
    expect(error.cause).toBeInstanceOf(SqliteError);
    expect(await tables(db)).toEqual(['_litepool_migrations', 'one', 'two']);
    expect(await db.all('SELECT x FROM one')).toEqual([]); // its INSERT into `one` was rolled back too
    expect(await ledgerOf(db)).toEqual([
      { version: '1.0.0', state: 'applied', kind: 'migration' },
      { version: '1.1.0', state: 'applied', kind: 'migration' },
    ]);
    // Nothing was recorded: the next run tries 1.2.0 again (and fails again); fixed, it goes on.
    expect((await refusal(db.migrate({ dir }))).file).toBe('1.2.0__three.sql');
    writeFileSync(join(dir, '1.2.0__three.sql'), 'CREATE TABLE three (x INTEGER);\n');
    expect((await db.migrate({ dir })).applied.map((m) => m.version)).toEqual(['1.2.0', '1.3.0', '1.4.0']);
  });

  it('a deferred foreign key violated at COMMIT fails the migration, named, rolled back with its ledger row', async () => {
    const db = await fresh({ pragmas: { foreign_keys: true } });
    const dir = scratch.files({
      '1.0.0__tables.sql':
        'CREATE TABLE parent (id INTEGER PRIMARY KEY);\n' +
        'CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);\n',
      '1.1.0__orphan.sql': 'INSERT INTO child VALUES (1, 42);\n',
    });
    const error = await refusal(db.migrate({ dir }));
    expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(error.file).toBe('1.1.0__orphan.sql');
    expect(error.statement).toBe('COMMIT');
    expect(error.message).toContain('1.1.0__orphan.sql failed at COMMIT: FOREIGN KEY constraint failed');
    expect(error.cause).toBeInstanceOf(SqliteError);
    expect(await ledgerOf(db)).toEqual([{ version: '1.0.0', state: 'applied', kind: 'migration' }]);
    expect(await db.all('SELECT * FROM child')).toEqual([]);
    // The writer is usable afterwards: no transaction was left open.
    await db.run('INSERT INTO parent VALUES (42)');
    expect((await db.migrate({ dir })).applied.map((m) => m.version)).toEqual(['1.1.0']);
  });

  it('the baseline path and the incremental path reach identical schemas', async () => {
    const dir = scratch.copy('shop');
    const viaBaseline = await fresh();
    // Before: a fresh database will run the baseline instead of the files it stands for.
    const before = await viaBaseline.migrations.status({ dir });
    expect(before.map((s) => `${s.version} ${s.kind} ${s.state} ${s.coveredByBaseline ?? ''}`.trim())).toEqual([
      '1.0.0 migration pending 1.2.0',
      '1.1.0 migration pending 1.2.0',
      '1.2.0 baseline pending',
      '1.2.0 migration pending 1.2.0',
      '1.3.0 migration pending',
      '1.4.0 migration pending',
    ]);
    const first = await viaBaseline.migrate({ dir });
    expect(first.applied.map((m) => `${m.version} ${m.name}`)).toEqual(['1.2.0 baseline', '1.3.0 order_notes', '1.4.0 seed']);

    const incremental = await fresh();
    // Below the baseline's version a fresh database cannot use it: it starts with 1.0.0...
    expect((await incremental.migrate({ dir, to: '1.0.0' })).applied.map((m) => m.version)).toEqual(['1.0.0']);
    // ...and then migrates step by step from where it stands.
    expect((await incremental.migrate({ dir })).applied.map((m) => m.version)).toEqual(['1.1.0', '1.2.0', '1.3.0', '1.4.0']);

    expect(await schemaOf(incremental)).toEqual(await schemaOf(viaBaseline));
    expect((await schemaOf(viaBaseline)).length).toBeGreaterThan(6);
    expect(await incremental.all('SELECT * FROM users ORDER BY id')).toEqual(await viaBaseline.all('SELECT * FROM users ORDER BY id'));
    expect(await viaBaseline.all('SELECT * FROM seed_log')).toEqual([{ users: 2 }]);

    // Status on the baseline database: the files the baseline stands for count as applied.
    const status = await viaBaseline.migrations.status({ dir });
    expect(status.map((s) => `${s.version} ${s.kind} ${s.state} ${s.coveredByBaseline ?? ''}`.trim())).toEqual([
      '1.0.0 migration applied 1.2.0',
      '1.1.0 migration applied 1.2.0',
      '1.2.0 baseline applied',
      '1.2.0 migration applied 1.2.0',
      '1.3.0 migration applied',
      '1.4.0 migration applied',
    ]);
  });

  it('refuses a database below the baseline when no file is left to reach it', async () => {
    const old = await fresh();
    await old.migrate({ dir: scratch.copy('shop'), to: '1.0.0' });
    const squashed = scratch.copy('shop');
    for (const file of ['1.0.0__users.sql', '1.1.0__orders.sql', '1.2.0__user_email.sql']) rmSync(join(squashed, file));
    const error = await refusal(old.migrate({ dir: squashed }));
    expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(error.message).toContain('below the baseline 1.2.0');
    expect(await ledgerOf(old)).toEqual([{ version: '1.0.0', state: 'applied', kind: 'migration' }]);
    // A fresh database uses the squashed directory fine.
    const db = await fresh();
    expect((await db.migrate({ dir: squashed })).applied.map((m) => m.version)).toEqual(['1.2.0', '1.3.0', '1.4.0']);
  });
});

describe('refusals', () => {
  it('an applied file that changed (even by whitespace) is refused; line endings are not a change; accept-checksum accepts it', async () => {
    const db = await fresh();
    const dir = scratch.copy('shop');
    await db.migrate({ dir, to: '1.3.0' });
    const file = join(dir, '1.3.0__order_notes.sql');
    const original = readFileSync(file, 'utf8');

    writeFileSync(file, original.replaceAll('\n', '\r\n'));
    expect((await db.migrate({ dir, to: '1.3.0' })).applied).toEqual([]);
    writeFileSync(file, `\uFEFF${original}`); // saved with a byte order mark
    expect((await db.migrate({ dir, to: '1.3.0' })).applied).toEqual([]);

    writeFileSync(file, original.replace('CREATE TABLE', 'CREATE  TABLE'));
    const error = await refusal(db.migrate({ dir }));
    expect(error.code).toBe('LITEPOOL_MIGRATION_CHECKSUM');
    expect(error.file).toBe('1.3.0__order_notes.sql');
    expect(error.message).toContain('accept-checksum');
    expect(await db.get("SELECT 1 AS found FROM sqlite_schema WHERE name = 'seed_log'")).toBeUndefined(); // 1.4.0 not run
    expect((await db.migrations.status({ dir })).find((s) => s.version === '1.3.0')?.state).toBe('changed');
    expect((await refusal(db.migrate({ dir, dryRun: true }))).code).toBe('LITEPOOL_MIGRATION_CHECKSUM');

    const repaired = await db.migrations.repair({ dir, version: '1.3.0', action: 'accept-checksum' });
    expect(repaired).toMatchObject({ version: '1.3.0', state: 'applied' });
    expect((await db.migrate({ dir })).applied.map((m) => m.version)).toEqual(['1.4.0']);

    // A baseline that changed is refused the same way.
    const base = await fresh();
    await base.migrate({ dir, to: '1.2.0' });
    writeFileSync(join(dir, 'baseline__1.2.0.sql'), `${readFileSync(join(dir, 'baseline__1.2.0.sql'), 'utf8')}\n-- edited\n`);
    expect((await refusal(base.migrate({ dir }))).file).toBe('baseline__1.2.0.sql');
  });

  it('a pending file older than the newest applied is refused unless allowOutOfOrder; membership decides, not a high-water mark', async () => {
    const db = await fresh();
    const dir = scratch.files({ '1.0.0__a.sql': 'CREATE TABLE a (x);', '1.2.0__c.sql': 'CREATE TABLE c (x);' });
    await db.migrate({ dir });
    writeFileSync(join(dir, '1.1.0__b.sql'), 'CREATE TABLE b (x);');
    const error = await refusal(db.migrate({ dir }));
    expect(error.code).toBe('LITEPOOL_MIGRATION_OUT_OF_ORDER');
    expect(error.file).toBe('1.1.0__b.sql');
    expect(error.message).toContain('older than 1.2.0');
    expect(await tables(db)).not.toContain('b');
    expect((await db.migrations.status({ dir })).map((s) => `${s.version} ${s.state}`)).toEqual(['1.0.0 applied', '1.1.0 pending', '1.2.0 applied']);
    const report = await db.migrate({ dir, allowOutOfOrder: true });
    expect(report.applied.map((m) => m.version)).toEqual(['1.1.0']);
    expect(report.current).toBe('1.2.0');
    expect(await tables(db)).toContain('b');
  });

  it('a database newer than every file is refused (an old build must not run against it); status says missing', async () => {
    const db = await fresh();
    const dir = scratch.copy('semver');
    await db.migrate({ dir });
    const older = scratch.copy('semver');
    rmSync(join(older, '1.10.0__ten.sql'));
    const error = await refusal(db.migrate({ dir: older }));
    expect(error.code).toBe('LITEPOOL_MIGRATION_NEWER_DATABASE');
    expect(error.message).toContain('1.10.0');
    expect(error.message).toContain('the newest is 1.9.0');
    expect((await refusal(db.migrate({ dir: older, dryRun: true }))).code).toBe('LITEPOOL_MIGRATION_NEWER_DATABASE');
    expect((await db.migrations.status({ dir: older })).at(-1)).toMatchObject({ version: '1.10.0', state: 'missing' });
    // A file missing below the newest one is only reported.
    const gap = scratch.copy('semver');
    rmSync(join(gap, '1.2.0__two.sql'));
    expect((await db.migrate({ dir: gap })).applied).toEqual([]);
    expect((await db.migrations.status({ dir: gap })).find((s) => s.version === '1.2.0')?.state).toBe('missing');
  });

  it('a lock not had within lockTimeout is refused: this pool\'s writer held, or another connection\'s write transaction', async () => {
    const path = scratch.db();
    const db = await open(path, { readers: 1, busyTimeout: 50 });
    pools.push(db);
    const dir = scratch.files({ '1.0.0__a.sql': 'CREATE TABLE a (x);' });

    const lease = await db.acquire({ write: true });
    const held = await refusal(db.migrate({ dir, lockTimeout: 150 }));
    expect(held.code).toBe('LITEPOOL_MIGRATION_LOCKED');
    expect(held.message).toContain('150 ms');
    await lease.release();

    const other = await open(path, { readers: 1 });
    pools.push(other);
    const blocker = await other.acquire({ write: true });
    await blocker.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    const locked = await refusal(db.migrate({ dir, lockTimeout: 300 }));
    expect(locked.code).toBe('LITEPOOL_MIGRATION_LOCKED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(await tables(db)).not.toContain('a');
    // One lockTimeout covers the whole lock: this pool's writer, then BEGIN IMMEDIATE (held by
    // the other connection all along), not a lockTimeout for each. With a busyTimeout longer
    // than the test, BEGIN IMMEDIATE is tried once and ends on its own timeout, which is what was
    // left of lockTimeout once the writer came.
    const patient = await open(path, { readers: 1, busyTimeout: 60_000 });
    pools.push(patient);
    const writer = await patient.acquire({ write: true });
    const both = Date.now();
    const bothLocked = refusal(patient.migrate({ dir, lockTimeout: 1000 }));
    // The migrator waits for the writer (its deadline is set); 250 ms of it go by (a timer never
    // fires early) before the writer is let go.
    while (patient.stats().leasesWaiting === 0) await sleep(5);
    await sleep(250);
    await writer.release();
    const bothError = await bothLocked;
    expect(bothError.code).toBe('LITEPOOL_MIGRATION_LOCKED');
    expect(bothError.cause).toBeInstanceOf(OperationTimeoutError);
    // At most 1000 - 250 ms, give or take a timer tick; a lockTimeout of its own would be 1000.
    expect((bothError.cause as OperationTimeoutError).timeout).toBeLessThanOrEqual(800);
    // A genuine lower bound: the deadline was set after `both`.
    expect(Date.now() - both).toBeGreaterThanOrEqual(990);
    const repairing = Date.now();
    expect((await refusal(db.migrations.repair({ dir, version: '1.0.0', action: 'mark-applied', lockTimeout: 300 }))).code).toBe('LITEPOOL_MIGRATION_LOCKED');
    expect(Date.now() - repairing).toBeGreaterThanOrEqual(290);
    // Released while a migrator waits: the migrator gets the lock and runs.
    const waiting = db.migrate({ dir, lockTimeout: 30_000 });
    setTimeout(() => void blocker.exec('ROLLBACK').then(() => blocker.release()), 200);
    expect((await waiting).applied.map((m) => m.version)).toEqual(['1.0.0']);
  });

  it('an aborted signal stops the run and rejects with its reason', async () => {
    const db = await fresh();
    const dir = scratch.copy('semver');
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(db.migrate({ dir, signal: controller.signal })).rejects.toThrow('stop');
    expect(await tables(db)).toEqual([]);
  });
});

describe('repair and down', () => {
  it('forget removes a ledger row: a missing newer version stops blocking, a forgotten applied file runs again', async () => {
    const db = await fresh();
    const dir = scratch.copy('semver');
    await db.migrate({ dir });
    const older = scratch.copy('semver');
    rmSync(join(older, '1.10.0__ten.sql'));
    expect((await refusal(db.migrate({ dir: older }))).code).toBe('LITEPOOL_MIGRATION_NEWER_DATABASE');
    expect(await db.migrations.repair({ dir: older, version: '1.10.0', action: 'forget' })).toBeUndefined();
    expect((await db.migrate({ dir: older })).current).toBe('1.9.0');

    // 1.10.0 is not in the ledger any more: with its file back, it runs again (its INSERT lands twice).
    expect((await db.migrate({ dir })).applied.map((m) => m.version)).toEqual(['1.10.0']);
    expect(await db.get("SELECT count(*) AS n FROM log WHERE version = '1.10.0'")).toEqual({ n: 2 });

    const error = await refusal(db.migrations.repair({ dir, version: '7.0.0', action: 'forget' }));
    expect(error.message).toContain('nothing to forget');
  });

  it('mark-applied records a pending migration without running it', async () => {
    const db = await fresh();
    const dir = scratch.copy('shop');
    await db.migrate({ dir, to: '1.3.0' });
    const entry = await db.migrations.repair({ dir, version: '1.4.0', action: 'mark-applied' });
    expect(entry).toMatchObject({ version: '1.4.0', name: 'seed', state: 'applied' });
    expect((await db.migrate({ dir })).applied).toEqual([]);
    expect(await tables(db)).not.toContain('seed_log');
    expect((await refusal(db.migrations.repair({ dir, version: '1.4.0', action: 'mark-applied' }))).message).toContain('already applied');
    expect((await refusal(db.migrations.repair({ dir, version: '9.9.9', action: 'mark-applied' }))).message).toContain('no migration');
  });

  it('down reverts, newest first, to the schema of the lower version; refused when a step has no down', async () => {
    const dir = scratch.copy('shop');
    const db = await fresh();
    await db.migrate({ dir, to: '1.0.0' });
    await db.migrate({ dir });
    const plan = await db.migrations.down({ dir, to: '1.1.0', dryRun: true });
    expect(plan.pending.map((m) => m.version)).toEqual(['1.4.0', '1.3.0', '1.2.0']);
    expect(plan.current).toBe('1.4.0');
    const report = await db.migrations.down({ dir, to: '1.1.0' });
    expect(report.reverted.map((m) => m.version)).toEqual(['1.4.0', '1.3.0', '1.2.0']);
    expect(report.current).toBe('1.1.0');

    const reference = await fresh();
    await reference.migrate({ dir, to: '1.1.0' });
    expect(await schemaOf(db)).toEqual(await schemaOf(reference));
    expect((await db.migrate({ dir })).applied.map((m) => m.version)).toEqual(['1.2.0', '1.3.0', '1.4.0']);

    // A database set up by the baseline cannot go below it.
    const based = await fresh();
    await based.migrate({ dir });
    expect((await refusal(based.migrations.down({ dir, to: '1.0.0' }))).message).toContain('baseline 1.2.0');
    expect((await based.migrations.down({ dir, to: '1.2.0' })).reverted.map((m) => m.version)).toEqual(['1.4.0', '1.3.0']);

    // semver files have no down: refused before anything is reverted.
    const plain = await fresh();
    const semver = scratch.copy('semver');
    await plain.migrate({ dir: semver });
    const error = await refusal(plain.migrations.down({ dir: semver, to: '1.0.0' }));
    expect(error.message).toContain('has no down');
    expect((await ledgerOf(plain)).length).toBe(5);
  });
});

describe('JS migrations and lists', () => {
  it('runs .mjs and .js modules with up(tx); a throwing one is rolled back and named', async () => {
    const db = await fresh();
    const dir = scratch.copy('js');
    const error = await refusal(db.migrate({ dir }));
    expect(error.file).toBe('1.2.0__fails.mjs');
    expect(error.message).toContain('refusing on purpose');
    expect(await db.all('SELECT body FROM notes ORDER BY id')).toEqual([{ body: 'first' }, { body: 'second' }]);
    expect((await ledgerOf(db)).map((r) => r.version)).toEqual(['1.0.0', '1.1.0']);
    rmSync(join(dir, '1.2.0__fails.mjs'));
    expect((await db.migrations.down({ dir, to: '0.0.0' })).reverted.map((m) => m.version)).toEqual(['1.1.0', '1.0.0']);
    expect(await tables(db)).toEqual(['_litepool_migrations']);
    expect(await ledgerOf(db)).toEqual([]);
  });

  it('a JS migration fixed after it failed runs its new code in the same process, recorded with its new checksum', async () => {
    const db = await fresh();
    const dir = scratch.files({ '1.0.0__fix.mjs': "export async function up() { throw new Error('broken'); }\n" });
    expect((await refusal(db.migrate({ dir }))).message).toContain('broken');
    const fixed = "export async function up(tx) { await tx.exec('CREATE TABLE fixed (x)'); }\n";
    writeFileSync(join(dir, '1.0.0__fix.mjs'), fixed);
    await db.migrate({ dir });
    expect(await tables(db)).toContain('fixed');
    expect(await db.get('SELECT checksum FROM _litepool_migrations WHERE version = ?', ['1.0.0'])).toEqual({ checksum: checksumOf(fixed) });
  });

  it('refuses a module without up(tx)', async () => {
    const db = await fresh();
    const dir = scratch.files({ '1.0.0__nothing.mjs': 'export const value = 1;\n' });
    const error = await refusal(db.migrate({ dir }));
    expect(error.message).toContain('must export a function up(tx)');
    expect(await tables(db)).toEqual([]); // refused before anything ran: not even the ledger
  });

  it('takes a programmatic list of SQL text and functions; an edited function body is a changed migration', async () => {
    const db = await fresh();
    const list = [
      { version: '1.0.0', name: 'items', up: 'CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT)', down: 'DROP TABLE items' },
      {
        version: '1.1.0',
        name: 'seed',
        up: async (tx: { run: (sql: string, params: string[]) => Promise<unknown> }) => {
          await tx.run('INSERT INTO items (label) VALUES (?)', ['one']);
        },
      },
    ];
    const report = await db.migrate({ migrations: list as never });
    expect(report.applied.map((m) => m.version)).toEqual(['1.0.0', '1.1.0']);
    expect(await db.all('SELECT label FROM items')).toEqual([{ label: 'one' }]);
    const edited = [list[0]!, { ...list[1]!, up: async () => undefined }];
    const error = await refusal(db.migrate({ migrations: edited as never }));
    expect(error.code).toBe('LITEPOOL_MIGRATION_CHECKSUM');
    expect(error.file).toBe('migrations[1] (1.1.0__seed)');
    expect((await db.migrations.status({ migrations: list as never })).map((s) => s.state)).toEqual(['applied', 'applied']);
  });
});

describe('open() and options', () => {
  it('open(path, { migrations }) migrates before the pool is handed out, and fails open() when a migration fails', async () => {
    const path = scratch.db();
    const db = await open(path, { readers: 1, migrations: { dir: scratch.copy('shop') } });
    pools.push(db);
    expect(await db.get('SELECT count(*) AS n FROM users')).toEqual({ n: 2 });
    const error = await refusal(open(scratch.db(), { readers: 1, migrations: { dir: scratch.copy('failing') } }));
    expect(error.file).toBe('1.2.0__three.sql');
    await expect(open(scratch.db(), { migrations: { dir: 'x', dryRun: true } as never })).rejects.toThrow(/unknown option migrations\.dryRun/);
    await expect(open(scratch.db(), { migrations: {} as never })).rejects.toThrow(/exactly one of migrations\.dir/);
    await expect(open(scratch.db(), { migrations: { dir: 'x', signal: 'x' } as never })).rejects.toThrow(/^migrations\.signal must be an AbortSignal, got string$/);
    await expect(open(scratch.db(), { migrations: { dir: 'x', lockTimeout: 0 } })).rejects.toThrow(/^migrations\.lockTimeout must be between 1/);
  });

  it("the pool's queryTimeout cuts short neither a migration nor the runner's own statements", async () => {
    const dir = scratch.files({
      '1.0.0__fill.sql':
        'CREATE TABLE fill (id INTEGER PRIMARY KEY, pad BLOB);\n' +
        'WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000) INSERT INTO fill SELECT i, randomblob(64) FROM c;\n' +
        '-- litepool:down\nDROP TABLE fill;\n',
      '1.1.0__index.sql': 'CREATE INDEX fill_pad ON fill (pad);\n-- litepool:down\nDROP INDEX fill_pad;\n',
      '1.2.0__rebuild.sql': '-- litepool:no-transaction\nCREATE TABLE later (x);\n-- litepool:down\nDROP TABLE later;\n',
      '1.3.0__copy.mjs':
        'export async function up(tx) {\n  await tx.exec("CREATE TABLE copy AS SELECT * FROM fill");\n  await tx.run("UPDATE copy SET pad = randomblob(64)", []);\n}\n' +
        'export async function down(tx) {\n  await tx.exec("DROP TABLE copy", {});\n}\n',
    });
    for (let round = 0; round < 3; round++) {
      const db = await fresh({ queryTimeout: 1 });
      expect((await db.migrate({ dir, dryRun: true })).pending).toHaveLength(4);
      expect((await db.migrate({ dir })).applied.map((m) => m.version)).toEqual(['1.0.0', '1.1.0', '1.2.0', '1.3.0']);
      expect((await db.migrations.status({ dir })).map((s) => s.state)).toEqual(['applied', 'applied', 'applied', 'applied']);
      await db.migrations.repair({ dir, version: '1.2.0', action: 'forget' });
      await db.migrations.repair({ dir, version: '1.2.0', action: 'mark-applied' });
      expect((await db.migrations.down({ dir, to: '0.0.0' })).reverted.map((m) => m.version)).toEqual(['1.3.0', '1.2.0', '1.1.0', '1.0.0']);
    }
  });

  it('validates every option with an error naming it', async () => {
    const db = await fresh();
    const bad: [unknown, RegExp][] = [
      [undefined, /options is required/],
      [{ dir: 'x', migrations: [] }, /exactly one of dir/],
      [{ dir: 42 }, /dir must be a string/],
      [{ dir: 'x', to: '1.0' }, /to must be a version/],
      [{ dir: 'x', lockTimeout: -1 }, /lockTimeout must be between/],
      [{ dir: 'x', dryrun: true }, /unknown option dryrun/],
      [{ dir: 'x', signal: {} }, /signal must be an AbortSignal/],
      [{ migrations: [{ version: '1.0.0', name: 'bad name', up: 'SELECT 1' }] }, /migrations\[0\]\.name may only hold/],
      [{ migrations: [{ version: 'one', name: 'a', up: 'SELECT 1' }] }, /migrations\[0\]\.version must be a version/],
      [{ migrations: [{ version: '1.0.0', name: 'a', up: 42 }] }, /migrations\[0\]\.up must be SQL text or a function/],
    ];
    for (const [options, message] of bad) await expect(db.migrate(options as never)).rejects.toThrow(message);
    // Every option of every call, each refused with a TypeError or RangeError naming it, before anything runs.
    const typed: [() => Promise<unknown>, ErrorConstructor, RegExp][] = [
      [() => db.migrate({ dir: 'x', dryRun: 'yes' } as never), TypeError, /^dryRun must be a boolean/],
      [() => db.migrate({ dir: 'x', allowOutOfOrder: 1 } as never), TypeError, /^allowOutOfOrder must be a boolean/],
      [() => db.migrate({ dir: 'x', lockTimeout: 1.5 }), RangeError, /^lockTimeout must be an integer/],
      [() => db.migrate({ dir: '' }), RangeError, /^dir must be a directory path/],
      [() => db.migrate(null as never), TypeError, /^options must be an object/],
      [() => db.migrate({ migrations: [{ version: '1.0.0', name: 'a', up: 'SELECT 1', extra: 1 }] } as never), TypeError, /^unknown option migrations\[0\]\.extra/],
      [() => db.migrate({ migrations: [{ version: '1.0.0', name: 'a', up: 'SELECT 1', down: ' ' }] }), RangeError, /^migrations\[0\]\.down must not be empty/],
      [() => db.migrations.status(undefined as never), TypeError, /^options is required/],
      [() => db.migrations.status({ dir: 'x', lockTimeout: 5 } as never), TypeError, /^unknown option lockTimeout/],
      [() => db.migrations.repair({ dir: 'x', action: 'forget' } as never), TypeError, /^version must be a version string/],
      [() => db.migrations.repair({ dir: 'x', version: '1', action: 'forget' }), RangeError, /^version must be a version/],
      [() => db.migrations.repair({ dir: 'x', version: '1.0.0', action: 'drop' as never }), RangeError, /^action must be one of/],
      [() => db.migrations.repair({ dir: 'x', version: '1.0.0', action: 'forget', lockTimeout: 0 }), RangeError, /^lockTimeout must be between/],
      [() => db.migrations.repair({ dir: 'x', version: '1.0.0', action: 'forget', signal: 1 } as never), TypeError, /^signal must be an AbortSignal/],
      [() => db.migrations.repair({ dir: 'x', version: '1.0.0', action: 'forget', dryRun: true } as never), TypeError, /^unknown option dryRun/],
      [() => db.migrations.down({ dir: 'x' } as never), TypeError, /^to must be a version string/],
      [() => db.migrations.down({ dir: 'x', to: '1.0.0', dryRun: 1 } as never), TypeError, /^dryRun must be a boolean/],
      [() => db.migrations.down({ dir: 'x', to: '1.0.0', allowOutOfOrder: true } as never), TypeError, /^unknown option allowOutOfOrder/],
      [() => db.migrations.down({ dir: 'x', to: '1.0.0', lockTimeout: -1 }), RangeError, /^lockTimeout must be between/],
    ];
    for (const [call, type, message] of typed) {
      const error = await call().then(() => undefined, (reason: unknown) => reason);
      expect(error, String(message)).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(message);
    }
  });
});

const abortListeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

/** The signals AbortSignal.any() made from `signal` that it still keeps (Node 20 keeps them for as long as `signal` lives). */
function dependantSignals(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((symbol) => symbol.description === 'kDependantSignals');
  return key === undefined ? 0 : ((signal as unknown as Record<symbol, Set<unknown> | undefined>)[key]?.size ?? 0);
}

describe('JS migrations and the abort signal', () => {
  it('aborting interrupts the statement a JS migration runs: rolled back, rejected with the reason', async () => {
    const db = await fresh();
    const controller = new AbortController();
    const reason = new Error('deploy cancelled');
    const outcome = await db
      .migrate({
        signal: controller.signal,
        migrations: [
          { version: '1.0.0', name: 'table', up: 'CREATE TABLE t (x)' },
          {
            version: '1.1.0',
            name: 'endless',
            up: async (tx) => {
              await tx.exec('INSERT INTO t VALUES (1)');
              setTimeout(() => controller.abort(reason), 50);
              // Never ends by itself: only an interrupt stops it.
              await tx.get('WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(*) FROM c');
            },
          },
        ],
      })
      .catch((error: unknown) => error);
    expect(outcome).toBe(reason);
    expect(await ledgerOf(db)).toEqual([{ version: '1.0.0', state: 'applied', kind: 'migration' }]);
    expect(await db.all('SELECT x FROM t')).toEqual([]);
  });

  it('aborting while a JS migration awaits something else rejects at once; its tx refuses every later call', async () => {
    const db = await fresh();
    const controller = new AbortController();
    let late: Promise<unknown> | undefined;
    let resume!: () => void;
    const outcome = await db
      .migrate({
        signal: controller.signal,
        migrations: [
          {
            version: '1.0.0',
            name: 'waits',
            up: async (tx) => {
              await tx.exec('CREATE TABLE w (x)');
              setTimeout(() => controller.abort(new Error('stop')), 50);
              await new Promise<void>((resolve) => (resume = resolve)); // resolved only by the test, later
              late = tx.run('INSERT INTO w VALUES (1)').then(() => 'ran', (error: unknown) => error);
            },
          },
        ],
      })
      .catch((error: unknown) => error);
    expect((outcome as Error).message).toBe('stop');
    expect(await tables(db)).toEqual([]);
    resume();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await late).toMatchObject({ code: 'LITEPOOL_SCOPE_ENDED' });
    expect(await tables(db)).toEqual([]);
  });

  it("a JS migration's calls with a signal of their own let go of it and of the run's signal once they settled", async () => {
    const db = await fresh();
    const run = new AbortController();
    const own = new AbortController();
    const during: number[] = [];
    await db.migrate({
      signal: run.signal,
      migrations: [
        {
          version: '1.0.0',
          name: 'many',
          up: async (tx) => {
            await tx.exec('CREATE TABLE m (x)');
            for (let i = 0; i < 200; i++) await tx.run('INSERT INTO m VALUES (?)', [i], { signal: own.signal });
            for await (const row of tx.iterate('SELECT x FROM m', [], { signal: own.signal })) void row;
            during.push(abortListeners(own.signal), dependantSignals(run.signal), dependantSignals(own.signal));
          },
        },
      ],
    });
    expect(during).toEqual([0, 0, 0]);
    expect(abortListeners(run.signal)).toBe(0);
    expect(await db.get('SELECT count(*) AS n FROM m')).toEqual({ n: 200 });
  });

  it('a tx kept by one migration cannot write into the next one', async () => {
    const db = await fresh();
    let kept: { run: (sql: string) => Promise<unknown> } | undefined;
    const error = await refusal(
      db.migrate({
        migrations: [
          { version: '1.0.0', name: 'keeps', up: async (tx) => void (kept = tx) },
          { version: '1.1.0', name: 'other', up: async () => void (await kept!.run('CREATE TABLE sneaky (x)')) },
        ],
      }),
    );
    expect(error.version).toBe('1.1.0');
    expect((error.cause as { code?: string }).code).toBe('LITEPOOL_SCOPE_ENDED');
    expect(await tables(db)).not.toContain('sneaky');
  });
});

describe('a migration must not end the transaction it runs in', () => {
  it('recognises the statements that begin, commit or roll back a transaction', () => {
    for (const sql of ['BEGIN', 'begin immediate;', '  /* c */ -- d\nCOMMIT', 'END TRANSACTION', 'ROLLBACK', 'rollback transaction']) {
      expect(transactionControl(sql), sql).toBeDefined();
    }
    for (const sql of ['SAVEPOINT s', 'RELEASE s', 'ROLLBACK TO s', 'ROLLBACK TRANSACTION TO SAVEPOINT s', 'CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END', "SELECT 'COMMIT'"]) {
      expect(transactionControl(sql), sql).toBeUndefined();
    }
  });

  it('a SQL file with BEGIN, COMMIT or ROLLBACK is refused before anything runs (dry run too); with -- litepool:no-transaction it runs', async () => {
    const db = await fresh();
    const dir = scratch.files({
      '1.0.0__first.sql': 'CREATE TABLE first (x);\n',
      '1.1.0__half.sql': 'CREATE TABLE a (x);\nCOMMIT;\nCREATE TABLE b (;\n',
    });
    const error = await refusal(db.migrate({ dir }));
    expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(error.file).toBe('1.1.0__half.sql');
    expect(error.statement).toBe('COMMIT;');
    expect(error.message).toContain('1.1.0__half.sql: statement 2 (line 2) is COMMIT');
    expect(await tables(db)).toEqual([]); // not even 1.0.0 ran, nor the ledger was created
    expect((await refusal(db.migrate({ dir, dryRun: true }))).statement).toBe('COMMIT;');

    writeFileSync(join(dir, '1.1.0__half.sql'), 'BEGIN;\nCREATE TABLE a (x);\nCOMMIT;\n');
    expect((await refusal(db.migrate({ dir }))).message).toContain('statement 1 (line 1) is BEGIN');
    writeFileSync(join(dir, '1.1.0__half.sql'), 'SAVEPOINT s;\nCREATE TABLE a (x);\nROLLBACK TO s;\nRELEASE s;\nCREATE TABLE c (x);\n-- litepool:down\nDROP TABLE c;\nROLLBACK;\n');
    expect((await db.migrate({ dir })).applied.map((m) => m.version)).toEqual(['1.0.0', '1.1.0']);
    expect(await tables(db)).toEqual(['_litepool_migrations', 'c', 'first']);
    // Its down part is checked the same way, before anything is reverted.
    const down = await refusal(db.migrations.down({ dir, to: '1.0.0' }));
    expect(down.message).toContain('statement 2 (line 8) is ROLLBACK'); // lines count from the top of the file
    expect(await tables(db)).toEqual(['_litepool_migrations', 'c', 'first']);

    writeFileSync(join(dir, '1.2.0__own.sql'), '-- litepool:no-transaction\nBEGIN;\nCREATE TABLE own (x);\nCOMMIT;\n');
    expect((await db.migrate({ dir })).applied.map((m) => m.version)).toEqual(['1.2.0']);
  });

  it('PRAGMA foreign_keys, a no-op inside a transaction, is refused in a migration that runs in one (before a DROP TABLE cascades)', async () => {
    for (const sql of [
      'PRAGMA foreign_keys = OFF',
      'pragma FOREIGN_KEYS=0;',
      '/* x */ PRAGMA main.foreign_keys = off',
      'PRAGMA "foreign_keys"(0)',
      "PRAGMA 'foreign_keys' = OFF",
      'PRAGMA /*x*/ foreign_keys = OFF',
      'PRAGMA foreign_keys /* y */ = OFF',
      'PRAGMA [main] . `foreign_keys` -- z\n = 0',
      '/* pragma foreign_key_check */ PRAGMA foreign_keys = OFF',
    ]) {
      expect(setsForeignKeys(sql), sql).toBe(true);
    }
    for (const sql of ['PRAGMA foreign_keys', 'PRAGMA foreign_key_check', 'PRAGMA defer_foreign_keys = ON', "SELECT 'PRAGMA foreign_keys = OFF'", "PRAGMA 'foreign_keys'"]) {
      expect(setsForeignKeys(sql), sql).toBe(false);
    }
    const db = await fresh({ pragmas: { foreign_keys: true } });
    const dir = scratch.files({
      '1.0.0__authors.sql':
        'CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT);\n' +
        'CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES authors (id) ON DELETE CASCADE);\n' +
        "INSERT INTO authors VALUES (1, 'Woolf');\nINSERT INTO books VALUES (1, 1);\n",
    });
    await db.migrate({ dir });
    // The 12-step change written without -- litepool:no-transaction: foreign keys would stay on,
    // and dropping authors would delete every book through ON DELETE CASCADE.
    writeFileSync(
      join(dir, '1.1.0__rebuild.sql'),
      'PRAGMA foreign_keys = OFF;\nCREATE TABLE authors_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n' +
        'INSERT INTO authors_new SELECT id, name FROM authors;\nDROP TABLE authors;\nALTER TABLE authors_new RENAME TO authors;\n',
    );
    const error = await refusal(db.migrate({ dir }));
    expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(error.statement).toBe('PRAGMA foreign_keys = OFF;');
    expect(error.message).toContain('1.1.0__rebuild.sql: statement 1 (line 1) sets PRAGMA foreign_keys, which SQLite ignores inside a transaction');
    expect(await db.all('SELECT id FROM books')).toEqual([{ id: 1 }]);
    // JS migrations likewise.
    const js = await refusal(db.migrate({ migrations: [{ version: '1.2.0', name: 'fk', up: async (tx) => void (await tx.exec('PRAGMA foreign_keys = OFF')) }] }));
    expect(js.message).toContain('a statement it ran sets PRAGMA foreign_keys');
    // With the directive it runs with foreign keys off, and the books stay.
    writeFileSync(join(dir, '1.1.0__rebuild.sql'), `-- litepool:no-transaction\n${readFileSync(join(dir, '1.1.0__rebuild.sql'), 'utf8')}`);
    expect((await db.migrate({ dir })).applied.map((m) => m.version)).toEqual(['1.1.0']);
    expect(await db.all('SELECT id, author_id FROM books')).toEqual([{ id: 1, author_id: 1 }]);
  });

  it('a JS migration running COMMIT through tx is refused and rolled back; nothing of it is recorded', async () => {
    const db = await fresh();
    const dir = scratch.files({
      '1.0.0__commits.mjs': 'export async function up(tx) {\n  await tx.exec("CREATE TABLE j (x)");\n  await tx.exec("INSERT INTO j VALUES (1); COMMIT");\n}\n',
    });
    const error = await refusal(db.migrate({ dir }));
    expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(error.file).toBe('1.0.0__commits.mjs');
    expect(error.message).toContain('is COMMIT');
    expect(await tables(db)).toEqual([]); // rolled back with the ledger table its run created
    for (const call of ['tx.run("ROLLBACK")', 'tx.get("END")', 'tx.all("BEGIN")', 'tx.batch([{ sql: "COMMIT" }])', 'tx.iterate("ROLLBACK").next()']) {
      const refused = await refusal(db.migrate({ migrations: [{ version: '1.0.0', name: 'c', up: new Function('tx', `return (async () => { await tx.exec("CREATE TABLE j (x)"); await ${call}; })()`) as never }] }));
      expect(refused.message, call).toMatch(/is (ROLLBACK|END|BEGIN|COMMIT): a migration runs in one transaction/);
      expect(await tables(db)).toEqual([]);
    }
  });

  it('a JS migration that swallows a failure after which SQLite rolled the transaction back is not recorded', async () => {
    const db = await fresh();
    const error = await refusal(
      db.migrate({
        migrations: [
          { version: '1.0.0', name: 'table', up: 'CREATE TABLE k (x INTEGER PRIMARY KEY)' },
          {
            version: '1.1.0',
            name: 'swallow',
            up: async (tx) => {
              await tx.run('INSERT INTO k VALUES (1)');
              // ON CONFLICT ROLLBACK rolls the whole transaction back; the migration ignores it and goes on.
              await tx.run('INSERT OR ROLLBACK INTO k VALUES (1)').catch(() => undefined);
              await tx.run('INSERT INTO k VALUES (2)');
            },
          },
        ],
      }),
    );
    expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(error.version).toBe('1.1.0');
    expect(error.message).toContain('ended the transaction it runs in');
    expect(await ledgerOf(db)).toEqual([{ version: '1.0.0', state: 'applied', kind: 'migration' }]);
    expect(await db.all('SELECT x FROM k')).toEqual([{ x: 2 }]); // what ran after the rollback committed by itself
  });
});

describe('-- litepool:no-transaction', () => {
  it('rebuilds a table with foreign keys off (12-step change), checks foreign keys, restores foreign_keys', async () => {
    const db = await fresh({ pragmas: { foreign_keys: true } });
    const dir = scratch.copy('nontx');
    const report = await db.migrate({ dir });
    expect(report.applied.map((m) => m.version)).toEqual(['1.0.0', '1.1.0']);
    expect((await db.get<{ sql: string }>("SELECT sql FROM sqlite_schema WHERE name = 'authors'"))?.sql).toContain('CHECK (length(name) > 0)');
    expect(await db.get('SELECT count(*) AS n FROM books')).toEqual({ n: 2 });
    expect(await ledgerOf(db)).toEqual([
      { version: '1.0.0', state: 'applied', kind: 'migration' },
      { version: '1.1.0', state: 'applied', kind: 'migration' },
    ]);
    await using writer = await db.acquire({ write: true });
    expect(await writer.get('PRAGMA foreign_keys')).toEqual({ foreign_keys: 1 });
  });

  it('a violation found by foreign_key_check fails it and leaves a failed row that blocks until repaired', async () => {
    const db = await fresh({ pragmas: { foreign_keys: true } });
    const dir = scratch.copy('nontx');
    writeFileSync(join(dir, '1.2.0__drop_woolf.sql'), '-- litepool:no-transaction\nPRAGMA foreign_keys = OFF;\nDELETE FROM authors WHERE id = 2;\n');
    writeFileSync(join(dir, '1.3.0__later.sql'), 'CREATE TABLE later (x);\n');
    const error = await refusal(db.migrate({ dir }));
    expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(error.file).toBe('1.2.0__drop_woolf.sql');
    expect(error.message).toContain('1 foreign key violation');
    expect(error.message).toContain('books rowid 2 -> authors');
    expect(await tables(db)).not.toContain('later');
    const status = await db.migrations.status({ dir });
    expect(status.find((s) => s.version === '1.2.0')).toMatchObject({ state: 'failed' });
    expect(status.find((s) => s.version === '1.2.0')?.error).toContain('foreign key violation');
    await using writer = await db.acquire({ write: true });
    expect(await writer.get('PRAGMA foreign_keys')).toEqual({ foreign_keys: 1 });
    await writer.release();

    const blocked = await refusal(db.migrate({ dir }));
    expect(blocked.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(blocked.message).toContain('failed earlier and may be half applied');
    // Recovery: undo by hand, forget the row, fix the file; the next run applies it.
    await db.run("INSERT INTO authors (id, name) VALUES (2, 'Woolf')");
    await db.migrations.repair({ dir, version: '1.2.0', action: 'forget' });
    expect((await db.migrations.status({ dir })).find((s) => s.version === '1.2.0')?.state).toBe('pending');
    writeFileSync(join(dir, '1.2.0__drop_woolf.sql'), '-- litepool:no-transaction\nPRAGMA foreign_keys = OFF;\nDELETE FROM books WHERE author_id = 2;\nDELETE FROM authors WHERE id = 2;\n');
    expect((await db.migrate({ dir })).applied.map((m) => m.version)).toEqual(['1.2.0', '1.3.0']);
  });

  it('a -- litepool:no-transaction line below the first line is refused before anything runs, not ignored', async () => {
    const db = await fresh();
    const dir = scratch.files({
      '1.0.0__first.sql': 'CREATE TABLE first (x);\n',
      '1.1.0__late.sql': '-- 1.1.0__late.sql: rebuilds a table\n-- litepool:no-transaction\nCREATE TABLE late (x);\n',
    });
    const error = await refusal(db.migrate({ dir }));
    expect(error.code).toBe('LITEPOOL_MIGRATION_FAILED');
    expect(error.file).toBe('1.1.0__late.sql');
    expect(error.message).toContain('1.1.0__late.sql: line 2 holds -- litepool:no-transaction, which counts only as the first line of the file');
    expect(await tables(db)).toEqual([]);
    expect((await refusal(db.migrate({ dir, dryRun: true }))).file).toBe('1.1.0__late.sql');
    writeFileSync(join(dir, '1.1.0__late.sql'), '-- litepool:no-transaction\n-- 1.1.0__late.sql: rebuilds a table\nCREATE TABLE late (x);\n');
    expect((await db.migrate({ dir })).applied.map((m) => m.version)).toEqual(['1.0.0', '1.1.0']);
  });

  it('foreign_key_check blames a no-transaction migration only for violations it made, and only where foreign keys are enforced', async () => {
    const setup = 'CREATE TABLE parent (id INTEGER PRIMARY KEY);\nCREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id));\n';
    const rebuild = '-- litepool:no-transaction\nCREATE TABLE unrelated (x);\n';
    // Foreign keys not enforced (foreignKeys: false): an orphan row is allowed, and the check is not made.
    const loose = await fresh({ foreignKeys: false });
    const looseDir = scratch.files({ '1.0.0__tables.sql': `${setup}INSERT INTO child VALUES (1, 42);\n`, '1.1.0__rebuild.sql': rebuild });
    expect((await loose.migrate({ dir: looseDir })).applied.map((m) => m.version)).toEqual(['1.0.0', '1.1.0']);
    // Enforced, with an orphan row from a time they were not: not the migration's doing.
    const strict = await fresh({ pragmas: { foreign_keys: true } });
    const strictDir = scratch.files({ '1.0.0__tables.sql': setup, '1.1.0__rebuild.sql': rebuild });
    await strict.migrate({ dir: strictDir, to: '1.0.0' });
    const writer = await strict.acquire({ write: true });
    await writer.exec('PRAGMA foreign_keys = OFF');
    await writer.run('INSERT INTO child VALUES (1, 42)');
    await writer.exec('PRAGMA foreign_keys = ON');
    await writer.release();
    expect((await strict.migrate({ dir: strictDir })).applied.map((m) => m.version)).toEqual(['1.1.0']);
    // A violation it makes is still found.
    writeFileSync(join(strictDir, '1.2.0__orphan.sql'), '-- litepool:no-transaction\nPRAGMA foreign_keys = OFF;\nINSERT INTO child VALUES (2, 43);\n');
    const error = await refusal(strict.migrate({ dir: strictDir }));
    expect(error.message).toContain('1.2.0__orphan.sql left 1 foreign key violation (PRAGMA foreign_key_check): child rowid 2 -> parent');
  });

  it('down of a no-transaction migration runs its down part outside a transaction and removes its row', async () => {
    const db = await fresh();
    const dir = scratch.files({
      '1.0.0__plain.sql': 'CREATE TABLE plain (x);\n-- litepool:down\nDROP TABLE plain;\n',
      '1.1.0__rebuild.sql': '-- litepool:no-transaction\nCREATE TABLE rebuilt (x);\n-- litepool:down\nDROP TABLE rebuilt;\n',
    });
    await db.migrate({ dir });
    expect(await tables(db)).toEqual(['_litepool_migrations', 'plain', 'rebuilt']);
    const report = await db.migrations.down({ dir, to: '1.0.0' });
    expect(report.reverted.map((m) => m.version)).toEqual(['1.1.0']);
    expect(await tables(db)).toEqual(['_litepool_migrations', 'plain']);
    expect(await ledgerOf(db)).toEqual([{ version: '1.0.0', state: 'applied', kind: 'migration' }]);
  });

  it('a row left running: a dry run refuses at once and says why, a run waits lockTimeout, status says failed', async () => {
    const db = await fresh();
    const dir = scratch.copy('nontx');
    await db.migrate({ dir, to: '1.0.0' });
    await db.run(
      "INSERT INTO _litepool_migrations (version, name, kind, checksum, state, applied_at, litepool_version) VALUES ('1.1.0', 'authors_strict', 'migration', 'x', 'running', '2030-01-01T00:00:00.000Z', '0.1.0')",
    );
    const dry = await refusal(db.migrate({ dir, dryRun: true }));
    expect(dry.code).toBe('LITEPOOL_MIGRATION_LOCKED');
    expect(dry.version).toBe('1.1.0');
    expect(dry.message).toContain('1.1.0__authors_strict (a -- litepool:no-transaction migration) has been recorded as running since 2030-01-01T00:00:00.000Z, so what a run would do cannot be known yet');
    const run = await refusal(db.migrate({ dir, lockTimeout: 200 }));
    expect(run.code).toBe('LITEPOOL_MIGRATION_LOCKED');
    expect(run.message).toContain('and still was after 200 ms');
    expect((await db.migrations.status({ dir })).find((s) => s.version === '1.1.0')).toMatchObject({ state: 'failed', error: expect.stringContaining('recorded as running') });
  });

  it('mark-applied settles a failed row that was finished by hand; a file that leaves a transaction open fails', async () => {
    const db = await fresh();
    const dir = scratch.files({
      '1.0.0__open.sql': '-- litepool:no-transaction\nCREATE TABLE kept (x);\nBEGIN;\nCREATE TABLE lost (x);\n',
    });
    const error = await refusal(db.migrate({ dir }));
    expect(error.message).toContain('left a transaction open');
    expect(await tables(db)).toEqual(['_litepool_migrations', 'kept']);
    expect(await ledgerOf(db)).toEqual([{ version: '1.0.0', state: 'failed', kind: 'migration' }]);
    await db.exec('CREATE TABLE lost (x)');
    expect(await db.migrations.repair({ dir, version: '1.0.0', action: 'mark-applied' })).toMatchObject({ state: 'applied' });
    expect((await db.migrate({ dir })).applied).toEqual([]);
  });
});
