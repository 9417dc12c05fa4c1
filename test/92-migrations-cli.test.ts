// Covers the `litepool` command line end to end, in child processes: the compiled package is
// installed into a project (npm install of a local directory, offline), and its bin is run like a
// user runs it (node_modules/.bin/litepool, and once through npx). Commands, text and JSON output,
// exit codes (0 ok, 1 failure, 2 usage), `new` file naming, a TypeScript migration refused with a
// clear message on a Node.js that cannot load it, the bin entry inside the packed tarball, and
// output that cannot be written (a reader gone, EPIPE; a full disk, ENOSPC): no crash, no stack.
// In this process: failures (the USAGE code of every usage error, one stderr line, the JSON
// error), refused arguments (repeated options, --db :memory:, stray arguments) and the help; the
// database files migrate --dry-run and a refused migrate do not create.
import { execFile, execFileSync, spawn, type StdioOptions } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USAGE, run } from '../lib/cli/commands.ts';
import { Scratch, compiledPackage } from './migrations-helpers.ts';

const scratch = new Scratch();
let pkg: string;
let project: string;
let bin: string;

beforeAll(() => {
  pkg = compiledPackage(scratch.dir);
  project = join(scratch.dir, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'project', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', pkg], { cwd: project, stdio: 'pipe' });
  bin = join(project, 'node_modules', '.bin', 'litepool');
}, 120_000);

afterAll(() => scratch.remove());

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the installed bin (its #! line and the mode npm gave it) with `args` in the project. */
function litepool(...args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd: project }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

/**
 * Runs the installed bin with stdout given by `stdout`: 'closed' is a pipe whose reader goes away
 * before reading anything (`litepool ... | true`), a path is a file opened for writing.
 */
function litepoolWithStdout(stdout: 'closed' | string, ...args: string[]): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const fd = stdout === 'closed' ? undefined : openSync(stdout, 'w');
    const stdio: StdioOptions = ['ignore', fd ?? 'pipe', 'pipe'];
    const child = spawn(bin, args, { cwd: project, stdio });
    if (fd !== undefined) closeSync(fd);
    child.stdout?.destroy(); // the reader is gone: the child's writes to its stdout fail with EPIPE
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** A directory of `count` migrations, each SELECT <n>;. */
function manyMigrations(name: string, count: number): string {
  const dir = join(project, name);
  mkdirSync(dir);
  for (let i = 1; i <= count; i++) writeFileSync(join(dir, `1.${i}.0__m${i}.sql`), `SELECT ${i};\n`);
  return dir;
}

describe('litepool command line', () => {
  it('prints help, and exits 2 on usage errors', async () => {
    const help = await litepool('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: litepool <command>');
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 failure');
    for (const args of [[], ['frobnicate'], ['migrate', '--db', 'x.db'], ['migrate', '--dir', 'm', '--db', 'x.db', '--bogus'], ['status', '--db', 'x.db', '--dir', 'm', '--to', '1.0.0'], ['migrate', '--db', 'x.db', '--dir', 'm', '--lock-timeout', 'soon'], ['repair', '--db', 'x.db', '--dir', 'm', '--version', '1.0.0', '--action', 'drop'], ['new', '--dir', 'm']]) {
      const outcome = await litepool(...args);
      expect(outcome.code, args.join(' ')).toBe(2);
      expect(outcome.stderr).toMatch(/^litepool: /);
    }
    const badVersion = await litepool('migrate', '--db', 'v.db', '--dir', 'm', '--to', '1.0', '--json');
    expect(badVersion.code).toBe(2);
    expect(JSON.parse(badVersion.stdout).error).toMatchObject({ code: 'USAGE', message: "--to must be a version MAJOR.MINOR.PATCH[-prerelease] without leading zeros, got '1.0'" });
  });

  it('new, plan, migrate, status, a refused edit, repair, down: with the documented exit codes', async () => {
    const dir = join(project, 'migrations');
    const created = await litepool('new', 'create_users', '--dir', 'migrations');
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toBe(join(dir, '1.0.0__create_users.sql'));
    // The template runs as it is (it holds only comments) and says where the directives go.
    const template = readFileSync(join(dir, '1.0.0__create_users.sql'), 'utf8');
    expect(template).toContain('make the first\n-- line of the file: -- litepool:no-transaction');
    expect((await litepool('plan', '--db', 'template.db', '--dir', 'migrations')).code).toBe(0);
    writeFileSync(join(dir, '1.0.0__create_users.sql'), 'CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n-- litepool:down\nDROP TABLE users;\n');
    expect((await litepool('new', 'add_email', '--dir', 'migrations')).stdout.trim()).toBe(join(dir, '1.1.0__add_email.sql'));
    writeFileSync(join(dir, '1.1.0__add_email.sql'), 'ALTER TABLE users ADD COLUMN email TEXT;\n-- litepool:down\nALTER TABLE users DROP COLUMN email;\n');
    const patch = JSON.parse((await litepool('new', 'fix', '--dir', 'migrations', '--bump', 'patch', '--json')).stdout);
    expect(patch).toMatchObject({ version: '1.1.1', name: 'fix' });
    writeFileSync(patch.file, 'CREATE INDEX users_by_name ON users (name);\n-- litepool:down\nDROP INDEX users_by_name;\n');
    const twice = await litepool('new', 'fix', '--dir', 'migrations', '--version', '1.1.1');
    expect(twice.code).toBe(1); // the file exists: never overwritten

    const plan = await litepool('plan', '--db', 'app.db', '--dir', 'migrations');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/would apply, in this order:\n {2}1\.0\.0 +create_users\n {2}1\.1\.0 +add_email\n {2}1\.1\.1 +fix/);
    expect(existsSync(join(project, 'app.db'))).toBe(false); // plan created nothing

    const migrated = await litepool('migrate', '--db', 'app.db', '--dir', 'migrations', '--to', '1.1.0');
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(/applied +1\.0\.0 +create_users/);
    expect(migrated.stdout).toContain('not applied (above --to): 1.1.1');
    const rest = JSON.parse((await litepool('migrate', '--db', 'app.db', '--dir', 'migrations', '--json')).stdout);
    expect(rest.applied.map((m: { version: string }) => m.version)).toEqual(['1.1.1']);
    expect(rest.current).toBe('1.1.1');

    const status = JSON.parse((await litepool('status', '--db', 'app.db', '--dir', 'migrations', '--json')).stdout);
    expect(status.map((s: { version: string; state: string }) => `${s.version} ${s.state}`)).toEqual(['1.0.0 applied', '1.1.0 applied', '1.1.1 applied']);
    const text = await litepool('status', '--db', 'app.db', '--dir', 'migrations');
    expect(text.stdout).toMatch(/^VERSION +NAME +STATE +APPLIED AT/);

    writeFileSync(join(dir, '1.1.0__add_email.sql'), `${readFileSync(join(dir, '1.1.0__add_email.sql'), 'utf8')}\n`);
    const refused = await litepool('migrate', '--db', 'app.db', '--dir', 'migrations');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('1.1.0__add_email.sql has changed since it was applied');
    expect(refused.stderr).toContain('(LITEPOOL_MIGRATION_CHECKSUM)');
    const asJson = JSON.parse((await litepool('migrate', '--db', 'app.db', '--dir', 'migrations', '--json')).stdout);
    expect(asJson.error).toMatchObject({ code: 'LITEPOOL_MIGRATION_CHECKSUM', version: '1.1.0', file: '1.1.0__add_email.sql' });

    const repaired = await litepool('repair', '--db', 'app.db', '--dir', 'migrations', '--version', '1.1.0', '--action', 'accept-checksum');
    expect(repaired.code).toBe(0);
    expect(repaired.stdout.trim()).toBe('1.1.0  add_email: applied');
    expect((await litepool('migrate', '--db', 'app.db', '--dir', 'migrations')).stdout).toContain('nothing to apply');

    const dry = await litepool('down', '--db', 'app.db', '--dir', 'migrations', '--to', '1.0.0', '--dry-run');
    expect(dry.stdout).toMatch(/would revert, in this order:\n {2}1\.1\.1 +fix\n {2}1\.1\.0 +add_email/);
    const down = await litepool('down', '--db', 'app.db', '--dir', 'migrations', '--to', '1.0.0');
    expect(down.code).toBe(0);
    expect(down.stdout).toContain('database at 1.0.0');
    expect((await litepool('repair', '--db', 'app.db', '--dir', 'migrations', '--version', '3.0.0', '--action', 'forget')).code).toBe(1);
    // Through npx, as the docs show it.
    const viaNpx = execFileSync('npx', ['--no-install', 'litepool', 'plan', '--db', 'app.db', '--dir', 'migrations', '--json'], { cwd: project, encoding: 'utf8' });
    expect(JSON.parse(viaNpx).pending.map((m: { version: string }) => m.version)).toEqual(['1.1.0', '1.1.1']);
  });

  it('refuses a .ts migration with a clear message on a Node.js that cannot strip types', async () => {
    const dir = join(project, 'typed');
    mkdirSync(dir);
    writeFileSync(join(dir, '1.0.0__typed.ts'), 'export async function up(tx: unknown): Promise<void> {}\n');
    const outcome = await litepool('migrate', '--db', 'typed.db', '--dir', 'typed');
    const major = Number(process.versions.node.split('.')[0]);
    const minor = Number(process.versions.node.split('.')[1]);
    if (major < 22 || (major === 22 && minor < 18)) {
      expect(outcome.code).toBe(1);
      expect(outcome.stderr).toContain('cannot load 1.0.0__typed.ts');
      expect(outcome.stderr).toContain('does not run TypeScript by itself');
      // Refused before anything ran.
      const status = JSON.parse((await litepool('status', '--db', 'typed.db', '--dir', 'typed', '--json')).stdout);
      expect(status).toEqual([{ version: '1.0.0', name: 'typed', kind: 'migration', state: 'pending' }]);
    } else {
      expect(outcome.code).toBe(0);
    }
  });

  it("stdout whose reader went away (EPIPE): no crash, no stack, the command's own exit code; a long result is flushed whole", async () => {
    // status --json of 1500 migrations is some 150 KB, more than a pipe holds (64 KiB): written to
    // a pipe nobody reads any more, a write fails with EPIPE whenever the reader went away.
    manyMigrations('many', 1500);
    const status = await litepoolWithStdout('closed', 'status', '--db', 'many.db', '--dir', 'many', '--json');
    expect(status).toEqual({ code: 0, signal: null, stderr: '' });
    // migrate applies everything and succeeds, though nobody reads what it prints.
    manyMigrations('some', 100);
    const migrated = await litepoolWithStdout('closed', 'migrate', '--db', 'some.db', '--dir', 'some');
    expect(migrated).toEqual({ code: 0, signal: null, stderr: '' });
    const after = JSON.parse((await litepool('status', '--db', 'some.db', '--dir', 'some', '--json')).stdout);
    expect(after.filter((s: { state: string }) => s.state === 'applied')).toHaveLength(100);
    // A failure is still reported on stderr (and its exit code kept) when stdout's reader is gone.
    const failed = await litepoolWithStdout('closed', 'migrate', '--db', 'some.db', '--dir', 'no-such-dir', '--json');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^litepool: cannot read the migrations directory .*no-such-dir.* \(LITEPOOL_MIGRATION_FAILED\)\n$/);
    // Read to the end, the same long result arrives whole: the exit does not cut a pipe short.
    const whole = await litepool('status', '--db', 'many.db', '--dir', 'many', '--json');
    expect(whole.code).toBe(0);
    expect(JSON.parse(whole.stdout)).toHaveLength(1500);
  });

  it.skipIf(!existsSync('/dev/full'))('stdout that cannot be written (ENOSPC): one stderr line without a stack, exit 1; the migrations stay applied', async () => {
    manyMigrations('full', 20);
    const migrated = await litepoolWithStdout('/dev/full', 'migrate', '--db', 'full.db', '--dir', 'full', '--json');
    expect(migrated.code).toBe(1);
    expect(migrated.signal).toBeNull();
    expect(migrated.stderr).toBe('litepool: cannot write to stdout: ENOSPC: no space left on device, write (ENOSPC)\n');
    const status = JSON.parse((await litepool('status', '--db', 'full.db', '--dir', 'full', '--json')).stdout);
    expect(status.filter((s: { state: string }) => s.state === 'applied')).toHaveLength(20);
    // A command that failed keeps its own exit code (2 for a usage error), its message on stderr.
    const usage = await litepoolWithStdout('/dev/full', 'migrate', '--db', 'full.db', '--json');
    expect(usage.code).toBe(2);
    expect(usage.stderr.split('\n')[0]).toBe('litepool: migrate needs --dir (USAGE)');
    expect(usage.stderr).not.toMatch(/\n\s+at /);
  });

  it('the packed tarball carries the bin, with its #! line', () => {
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
    expect(manifest.bin).toEqual({ litepool: './dist/cli/main.js' });
    const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: pkg, encoding: 'utf8' }));
    const files = (packed[0].files as { path: string }[]).map((f) => f.path);
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('dist/migrations/runner.js');
    expect(readFileSync(join(pkg, 'dist', 'cli', 'main.js'), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(readdirSync(join(pkg, 'dist', 'cli')).sort()).toContain('commands.js');
  });
});

