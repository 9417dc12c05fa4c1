// Owns the command line `litepool migrate | plan | status | down | repair | new`: parsing the
// arguments, opening the database, running the command through the public API, printing the
// result (text, or JSON with --json) and choosing the exit code: 0 ok, 1 failure, 2 usage. A
// command that can never finish (what it awaits keeps nothing alive: the process is about to exit
// with the command unsettled) is stopped, and fails with a line saying so.

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MigrationError, open, type MigrateOptions, type Pool } from '../index.ts';
import { migrateNewDatabase } from '../migrations/new-database.ts';
import { readDirectory } from '../migrations/source.ts';
import { NAME } from '../migrations/source.ts';
import { awaitedCode } from '../migrations/awaited-code.ts';
import { bumpVersion, compareVersions, isVersion } from '../migrations/semver.ts';
import { formatDown, formatMigrate, formatStatus } from './format.ts';

/** Where the command writes. */
export interface Streams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

export const USAGE = `Usage: litepool <command> [options]

Commands:
  migrate            apply pending migrations        [--to <version>] [--allow-out-of-order]
                                                     [--lock-timeout <ms>] [--dry-run]
  plan               show what migrate would apply; applies nothing
                                                     [--to <version>] [--allow-out-of-order]
  status             list every migration and its state
  down --to <ver>    revert applied migrations above <ver>, newest first
                                                     [--lock-timeout <ms>] [--dry-run]
  repair --version <ver> --action accept-checksum|forget|mark-applied
                     fix one ledger row (see docs/migrations.md, "Recovery")
                                                     [--lock-timeout <ms>]
  new <name>         write the next migration file   [--bump major|minor|patch | --version <ver>]

Options:
  --db <file>        the database file, not :memory: (all commands but new)
  --dir <directory>  the migrations directory (all commands)
  --json             print the result, or the error, as JSON on stdout
  -h, --help         print this help (as text, also with --json)

Each option may be given once.

Exit codes: 0 ok, 1 failure (a migration failed or was refused), 2 usage error.
`;

class UsageError extends Error {}

const OPTIONS = {
  db: { type: 'string' },
  dir: { type: 'string' },
  json: { type: 'boolean' },
  to: { type: 'string' },
  'allow-out-of-order': { type: 'boolean' },
  'lock-timeout': { type: 'string' },
  'dry-run': { type: 'boolean' },
  version: { type: 'string' },
  action: { type: 'string' },
  bump: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Which options each command takes (besides --json and --help). */
const ALLOWED: Record<string, readonly string[]> = {
  migrate: ['db', 'dir', 'to', 'allow-out-of-order', 'lock-timeout', 'dry-run'],
  plan: ['db', 'dir', 'to', 'allow-out-of-order'],
  status: ['db', 'dir'],
  down: ['db', 'dir', 'to', 'lock-timeout', 'dry-run'],
  repair: ['db', 'dir', 'version', 'action', 'lock-timeout'],
  new: ['dir', 'bump', 'version'],
};

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };

function required(values: Values, name: 'db' | 'dir' | 'to' | 'version' | 'action', command: string): string {
  const value = values[name];
  if (value === undefined || value === '') throw new UsageError(`${command} needs --${name}`);
  return value;
}

const MAX_MS = 2 ** 31 - 1;

function lockTimeout(values: Values): { lockTimeout?: number } {
  const text = values['lock-timeout'];
  if (text === undefined) return {};
  const ms = Number(text);
  if (!/^\d+$/.test(text) || ms < 1 || ms > MAX_MS) throw new UsageError(`--lock-timeout must be a number of milliseconds from 1 to ${MAX_MS}, got '${text}'`);
  return { lockTimeout: ms };
}

/** The --db file: `:memory:` would migrate a database that vanishes when the command ends. */
function databasePath(values: Values, command: string): string {
  const path = required(values, 'db', command);
  if (path === ':memory:') throw new UsageError("--db must be a database file, not ':memory:' (for a file of that name, write ./:memory:)");
  return path;
}

/** Refuses the arguments after the first `count` (new takes its name; the others take none). */
function noneBeyond(positionals: readonly string[], count: number): void {
  if (positionals.length > count) throw new UsageError(`unexpected argument '${positionals[count]}'`);
}

/** Refuses an option given twice: which of the two values was meant cannot be known. */
function onceEach(tokens: readonly { kind: string; name?: string; rawName?: string }[]): void {
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name === undefined) continue;
    if (seen.has(token.name)) throw new UsageError(`${token.rawName ?? `--${token.name}`} is given more than once`);
    seen.add(token.name);
  }
}

/** A failure that is no usage error (exit code 1), printed as its message alone. */
class CommandError extends Error {}

/**
 * Opens the database: plan, status and migrate --dry-run read a missing file as the empty
 * database it would be, migrate creates it, down and repair refuse a missing one.
 */
