// Owns the migration source: finding the files of a migrations directory (or taking a
// programmatic list), parsing their names into versions, ordering them by semver, computing each
// one's checksum, reading the directives of a SQL file (`-- litepool:no-transaction`,
// `-- litepool:down`), and loading JS modules when their steps are needed.

import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MigrationError } from '../errors.ts';
import { awaitingCode } from './awaited-code.ts';
import { compareVersions, isVersion } from './semver.ts';
import { splitStatements, type SqlStatement } from './sql-split.ts';
import type { MigrationDefinition, MigrationFunction } from './types.ts';

/** What one direction of a migration runs. */
export type Step = { type: 'sql'; statements: SqlStatement[] } | { type: 'js'; fn: MigrationFunction };

/** A migration's steps, once loaded. */
export interface LoadedMigration {
  up: Step;
  down: Step | undefined;
}

/** One migration (or baseline) of the source. */
export interface SourceItem {
  version: string;
  name: string;
  kind: 'baseline' | 'migration';
  /** The file name, or `migrations[i] (version)` for a list entry: what messages name. */
  file: string;
  /** SHA-256 (hex) of the text with line endings normalised to \n, without a leading BOM. */
  checksum: string;
  /** SQL opting out of the runner's transaction with `-- litepool:no-transaction` on its first line. */
  noTransaction: boolean;
  /** Loads (once) what up and down run; a JS module is imported here. */
  load(): Promise<LoadedMigration>;
}

/** Every migration of a source, ordered by version. */
export interface Source {
  /** A directory path, or 'the migration list'. */
  origin: string;
  migrations: SourceItem[];
  baselines: SourceItem[];
}

export const NO_TRANSACTION = /^--[ \t]*litepool:no-transaction[ \t]*$/;
const DOWN_MARKER = /^--[ \t]*litepool:down[ \t]*$/m;
export const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const MIGRATION_FILE = /^(.+?)__(.+)\.(sql|js|mjs|ts)$/;
const BASELINE_FILE = /^baseline__(.+)\.sql$/;
/** Extensions of files that must be migrations (helpers start with `_` or `.`). */
const CODE_EXTENSIONS = new Set(['.sql', '.js', '.mjs', '.ts', '.cjs', '.mts', '.cts']);

/**
 * Line endings normalised to \n and a leading byte order mark dropped, so a checkout on another
 * platform, or an editor that saves with a BOM, keeps the checksum.
 */