/** Runs the command line in this process (lib/cli/commands.ts), capturing what it prints. */
async function inProcess(...args: string[]): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, { stdout: { write: (text: string) => (stdout += text) }, stderr: { write: (text: string) => (stderr += text) } });
  return { code, stdout, stderr };
}

describe('litepool command line: failures', () => {
  it('--json prints the error on stdout with a stable shape (null where absent), and the message on stderr as well', async () => {
    const dir = scratch.files({ '1.0.0__ok.sql': 'CREATE TABLE ok (x);\n', '1.1.0__bad.sql': 'CREATE TABLE ok (x);\n' });
    const db = join(scratch.dir, 'json.db');
    const failed = await inProcess('migrate', '--db', db, '--dir', dir, '--json');
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toEqual({
      error: {
        code: 'LITEPOOL_MIGRATION_FAILED',
        message: expect.stringContaining('1.1.0__bad.sql failed at statement 1 (line 1): table ok already exists'),
        version: '1.1.0',
        file: '1.1.0__bad.sql',
        statement: 'CREATE TABLE ok (x);',
      },
    });
    // stderr holds one line: the statement excerpt that follows a line break in the message joins it.
    expect(failed.stderr).toBe('litepool: 1.1.0__bad.sql failed at statement 1 (line 1): table ok already exists | CREATE TABLE ok (x); (LITEPOOL_MIGRATION_FAILED)\n');
    expect(JSON.parse(failed.stdout).error.message).toContain('table ok already exists\n  CREATE TABLE ok (x);');
    expect(failed.stderr).not.toMatch(/\n\s+at /); // no stack trace

    const usage = await inProcess('migrate', '--db', db, '--json');
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toEqual({ error: { code: 'USAGE', message: 'migrate needs --dir', version: null, file: null, statement: null } });
    expect(usage.stderr).toBe('litepool: migrate needs --dir (USAGE)\nRun litepool --help for the commands and options.\n');
  });

  it('every usage error is USAGE, parseArgs errors included, on one stderr line and in the JSON', async () => {
    const dir = scratch.files({ '1.0.0__a.sql': 'CREATE TABLE a (x);\n' });
    const db = join(scratch.dir, 'usage.db');
    const cases = [
      ['migrate', '--db', db, '--dir', dir, '--bogus'], // ERR_PARSE_ARGS_UNKNOWN_OPTION
      ['migrate', '--dir', dir, '--db', '--json'], // ERR_PARSE_ARGS_INVALID_OPTION_VALUE, a three-line message
      ['migrate', '--db', db, '--dir', dir, '--json=yes'], // a value for a boolean
      ['migrate', '--db', db, '--dir', dir, '--to', '1.0.0', '--to', '2.0.0'],
      ['status', '--db', db, '--dir', dir, '--json', '--json'],
      ['migrate', '--db', ':memory:', '--dir', dir],
      ['new', 'add', 'orders', '--dir', dir],
    ];
    for (const args of cases) {
      const outcome = await inProcess(...args, '--json');
      const at = args.join(' ');
      expect(outcome.code, at).toBe(2);
      expect(JSON.parse(outcome.stdout).error.code, at).toBe('USAGE');
      const lines = outcome.stderr.split('\n');
      expect(lines, at).toHaveLength(3); // the message line, the --help line, and the final newline
      expect(lines[0], at).toMatch(/^litepool: .+ \(USAGE\)$/);
      expect(lines[1], at).toBe('Run litepool --help for the commands and options.');
    }
    expect(existsSync(db)).toBe(false);
    expect(readdirSync(dir)).toEqual(['1.0.0__a.sql']); // new wrote nothing for 'add orders'
  });

  it("refuses a repeated option, --db :memory: and new's second argument, naming them", async () => {
    const dir = scratch.files({ '1.0.0__a.sql': 'CREATE TABLE a (x);\n' });
    const db = join(scratch.dir, 'named.db');
    const twice = await inProcess('migrate', '--db', db, '--dir', dir, '--db', join(scratch.dir, 'other.db'));
    expect(twice.stderr).toContain('litepool: --db is given more than once (USAGE)');
    expect((await inProcess('status', '--db', db, '--dir', dir, '-h', '--help')).stderr).toContain('--help is given more than once');
    for (const command of ['migrate', 'plan', 'status']) {
      const memory = await inProcess(command, '--db', ':memory:', '--dir', dir);
      expect(memory.code, command).toBe(2);
      expect(memory.stderr).toContain("--db must be a database file, not ':memory:' (for a file of that name, write ./:memory:)");
    }
    // A file of that name, given as a path, is a file like any other.
    const named = join(scratch.dir, ':memory:');
    expect((await inProcess('migrate', '--db', named, '--dir', dir)).code).toBe(0);
    expect(existsSync(named)).toBe(true);
    const stray = await inProcess('new', 'add', 'orders', '--dir', dir);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain("litepool: unexpected argument 'orders' (USAGE)");
    expect(existsSync(db)).toBe(false);
  });

  it('--help prints the text help, also with --json, and names every option each command takes', async () => {
    const help = await inProcess('--help', '--json');
    expect(help).toEqual({ code: 0, stdout: USAGE, stderr: '' });
    expect((await inProcess('plan', '-h')).stdout).toBe(USAGE);
    const commands = USAGE.slice(USAGE.indexOf('Commands:'), USAGE.indexOf('Options:'));
    expect(commands).toMatch(/ {2}plan .*\n +\[--to <version>\] \[--allow-out-of-order\]\n/);
    expect(commands).toMatch(/ {2}down --to <ver> .*\n +\[--lock-timeout <ms>\] \[--dry-run\]\n/);
    expect(commands).toMatch(/ {2}repair --version <ver> .*\n.*\n +\[--lock-timeout <ms>\]\n/);
  });

  it('names --lock-timeout when its value is out of range; usage errors create no database; down and repair refuse a missing one', async () => {
    const dir = scratch.files({ '1.0.0__a.sql': 'CREATE TABLE a (x);\n-- litepool:down\nDROP TABLE a;\n' });
    for (const value of ['0', '2147483648', '-5', '1e3']) {
      const outcome = await inProcess('migrate', '--db', join(scratch.dir, 'lt.db'), '--dir', dir, `--lock-timeout=${value}`);
      expect(outcome.code, value).toBe(2);
      expect(outcome.stderr, value).toContain(`--lock-timeout must be a number of milliseconds from 1 to 2147483647, got '${value}'`);
    }
    // A usage error is found before the database is opened: migrate creates no file for it.
    const unborn = join(scratch.dir, 'unborn.db');
    for (const args of [['--to', '1.0'], ['--lock-timeout', '0'], ['--to', 'v2']]) {
      expect((await inProcess('migrate', '--db', unborn, '--dir', dir, ...args)).code, args.join(' ')).toBe(2);
    }
    for (const args of [['repair', '--version', '1.0', '--action', 'forget'], ['repair', '--version', '1.0.0', '--action', 'drop'], ['down', '--to', 'x']]) {
      const outcome = await inProcess(...args, '--db', unborn, '--dir', dir);
      expect(outcome.code, args.join(' ')).toBe(2);
      expect(outcome.stderr).not.toContain('does not exist');
    }
    expect(existsSync(unborn)).toBe(false);
    const missing = join(scratch.dir, 'missing.db');
    for (const args of [['down', '--to', '0.0.0'], ['repair', '--version', '1.0.0', '--action', 'forget']]) {
      const outcome = await inProcess(...args, '--db', missing, '--dir', dir);
      expect(outcome.code).toBe(1);
      expect(outcome.stderr).toBe(`litepool: the database ${missing} does not exist (${args[0]} does not create it)\n`);
    }
    expect(existsSync(missing)).toBe(false);
  });

  it('migrate --dry-run creates no database, like plan; a migrate refused before anything ran creates none, and keeps one that existed', async () => {
    const dir = scratch.files({ '1.0.0__a.sql': 'CREATE TABLE a (x);\n' });
    const files = (db: string) => [db, `${db}-wal`, `${db}-shm`].filter((file) => existsSync(file));
    const dry = join(scratch.dir, 'dry.db');
    const outcome = await inProcess('migrate', '--dry-run', '--db', dry, '--dir', dir);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toMatch(/would apply, in this order:\n {2}1\.0\.0 +a/);
    expect(JSON.parse((await inProcess('migrate', '--dry-run', '--db', dry, '--dir', dir, '--json')).stdout)).toMatchObject({ applied: [], dryRun: true });
    expect(files(dry)).toEqual([]);

    // Refused by what the dry run checks: a missing directory, a file that is no migration, a
    // statement a migration may not hold. The database file is not created.
    const unborn = join(scratch.dir, 'refused.db');
    const noDir = await inProcess('migrate', '--db', unborn, '--dir', join(scratch.dir, 'no-such-dir'));
    expect(noDir.code).toBe(1);
    expect(noDir.stderr).toMatch(/^litepool: cannot read the migrations directory .*no-such-dir/);
    const junk = scratch.files({ 'notes.sql': 'SELECT 1;\n' });
    expect((await inProcess('migrate', '--db', unborn, '--dir', junk)).stderr).toContain('notes.sql is not a migration file name');
    const control = scratch.files({ '1.0.0__a.sql': 'CREATE TABLE a (x);\n', '1.1.0__b.sql': 'BEGIN;\nCREATE TABLE b (x);\nCOMMIT;\n' });
    const refused = await inProcess('migrate', '--db', unborn, '--dir', control, '--json');
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error).toMatchObject({ code: 'LITEPOOL_MIGRATION_FAILED', file: '1.1.0__b.sql' });
    expect(files(unborn)).toEqual([]);

    // A database that exists is never removed, whatever fails.
    const existing = join(scratch.dir, 'existing.db');
    expect((await inProcess('migrate', '--db', existing, '--dir', dir)).code).toBe(0);
    expect((await inProcess('migrate', '--db', existing, '--dir', join(scratch.dir, 'no-such-dir'))).code).toBe(1);
    expect(existsSync(existing)).toBe(true);
    const status = JSON.parse((await inProcess('status', '--db', existing, '--dir', dir, '--json')).stdout);
    expect(status).toMatchObject([{ version: '1.0.0', state: 'applied' }]);
  });

  it('new refuses a version another file has, and --bump with --version; the next version follows semver', async () => {
    const dir = scratch.files({ '1.0.0__a.sql': 'SELECT 1;\n' });
    const taken = await inProcess('new', 'b', '--dir', dir, '--version', '1.0.0');
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('version 1.0.0 is taken by 1.0.0__a.sql');
    expect(readdirSync(dir)).toEqual(['1.0.0__a.sql']);
    expect((await inProcess('new', 'b', '--dir', dir, '--version', '2.0.0', '--bump', 'patch')).code).toBe(2);
    expect((await inProcess('new', 'rc', '--dir', dir, '--version', '2.0.0-rc.1')).code).toBe(0);
    const next = await inProcess('new', 'final', '--dir', dir, '--bump', 'major', '--json');
    expect(JSON.parse(next.stdout)).toMatchObject({ version: '2.0.0', name: 'final' }); // the release of 2.0.0-rc.1
  });
});
