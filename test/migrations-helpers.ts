// Shared by test/90- to 92-migrations*.test.ts and 119: temporary directories, copies of the
// migration fixtures, schema snapshots, the MigrationError a call rejects with, and an isolated
// compiled package for child processes.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { MigrationError, type Pool } from '../lib/index.ts';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const fixtures = join(root, 'test', 'fixtures', 'migrations');

export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'litepool-migrations-'));
  #count = 0;

  /** A fresh database path. */
  db(): string {
    return join(this.dir, `db-${++this.#count}.db`);
  }

  /** A copy of a fixture directory (or an empty directory), to edit freely. */
  copy(fixture?: string): string {
    const target = join(this.dir, `dir-${++this.#count}`);
    if (fixture) cpSync(join(fixtures, fixture), target, { recursive: true });
    else mkdirSync(target);
    return target;
  }

  /** A directory holding `files` (name -> text). */
  files(files: Record<string, string>): string {
    const target = this.copy();
    for (const [name, text] of Object.entries(files)) writeFileSync(join(target, name), text);
    return target;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The schema as sqlite_schema has it (no root pages), sorted: equal schemas compare equal. */
export async function schemaOf(db: Pool): Promise<string[]> {
  const rows = await db.all<{ type: string; name: string; tbl_name: string; sql: string | null }>(
    // The statistics tables (PRAGMA optimize at open, ANALYZE) are not part of what was migrated.
    "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_stat%' ESCAPE '\\' ORDER BY type, name",
  );
  return rows.map((row) => `${row.type} ${row.name} ON ${row.tbl_name}: ${row.sql}`);
}

/** The ledger rows (version, state, kind), by version as text. */
export async function ledgerOf(db: Pool): Promise<{ version: string; state: string; kind: string }[]> {
  return db.all('SELECT version, state, kind FROM _litepool_migrations ORDER BY version');
}

/**
 * Compiles lib/ into a package of its own in `dir` (the addon build and node_modules shared by
 * symlinks; package.json carries the real name, version and bin), for child processes: the
 * worktree's dist/ may be rebuilt by other test files at the same time.
 */
export function compiledPackage(dir: string): string {
  const pkg = join(dir, 'pkg');
  mkdirSync(pkg);
  symlinkSync(join(root, 'build'), join(pkg, 'build'));
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  const { name, version, type, bin, main, types, exports, files, engines } = manifest;
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name, version, type, bin, main, types, exports, files, engines }, null, 2));
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', join(pkg, 'dist')], {
    cwd: root,
    stdio: 'pipe',
  });
  return pkg;
}

/** The MigrationError a promise rejects with (fails the test if it resolves). */
export async function refusal(promise: Promise<unknown>): Promise<MigrationError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(MigrationError);
  return error as MigrationError;
}