async function openDatabase(path: string, command: string, dryRun: boolean): Promise<Pool> {
  if (!existsSync(path)) {
    if (command === 'plan' || command === 'status' || (command === 'migrate' && dryRun)) return open(':memory:');
    if (command !== 'migrate') throw new CommandError(`the database ${resolve(path)} does not exist (${command} does not create it)`);
  }
  return open(path, { readers: 1, create: command === 'migrate' });
}

/**
 * Before migrate creates a missing database file: the dry run against the empty database the file
 * would be (what plan does). What it refuses (a directory that cannot be read, a file that is no
 * migration, a module that does not load, a statement a migration may not hold) fails the command
 * before the file exists. A failure after that is handled by migrateNewDatabase: the file is
 * built under a temporary name and appears only once migrate is done.
 */
async function checkBeforeCreating(path: string, options: MigrateOptions): Promise<void> {
  if (existsSync(path)) return;
  const empty = await open(':memory:');
  try {
    await empty.migrate({ ...options, dryRun: true });
  } finally {
    await empty.close();
  }
}

async function newFile(name: string | undefined, values: Values, out: Streams, json: boolean): Promise<void> {
  if (name === undefined) throw new UsageError('new needs a name: litepool new <name> --dir <directory>');
  if (!NAME.test(name)) throw new UsageError(`the name '${name}' may only hold letters, digits, _, - and .`);
  const dir = resolve(required(values, 'dir', 'new'));
  const bump = values.bump ?? 'minor';
  if (bump !== 'major' && bump !== 'minor' && bump !== 'patch') throw new UsageError(`--bump must be major, minor or patch, got '${bump}'`);
  let version = values.version;
  if (version !== undefined && values.bump !== undefined) throw new UsageError('new takes --bump or --version, not both');
  if (version !== undefined && !isVersion(version)) throw new UsageError(`--version must be MAJOR.MINOR.PATCH[-prerelease], got '${version}'`);
  const source = existsSync(dir) ? await readDirectory(dir) : undefined;
  if (version === undefined) {
    const newest = source && [...source.migrations, ...source.baselines].map((item) => item.version).sort(compareVersions).at(-1);
    version = bumpVersion(newest, bump);
  }
  const taken = source?.migrations.find((item) => item.version === version);
  if (taken) throw new CommandError(`version ${version} is taken by ${taken.file} in ${dir}: one version, one migration`);
  await mkdir(dir, { recursive: true });
  const file = `${version}__${name}.sql`;
  const path = join(dir, file);
  const text =
    `-- ${file}\n` +
    '-- Runs in one transaction together with its ledger row. To make it revertible, put the\n' +
    '-- statements that undo it after a line holding only: -- litepool:down\n' +
    '-- To run it outside a transaction (a table rebuild with foreign keys off), make the first\n' +
    '-- line of the file: -- litepool:no-transaction\n' +
    '-- See docs/migrations.md.\n\n';
  await writeFile(path, text, { flag: 'wx' });
  out.stdout.write(json ? `${JSON.stringify({ file: path, version, name }, null, 2)}\n` : `${path}\n`);
}

/** A version given on the command line (--to, --version), or a usage error naming the option. */
function versionOption(values: Values, name: 'to' | 'version', command: string, needed: boolean): string | undefined {
  const value = values[name];
  if (value === undefined && !needed) return undefined;
  const text = required(values, name, command);
  if (!isVersion(text)) throw new UsageError(`--${name} must be a version MAJOR.MINOR.PATCH[-prerelease] without leading zeros, got '${text}'`);
  return text;
}

async function execute(command: string, positionals: string[], values: Values, out: Streams, signal: AbortSignal): Promise<void> {
  const json = values.json === true;
  const print = (result: unknown, text: string) => out.stdout.write(`${json ? JSON.stringify(result, null, 2) : text}\n`);
  noneBeyond(positionals, command === 'new' ? 1 : 0);
  if (command === 'new') return newFile(positionals[0], values, out, json);
  // Every value is checked before the database is opened: a usage error creates no file.
  const dir = required(values, 'dir', command);
  const path = databasePath(values, command);
  const to = versionOption(values, 'to', command, command === 'down');
  const version = command === 'repair' ? versionOption(values, 'version', command, true)! : undefined;
  const action = command === 'repair' ? required(values, 'action', command) : undefined;
  if (action !== undefined && action !== 'accept-checksum' && action !== 'forget' && action !== 'mark-applied') {
    throw new UsageError(`--action must be accept-checksum, forget or mark-applied, got '${action}'`);
  }
  const wait = lockTimeout(values);
  const dryRun = command === 'plan' || values['dry-run'] === true;
  const migrateOptions: MigrateOptions = { dir, ...(to === undefined ? {} : { to }), dryRun, allowOutOfOrder: values['allow-out-of-order'] === true, ...wait, signal };
  if (command === 'migrate' && !dryRun && !existsSync(path)) {
    await checkBeforeCreating(path, migrateOptions);
    const report = await migrateNewDatabase(path, migrateOptions, (file) => open(file, { readers: 1, create: true }));
    // Undefined: another process created the file meanwhile; it is migrated as it is, below.
    if (report !== undefined) return void print(report, formatMigrate(report));
  }
  const db = await openDatabase(path, command, dryRun);
  try {
    if (command === 'migrate' || command === 'plan') {
      const report = await db.migrate(migrateOptions);
      print(report, formatMigrate(report));
    } else if (command === 'status') {
      const entries = await db.migrations.status({ dir });
      print(entries, formatStatus(entries));
    } else if (command === 'down') {
      const report = await db.migrations.down({ dir, to: to!, dryRun: values['dry-run'] === true, ...wait, signal });
      print(report, formatDown(report));
    } else {
      const entry = await db.migrations.repair({ dir, version: version!, action: action as 'accept-checksum' | 'forget' | 'mark-applied', ...wait });
      print({ version, action, status: entry ?? null }, entry ? `${entry.version}  ${entry.name}: ${entry.state}` : `${version}: not in the ledger`);
    }
  } finally {
    await db.close();
  }
}

