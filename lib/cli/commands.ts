// Owns the command line `litepool migrate | plan | status | down | repair | new`: parsing the
// arguments, opening the database, running the command through the public API, printing the
// result (text, or JSON with --json) and choosing the exit code: 0 ok, 1 failure, 2 usage.

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { open, type Pool } from '../index.ts';
import { readDirectory } from '../migrations/source.ts';
import { NAME } from '../migrations/source.ts';
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
  plan               show what migrate would apply; changes nothing   [--to <version>]
  status             list every migration and its state
  down --to <ver>    revert applied migrations above <ver>, newest first  [--dry-run]
  repair --version <ver> --action accept-checksum|forget|mark-applied
                     fix one ledger row (see docs/migrations.md, "Recovery")
  new <name>         write the next migration file   [--bump major|minor|patch] [--version <ver>]

Options:
  --db <file>        the database (all commands but new)
  --dir <directory>  the migrations directory (all commands)
  --json             print the result as JSON
  -h, --help         print this help

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

function lockTimeout(values: Values): { lockTimeout?: number } {
  const text = values['lock-timeout'];
  if (text === undefined) return {};
  if (!/^\d+$/.test(text)) throw new UsageError(`--lock-timeout must be a number of milliseconds, got '${text}'`);
  return { lockTimeout: Number(text) };
}

/** Opens the database; plan and status read a missing file as the empty database it would be. */
async function openDatabase(path: string, command: string): Promise<Pool> {
  const readOnly = command === 'plan' || command === 'status';
  if (readOnly && !existsSync(path)) return open(':memory:');
  return open(path, { readers: 1, create: command === 'migrate' });
}

async function newFile(name: string | undefined, values: Values, out: Streams, json: boolean): Promise<void> {
  if (name === undefined) throw new UsageError('new needs a name: litepool new <name> --dir <directory>');
  if (!NAME.test(name)) throw new UsageError(`the name '${name}' may only hold letters, digits, _, - and .`);
  const dir = resolve(required(values, 'dir', 'new'));
  const bump = values.bump ?? 'minor';
  if (bump !== 'major' && bump !== 'minor' && bump !== 'patch') throw new UsageError(`--bump must be major, minor or patch, got '${bump}'`);
  let version = values.version;
  if (version !== undefined && !isVersion(version)) throw new UsageError(`--version must be MAJOR.MINOR.PATCH[-prerelease], got '${version}'`);
  if (version === undefined) {
    let newest: string | undefined;
    if (existsSync(dir)) {
      const source = await readDirectory(dir);
      newest = [...source.migrations, ...source.baselines].map((item) => item.version).sort(compareVersions).at(-1);
    }
    version = bumpVersion(newest, bump);
  }
  await mkdir(dir, { recursive: true });
  const file = `${version}__${name}.sql`;
  const path = join(dir, file);
  const text =
    `-- ${file}\n` +
    '-- Runs in one transaction together with its ledger row. To make it revertible, put the\n' +
    '-- statements that undo it after a line holding only: -- litepool:down\n' +
    '-- See docs/migrations.md.\n\n';
  await writeFile(path, text, { flag: 'wx' });
  out.stdout.write(json ? `${JSON.stringify({ file: path, version, name }, null, 2)}\n` : `${path}\n`);
}

async function execute(command: string, positionals: string[], values: Values, out: Streams): Promise<void> {
  const json = values.json === true;
  const print = (result: unknown, text: string) => out.stdout.write(`${json ? JSON.stringify(result, null, 2) : text}\n`);
  if (command === 'new') return newFile(positionals[0], values, out, json);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const dir = required(values, 'dir', command);
  const db = await openDatabase(required(values, 'db', command), command);
  try {
    const to = values.to === undefined ? {} : { to: values.to };
    if (command === 'migrate' || command === 'plan') {
      const report = await db.migrate({
        dir,
        ...to,
        dryRun: command === 'plan' || values['dry-run'] === true,
        allowOutOfOrder: values['allow-out-of-order'] === true,
        ...(command === 'migrate' ? lockTimeout(values) : {}),
      });
      print(report, formatMigrate(report));
    } else if (command === 'status') {
      const entries = await db.migrations.status({ dir });
      print(entries, formatStatus(entries));
    } else if (command === 'down') {
      const report = await db.migrations.down({ dir, to: required(values, 'to', command), dryRun: values['dry-run'] === true, ...lockTimeout(values) });
      print(report, formatDown(report));
    } else {
      const version = required(values, 'version', command);
      const action = required(values, 'action', command);
      if (action !== 'accept-checksum' && action !== 'forget' && action !== 'mark-applied') {
        throw new UsageError(`--action must be accept-checksum, forget or mark-applied, got '${action}'`);
      }
      const entry = await db.migrations.repair({ dir, version, action, ...lockTimeout(values) });
      print({ version, action, status: entry ?? null }, entry ? `${entry.version}  ${entry.name}: ${entry.state}` : `${version}: not in the ledger`);
    }
  } finally {
    await db.close();
  }
}

function isUsage(error: unknown): boolean {
  if (error instanceof UsageError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('ERR_PARSE_ARGS') || code === 'LITEPOOL_INVALID_ARGUMENT' || code === 'LITEPOOL_OUT_OF_RANGE');
}

/** Runs the command line `argv` (without node and the script); resolves with the exit code. */
export async function run(argv: readonly string[], out: Streams): Promise<number> {
  let json = argv.includes('--json');
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    json = values.json === true;
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
    await execute(command, rest, values as Values, out);
    return 0;
  } catch (error) {
    const usage = isUsage(error);
    const message = error instanceof Error ? error.message : String(error);
    if (json) {
      const { code, version, file } = (error ?? {}) as { code?: unknown; version?: unknown; file?: unknown };
      out.stdout.write(`${JSON.stringify({ error: { code: code ?? (usage ? 'USAGE' : 'ERROR'), message, version, file } }, null, 2)}\n`);
    } else {
      const code = (error as { code?: unknown } | null)?.code;
      out.stderr.write(`litepool: ${message}${typeof code === 'string' ? ` (${code})` : ''}\n`);
      if (usage) out.stderr.write('Run litepool --help for the commands and options.\n');
    }
    return usage ? 2 : 1;
  }
}
