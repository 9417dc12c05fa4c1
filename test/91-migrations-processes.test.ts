// Covers migrations across processes and under load: four processes migrating one database at
// once (test/fixtures/migrate-child.mjs, compiled library), SIGKILL during a long migration (in a
// transaction, and with -- litepool:no-transaction) followed by a new run, reads served by the
// reader threads while a long migration holds the writer, and the runner's event hook.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigrationError, open, type MigrateReport, type Pool } from '../lib/index.ts';
import { migrate } from '../lib/migrations/runner.ts';
import type { MigrationEvent } from '../lib/migrations/types.ts';
import { Scratch, compiledPackage, ledgerOf, root, schemaOf } from './migrations-helpers.ts';

const child = fileURLToPath(new URL('./fixtures/migrate-child.mjs', import.meta.url));
const scratch = new Scratch();
let dist: string;
const pools: Pool[] = [];

beforeAll(() => {
  dist = join(compiledPackage(scratch.dir), 'dist');
});

afterAll(async () => {
  await Promise.allSettled(pools.map((db) => db.close()));
  scratch.remove();
});

async function pool(path: string): Promise<Pool> {
  const db = await open(path, { readers: 2 });
  pools.push(db);
  return db;
}

interface Child {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

function spawnChild(args: string[], onLine?: (line: string, kill: () => void) => void): { done: Promise<Child>; send: (line: string) => void } {
  const proc = spawn(process.execPath, [child, dist, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  const result: Child = { stdout: '', stderr: '', code: null, signal: null };
  let pending = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    result.stdout += chunk;
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      onLine?.(line, () => proc.kill('SIGKILL'));
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (result.stderr += chunk));
  const done = new Promise<Child>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code, signal) => resolve(Object.assign(result, { code, signal })));
  });
  return { done, send: (line) => proc.stdin.write(`${line}\n`) };
}