/** The message on one line: a failing statement's excerpt, or a parseArgs hint, follows a line break. */
function oneLine(message: string): string {
  return message.trim().replace(/\s*\n\s*/g, ' | ');
}

function isUsage(error: unknown): boolean {
  if (error instanceof UsageError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('ERR_PARSE_ARGS') || code === 'LITEPOOL_INVALID_ARGUMENT' || code === 'LITEPOOL_OUT_OF_RANGE');
}

/** Subscribes a listener to the process's 'beforeExit' (its event loop is empty); returns what unsubscribes it. */
export type ExitWatch = (listener: () => void) => () => void;

/**
 * The error of a command that can never finish: the process was about to exit (its event loop was
 * empty) while the command still waited, for migration code that awaits what nothing will settle.
 * `stopped`: the command was stopped through its signal (what ran rolled back); else it could not be.
 */
function neverFinished(stopped: boolean): MigrationError {
  const code = awaitedCode();
  const only = code.length === 1 ? code[0] : undefined;
  const what = code.map((entry) => (entry.importing ? `the import of ${entry.file} (its top-level code)` : entry.file)).join(', ') || 'it';
  const end = !stopped
    ? 'it could not be stopped; the database is closed as the process exits'
    : code.length > 0
      ? 'it was stopped and what that migration ran was rolled back'
      : 'it was stopped';
  return new MigrationError('LITEPOOL_MIGRATION_FAILED', `the command never finished: ${what} awaited something that never settles; ${end}`, {
    ...(only ? { file: only.file, version: only.version } : {}),
  });
}

/**
 * Runs the command line `argv` (without node and the script); resolves with the exit code. With
 * `onExit` (the bin gives the process's 'beforeExit'), a command still unsettled when the event
 * loop is empty can never finish: it is aborted (its migration rolls back, the database closes,
 * a new database's temporary file goes) and fails with that as its error; if the abort does not
 * end it either (a module's top-level await), it fails without waiting for it.
 */
export async function run(argv: readonly string[], out: Streams, onExit?: ExitWatch): Promise<number> {
  let json = argv.includes('--json');
  const stop = new AbortController();
  let unwatch: (() => void) | undefined;
  const stuck = new Promise<never>((_, reject) => {
    unwatch = onExit?.(() => {
      if (!stop.signal.aborted) {
        stop.abort(neverFinished(true));
        setImmediate(() => {}); // one more turn: the process empties its event loop again if nothing ends the command
      } else {
        reject(neverFinished(false));
      }
    });
  });
  try {
    const { values, positionals, tokens } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
    json = values.json === true;
    onceEach(tokens);
    const [command, ...rest] = positionals;
    if (values.help || command === 'help') {
      out.stdout.write(USAGE);
      return 0;
    }
    if (command === undefined) throw new UsageError('no command given');
    const allowed = ALLOWED[command];
    if (!allowed) throw new UsageError(`unknown command '${command}'`);
    for (const key of Object.keys(values)) {
      if (key !== 'json' && key !== 'help' && !allowed.includes(key)) throw new UsageError(`${command} does not take --${key}`);
    }
    await Promise.race([execute(command, rest, values as Values, out, stop.signal), stuck]);
    return 0;
  } catch (error) {
    const usage = isUsage(error);
    const message = error instanceof Error ? error.message : String(error);
    const given = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; version?: unknown; file?: unknown; statement?: unknown };
    // Every usage error is USAGE, whatever raised it (this file, node's parseArgs, an option check).
    const code = usage ? 'USAGE' : typeof given.code === 'string' ? given.code : undefined;
    // People read stderr, with or without --json; with --json, programs read the error on stdout.
    out.stderr.write(`litepool: ${oneLine(message)}${code ? ` (${code})` : ''}\n`);
    if (usage) out.stderr.write('Run litepool --help for the commands and options.\n');
    if (json) {
      const text = (value: unknown) => (typeof value === 'string' ? value : null);
      const detail = { code: code ?? 'ERROR', message, version: text(given.version), file: text(given.file), statement: text(given.statement) };
      out.stdout.write(`${JSON.stringify({ error: detail }, null, 2)}\n`);
    }
    return usage ? 2 : 1;
  } finally {
    unwatch?.();
  }
}