export function normaliseText(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

export function checksumOf(text: string): string {
  return createHash('sha256').update(normaliseText(text), 'utf8').digest('hex');
}

/** Splits SQL migration text into its up and down parts and reads its directives. */
export function parseSql(text: string): {
  up: SqlStatement[];
  down: SqlStatement[] | undefined;
  noTransaction: boolean;
  /** The line (1-based) of a `-- litepool:no-transaction` below the first line, where it counts for nothing. */
  misplacedDirective: number | undefined;
} {
  const normal = normaliseText(text);
  const firstLine = normal.slice(0, normal.indexOf('\n') < 0 ? normal.length : normal.indexOf('\n'));
  const below = normal.split('\n').findIndex((line, index) => index > 0 && NO_TRANSACTION.test(line.trim()));
  const marker = DOWN_MARKER.exec(normal);
  const upText = marker ? normal.slice(0, marker.index) : normal;
  const downStart = marker ? marker.index + marker[0].length : normal.length;
  const downText = marker ? normal.slice(downStart) : undefined;
  // Lines of the down part count from the top of the file, as an editor shows them.
  const linesAbove = normal.slice(0, downStart).split('\n').length - 1;
  return {
    up: splitStatements(upText),
    down: downText === undefined ? undefined : splitStatements(downText).map((statement) => ({ ...statement, line: statement.line + linesAbove })),
    noTransaction: NO_TRANSACTION.test(firstLine.trim()),
    misplacedDirective: below < 0 ? undefined : below + 1,
  };
}

function failed(message: string, file?: string, version?: string, cause?: unknown): MigrationError {
  return new MigrationError('LITEPOOL_MIGRATION_FAILED', message, { file, version, cause });
}

function sqlItem(version: string, name: string, kind: SourceItem['kind'], file: string, text: string): SourceItem {
  const parsed = parseSql(text);
  const loaded: LoadedMigration = {
    up: { type: 'sql', statements: parsed.up },
    down: parsed.down === undefined ? undefined : { type: 'sql', statements: parsed.down },
  };
  // A directive below the first line would be ignored without a word: the file cannot run.
  const load =
    parsed.misplacedDirective === undefined
      ? () => Promise.resolve(loaded)
      : () =>
          Promise.reject(
            failed(
              `${file}: line ${parsed.misplacedDirective} holds -- litepool:no-transaction, which counts only as the first line of ` +
                'the file: move it to the first line (the file then runs outside a transaction), or remove it',
              file,
              version,
            ),
          );
  return { version, name, kind, file, checksum: checksumOf(text), noTransaction: parsed.noTransaction, load };
}

/**
 * Loads a JS migration as its file reads now (`checksum`, of the text read): the module cache is
 * keyed by its URL, so a file fixed after a failed run would otherwise run its old code in this
 * process, recorded with the new checksum. (A CommonJS file is taken out of require's cache.)
 */
async function importModule(path: string, file: string, version: string, checksum: string): Promise<LoadedMigration> {
  let module: Record<string, unknown>;
  try {
    delete createRequire(path).cache[path];
    module = (await awaitingCode({ file, version }, import(`${pathToFileURL(path).href}?checksum=${checksum}`), true)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (extname(path) === '.ts' && code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw failed(
        `cannot load ${file}: Node.js ${process.version} does not run TypeScript by itself. Start Node with a ` +
          'TypeScript loader (for example `node --import tsx`), use Node.js 22.18 or later (types are stripped by ' +
          'default), or compile the migration to .js/.mjs',
        file,
        version,
        error,
      );
    }
    throw failed(`cannot load ${file}: ${error instanceof Error ? error.message : String(error)}`, file, version, error);
  }
  // An ES module's named exports, or a CommonJS module's exports (as `default`).
  const exports = (typeof module.up === 'function' ? module : (module.default ?? {})) as Record<string, unknown>;
  if (typeof exports.up !== 'function') throw failed(`${file} must export a function up(tx)`, file, version);
  if (exports.down !== undefined && typeof exports.down !== 'function') throw failed(`${file}: down must be a function when exported`, file, version);
  return {
    up: { type: 'js', fn: exports.up as MigrationFunction },
    down: exports.down === undefined ? undefined : { type: 'js', fn: exports.down as MigrationFunction },
  };
}

function byVersion(a: SourceItem, b: SourceItem): number {
  return compareVersions(a.version, b.version);
}

function checkUnique(items: SourceItem[], what: string): void {
  for (let i = 1; i < items.length; i++) {
    if (items[i - 1]!.version === items[i]!.version) {
      throw failed(`two ${what} have version ${items[i]!.version}: ${items[i - 1]!.file} and ${items[i]!.file}`, items[i]!.file, items[i]!.version);
    }
  }
}

/**
 * A file of the directory, stat-ed or read: a dangling symbolic link, a file removed since the
 * directory was listed or one that cannot be read fails the run as the directory would.
 */
async function readable<T>(read: () => Promise<T>, full: string, file: string): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw failed(`cannot read ${full} in the migrations directory: ${(error as Error).message}`, file, undefined, error);
  }
}