describe('several processes', () => {
  it('four processes migrating one database at once: every version applied exactly once, all four succeed', async () => {
    const database = scratch.db();
    const dir = scratch.copy('concurrent');
    let ready = 0;
    let release: () => void;
    const allReady = new Promise<void>((resolve) => (release = resolve));
    const children = Array.from({ length: 4 }, () =>
      spawnChild([database, dir, 'race'], (line) => {
        if (line === 'ready' && ++ready === 4) release();
      }),
    );
    await allReady;
    for (const c of children) c.send('go'); // all four start migrating together
    const results = await Promise.all(children.map((c) => c.done));
    for (const result of results) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
    const reports = results.map((r) => (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { report: MigrateReport }).report);
    const applied = reports.flatMap((report) => report.applied.map((m) => m.version)).sort();
    expect(applied).toEqual(['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0']);
    for (const report of reports) expect(report.current).toBe('1.4.0');

    const db = await pool(database);
    // Each migration's body ran once: one `runs` row per version, 50 000 rows per table.
    expect(await db.all('SELECT version, count(*) AS n FROM runs GROUP BY version ORDER BY version')).toEqual(
      ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0'].map((version) => ({ version, n: 1 })),
    );
    expect(await db.get('SELECT count(*) AS n FROM t_1_4_0')).toEqual({ n: 50_000 });
    expect((await ledgerOf(db)).map((row) => `${row.version} ${row.state}`)).toEqual(['1.0.0 applied', '1.1.0 applied', '1.2.0 applied', '1.3.0 applied', '1.4.0 applied']);
  });

  it('four processes and a -- litepool:no-transaction migration among others: each runs once, the others wait for it', async () => {
    const database = scratch.db();
    const dir = scratch.files({
      '1.0.0__runs.sql': 'CREATE TABLE runs (version TEXT NOT NULL);\nINSERT INTO runs VALUES (\'1.0.0\');\n',
      '1.1.0__fill.sql':
        '-- litepool:no-transaction\nCREATE TABLE fill (id INTEGER PRIMARY KEY, pad TEXT);\nBEGIN;\n' +
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 300000) INSERT INTO fill SELECT i, printf('%030d', i) FROM c;\n" +
        "INSERT INTO runs VALUES ('1.1.0');\nCOMMIT;\n",
      '1.2.0__after.sql': "INSERT INTO runs VALUES ('1.2.0');\n",
    });
    let ready = 0;
    let release: () => void;
    const allReady = new Promise<void>((resolve) => (release = resolve));
    const children = Array.from({ length: 4 }, () =>
      spawnChild([database, dir, 'race'], (line) => {
        if (line === 'ready' && ++ready === 4) release();
      }),
    );
    await allReady;
    for (const c of children) c.send('go');
    const results = await Promise.all(children.map((c) => c.done));
    for (const result of results) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
    const reports = results.map((r) => (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { report: MigrateReport }).report);
    expect(reports.flatMap((report) => report.applied.map((m) => m.version)).sort()).toEqual(['1.0.0', '1.1.0', '1.2.0']);
    const db = await pool(database);
    expect(await db.all('SELECT version, count(*) AS n FROM runs GROUP BY version ORDER BY version')).toEqual(
      ['1.0.0', '1.1.0', '1.2.0'].map((version) => ({ version, n: 1 })),
    );
    expect(await db.get('SELECT count(*) AS n FROM fill')).toEqual({ n: 300_000 });
    expect((await ledgerOf(db)).map((row) => `${row.version} ${row.state}`)).toEqual(['1.0.0 applied', '1.1.0 applied', '1.2.0 applied']);
  });

  it('SIGKILL during a long migration, then migrate again: consistent ledger and schema, integrity_check ok', async () => {
    const database = scratch.db();
    const dir = scratch.copy('long');
    const events: string[] = [];
    const run = spawnChild([database, dir, 'watch'], (line, kill) => {
      events.push(line);
      if (line === 'start 1.1.0') setTimeout(kill, 100);
    });
    const result = await run.done;
    expect(result.signal).toBe('SIGKILL');
    expect(events).toEqual(['start 1.0.0', 'applied 1.0.0', 'start 1.1.0']);

    const db = await pool(database);
    expect(await db.get('PRAGMA integrity_check')).toEqual({ integrity_check: 'ok' });
    expect(await ledgerOf(db)).toEqual([{ version: '1.0.0', state: 'applied', kind: 'migration' }]);
    expect(await db.get('SELECT count(*) AS n FROM big')).toEqual({ n: 0 });
    const report = await db.migrate({ dir });
    expect(report.applied.map((m) => m.version)).toEqual(['1.1.0', '1.2.0']);
    expect(await db.get('SELECT count(*) AS n, count(DISTINCT id) AS ids FROM big')).toEqual({ n: 1_000_000, ids: 1_000_000 });
    expect(await db.get('PRAGMA integrity_check')).toEqual({ integrity_check: 'ok' });

    // The same schema as a database that was never interrupted (with a smaller fill).
    const reference = await pool(scratch.db());
    const small = scratch.copy('long');
    writeFileSync(join(small, '1.1.0__fill.sql'), "INSERT INTO big (id, pad) VALUES (1, 'x');\nCREATE INDEX big_pad ON big (pad);\n");
    await reference.migrate({ dir: small });
    expect(await schemaOf(db)).toEqual(await schemaOf(reference));
  });

  it('SIGKILL during a no-transaction migration leaves a running row: refused as locked, repaired with forget, then applied', async () => {
    const database = scratch.db();
    const dir = scratch.files({
      '1.0.0__big.sql': 'CREATE TABLE big (id INTEGER PRIMARY KEY, pad TEXT NOT NULL);\n',
      '1.1.0__fill.sql':
        '-- litepool:no-transaction\nWITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1000000)\n' +
        "INSERT INTO big (id, pad) SELECT i, printf('%020d', i) FROM c;\n",
    });
    const run = spawnChild([database, dir, 'watch'], (line, kill) => {
      if (line === 'start 1.1.0') setTimeout(kill, 100);
    });
    expect((await run.done).signal).toBe('SIGKILL');

    const db = await pool(database);
    expect(await db.get('PRAGMA integrity_check')).toEqual({ integrity_check: 'ok' });
    expect(await ledgerOf(db)).toEqual([
      { version: '1.0.0', state: 'applied', kind: 'migration' },
      { version: '1.1.0', state: 'running', kind: 'migration' },
    ]);
    const error = await db.migrate({ dir, lockTimeout: 300 }).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as MigrationError).code).toBe('LITEPOOL_MIGRATION_LOCKED');
    expect((error as MigrationError).message).toContain('recorded as running');
    expect((await db.migrations.status({ dir })).find((s) => s.version === '1.1.0')).toMatchObject({ state: 'failed' });
    // The statement was atomic on its own: nothing of it is left, so forgetting the row is right.
    expect(await db.get('SELECT count(*) AS n FROM big')).toEqual({ n: 0 });
    await db.migrations.repair({ dir, version: '1.1.0', action: 'forget' });
    expect((await db.migrate({ dir })).applied.map((m) => m.version)).toEqual(['1.1.0']);
    expect(await db.get('SELECT count(*) AS n FROM big')).toEqual({ n: 1_000_000 });
  });
});