/** Reads a migrations directory. */
export async function readDirectory(dir: string): Promise<Source> {
  const path = resolve(dir);
  let names: string[];
  try {
    if (!(await stat(path)).isDirectory()) throw failed(`the migrations directory ${path} is not a directory`);
    names = await readdir(path);
  } catch (error) {
    if (error instanceof MigrationError) throw error;
    throw failed(`cannot read the migrations directory ${path}: ${(error as Error).message}`, undefined, undefined, error);
  }
  const migrations: SourceItem[] = [];
  const baselines: SourceItem[] = [];
  for (const file of names.sort()) {
    // Extensions compared in lower case: `1.0.0__a.SQL` is refused below, not skipped without a word.
    if (file.startsWith('.') || file.startsWith('_') || !CODE_EXTENSIONS.has(extname(file).toLowerCase())) continue;
    const full = join(path, file);
    if (!(await readable(() => stat(full), full, file)).isFile()) continue;
    const baseline = BASELINE_FILE.exec(file);
    if (baseline) {
      if (!isVersion(baseline[1]!)) throw failed(`${file}: '${baseline[1]}' is not a version (MAJOR.MINOR.PATCH)`, file);
      baselines.push(sqlItem(baseline[1]!, 'baseline', 'baseline', file, await readable(() => readFile(full, 'utf8'), full, file)));
      continue;
    }
    const match = MIGRATION_FILE.exec(file);
    if (!match) {
      throw failed(
        `${file} is not a migration file name: expected <semver>__<name>.sql|.js|.mjs|.ts (for example 1.4.0__add_orders.sql) ` +
          'or baseline__<semver>.sql; helper files must start with _',
        file,
      );
    }
    const [, version, name, extension] = match as unknown as [string, string, string, string];
    if (!isVersion(version)) throw failed(`${file}: '${version}' is not a version (MAJOR.MINOR.PATCH, no leading zeros)`, file);
    if (!NAME.test(name)) throw failed(`${file}: the name '${name}' may only hold letters, digits, _, - and .`, file, version);
    const text = await readable(() => readFile(full, 'utf8'), full, file);
    if (extension === 'sql') {
      migrations.push(sqlItem(version, name, 'migration', file, text));
    } else {
      let loading: Promise<LoadedMigration> | undefined;
      migrations.push({
        version,
        name,
        kind: 'migration',
        file,
        checksum: checksumOf(text),
        noTransaction: false,
        load: () => (loading ??= importModule(full, file, version, checksumOf(text))),
      });
    }
  }
  migrations.sort(byVersion);
  baselines.sort(byVersion);
  checkUnique(migrations, 'migrations');
  checkUnique(baselines, 'baselines');
  return { origin: path, migrations, baselines };
}

function functionText(fn: MigrationFunction | string | undefined): string {
  return fn === undefined ? '' : String(fn);
}

/** Takes a programmatic list (already validated in shape by options.ts). */
export function readList(list: readonly MigrationDefinition[]): Source {
  const migrations = list.map((entry, index): SourceItem => {
    const file = `migrations[${index}] (${entry.version}__${entry.name})`;
    if (typeof entry.up === 'string' && (entry.down === undefined || typeof entry.down === 'string')) {
      const text = entry.down === undefined ? entry.up : `${entry.up}\n-- litepool:down\n${entry.down}`;
      return sqlItem(entry.version, entry.name, 'migration', file, text);
    }
    const step = (value: string | MigrationFunction): Step =>
      typeof value === 'string' ? { type: 'sql', statements: splitStatements(normaliseText(value)) } : { type: 'js', fn: value };
    const loaded: LoadedMigration = { up: step(entry.up), down: entry.down === undefined ? undefined : step(entry.down) };
    return {
      version: entry.version,
      name: entry.name,
      kind: 'migration',
      file,
      checksum: checksumOf(`${functionText(entry.up)}\n-- litepool:down\n${functionText(entry.down)}`),
      noTransaction: false,
      load: () => Promise.resolve(loaded),
    };
  });
  migrations.sort(byVersion);
  checkUnique(migrations, 'migrations');
  return { origin: 'the migration list', migrations, baselines: [] };
}