describe('one process', () => {
  it('reads keep being served by the readers while a long migration holds the writer', async () => {
    const db = await pool(scratch.db());
    const dir = scratch.copy('long');
    await db.migrate({ dir, to: '1.0.0' });
    const window = { start: Infinity, end: Infinity };
    const events: string[] = [];
    const onEvent = (event: MigrationEvent) => {
      events.push(`${event.phase} ${event.version}`);
      if (event.version === '1.1.0' && event.phase === 'start') window.start = performance.now();
      if (event.version === '1.1.0' && event.phase !== 'start') window.end = performance.now();
    };
    let finished = false;
    const migrating = migrate(db, { dir }, { onEvent }).finally(() => (finished = true));
    let during = 0;
    let heldDuring = 0;
    while (!finished) {
      const row = await db.get<{ n: number }>('SELECT count(*) AS n FROM small');
      expect(row).toEqual({ n: 3 });
      const now = performance.now();
      if (now > window.start && now < window.end) {
        during++;
        if (db.stats().writer.held) heldDuring++;
      }
    }
    const report = await migrating;
    expect(report.applied.map((m) => m.version)).toEqual(['1.1.0', '1.2.0']);
    expect(events).toEqual(['start 1.1.0', 'applied 1.1.0', 'start 1.2.0', 'applied 1.2.0']);
    // Reads completed while the million-row migration ran, with the writer held by it.
    expect(heldDuring).toBeGreaterThanOrEqual(5);
    expect(during).toBeGreaterThanOrEqual(heldDuring);
  });

  it('aborting during a long migration interrupts it: rolled back, rejected with the reason, later migrations not run', async () => {
    const db = await pool(scratch.db());
    const dir = scratch.copy('long');
    const controller = new AbortController();
    const reason = new Error('deploy cancelled');
    const events: string[] = [];
    const outcome = await migrate(db, { dir, signal: controller.signal }, {
      onEvent: (event) => {
        events.push(`${event.phase} ${event.version}`);
        if (event.phase === 'start' && event.version === '1.1.0') setTimeout(() => controller.abort(reason), 100);
      },
    }).catch((error: unknown) => error);
    expect(outcome).toBe(reason);
    expect(events).toEqual(['start 1.0.0', 'applied 1.0.0', 'start 1.1.0', 'failed 1.1.0']);
    expect(await ledgerOf(db)).toEqual([{ version: '1.0.0', state: 'applied', kind: 'migration' }]);
    expect(await db.get('SELECT count(*) AS n FROM big')).toEqual({ n: 0 });
    // The pool is fine afterwards: the writer was given back.
    expect((await db.migrate({ dir })).applied.map((m) => m.version)).toEqual(['1.1.0', '1.2.0']);
  });

  it('the event hook reports start, applied and failed per migration, and a throwing hook changes nothing', async () => {
    const db = await pool(scratch.db());
    const events: MigrationEvent[] = [];
    const error = await migrate(db, { dir: scratch.copy('failing') }, {
      onEvent: (event) => {
        events.push(event);
        throw new Error('a broken hook');
      },
    }).catch((reason: unknown) => reason);
    expect((error as MigrationError).file).toBe('1.2.0__three.sql');
    expect(events.map((e) => `${e.phase} ${e.version}`)).toEqual(['start 1.0.0', 'applied 1.0.0', 'start 1.1.0', 'applied 1.1.0', 'start 1.2.0', 'failed 1.2.0']);
    expect(events[1]).toMatchObject({ direction: 'up', name: 'one' });
    expect(typeof events[1]!.durationMs).toBe('number');
    expect(events[5]!.error).toBe(error);
  });
});
