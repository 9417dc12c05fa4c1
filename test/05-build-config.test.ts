// Covers the build configuration: the running SQLite reports every compile option of the release
// section of deps/sqlite-options.txt (which stays sorted), file pools run in WAL mode, reader
// connections are query_only, lib/sqlite-codes.ts matches the bundled sqlite3.h, and
// binding.gyp and CMakeLists.txt build the addon from the same native sources.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Pool } from '../lib/index.ts';
import { root } from './helpers/paths.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('build-config');

interface SqliteOptions {
  release: string[];
  debug: string[];
}

async function readSqliteOptions(): Promise<SqliteOptions> {
  const url = pathToFileURL(join(root, 'deps', 'sqlite-options.mjs')).href;
  const module = (await import(/* @vite-ignore */ url)) as { readSqliteOptions: () => SqliteOptions };
  return module.readSqliteOptions();
}

/** Every `native/...cc` path mentioned in `text`. */
function nativeSources(text: string): Set<string> {
  return new Set(text.match(/native\/[A-Za-z0-9_./-]+\.cc\b/g) ?? []);
}

let db: Pool;

beforeAll(async () => {
  db = await pools.openAt(pools.file('config'), { readers: 2 });
});

describe('SQLite compile options', () => {
  it('reports every option of the release section (without SQLITE_, skipping HAVE_*)', async () => {
    const { release } = await readSqliteOptions();
    const expected = release.filter((option) => !option.startsWith('HAVE_')).map((option) => option.replace(/^SQLITE_/, ''));
    expect(expected.length).toBeGreaterThan(10);
    const rows = await db.all<{ compile_options: string }>('PRAGMA compile_options');
    const reported = new Set(rows.map((row) => row.compile_options));
    const missing = expected.filter((option) => !reported.has(option));
    expect(missing).toEqual([]);
  });

  it('reports the options the design asks for', async () => {
    const rows = await db.all('PRAGMA compile_options', [], { rowMode: 'array' });
    const reported = new Set(rows.map((row) => row[0]));
    const required = [
      'THREADSAFE=2',
      'DQS=0',
      'DEFAULT_MEMSTATUS=0',
      'DEFAULT_WAL_SYNCHRONOUS=1',
      'ENABLE_FTS5',
      'ENABLE_MATH_FUNCTIONS',
      'ENABLE_RTREE',
      'ENABLE_STAT4',
      'ENABLE_DBSTAT_VTAB',
      'ENABLE_COLUMN_METADATA',
      'LIKE_DOESNT_MATCH_BLOBS',
      'OMIT_DEPRECATED',
      'OMIT_SHARED_CACHE',
      'USE_ALLOCA',
    ];
    expect(required.filter((option) => !reported.has(option))).toEqual([]);
    // A release build: no debug-only options.
    expect(reported.has('DEBUG')).toBe(false);
  });

  it('keeps the release section of deps/sqlite-options.txt sorted by option name', async () => {
    const { release } = await readSqliteOptions();
    const names = release.map((option) => option.split('=')[0]!);
    const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(names).toEqual(sorted);
    expect(new Set(names).size).toBe(names.length);
  });

  it('has the features the options turn on', async () => {
    expect(await db.get('SELECT sqrt(16) AS r, pow(2, 10) AS p')).toEqual({ r: 4, p: 1024 });
    await db.exec('CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(body)');
    await db.exec('CREATE VIRTUAL TABLE IF NOT EXISTS boxes USING rtree(id, minX, maxX)');
    await db.run("INSERT INTO docs (body) VALUES ('the quick brown fox')");
    expect(await db.get("SELECT body FROM docs WHERE docs MATCH 'quick'")).toEqual({ body: 'the quick brown fox' });
    expect(await db.get("SELECT COUNT(*) > 0 AS some FROM dbstat WHERE name = 'docs_data'")).toEqual({ some: 1 });
    // DQS=0: a double-quoted string is an identifier, never a string literal.
    await expect(db.get('SELECT "no_such_column" AS x')).rejects.toMatchObject({ code: 'SQLITE_ERROR' });
    // LIKE_DOESNT_MATCH_BLOBS.
    expect(await db.get("SELECT CAST('abc' AS BLOB) LIKE 'abc' AS m")).toEqual({ m: 0 });
  });
});

describe('connection setup', () => {
  it("runs a file pool in 'wal' journal mode", async () => {
    expect(await db.get('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' });
    expect(await db.all('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
  });

  it('makes reader connections query_only (PRAGMA query_only = 1 through get)', async () => {
    // Several at once, so every reader answers at least once with high probability; each must say 1.
    const rows = await Promise.all(Array.from({ length: 50 }, () => db.get('PRAGMA query_only')));
    for (const row of rows) expect(row).toEqual({ query_only: 1 });
    expect(await db.get('SELECT query_only FROM pragma_query_only')).toEqual({ query_only: 1 });
  });

  it('keeps the writer connection writable (PRAGMA query_only = 0 through run/RETURNING)', async () => {
    await db.exec('CREATE TABLE IF NOT EXISTS w (x)');
    const row = await db.get<{ q: number }>('INSERT INTO w (x) SELECT query_only FROM pragma_query_only RETURNING x AS q');
    expect(row).toEqual({ q: 0 });
  });

  it('applies SQLITE_DBCONFIG_DEFENSIVE and trusted_schema=OFF', async () => {
    expect(await db.get('PRAGMA trusted_schema')).toEqual({ trusted_schema: 0 });
    // Defensive mode forbids writable_schema.
    await db.run('PRAGMA writable_schema = ON');
    expect(await db.get('SELECT COUNT(*) > 0 AS some FROM sqlite_schema')).toEqual({ some: 1 });
    await expect(db.run("UPDATE sqlite_schema SET sql = sql WHERE name = 'w'")).rejects.toMatchObject({
      code: 'SQLITE_ERROR',
      message: expect.stringContaining('may not be modified'),
    });
    await db.run('PRAGMA writable_schema = OFF');
  });
});

describe('generated and build files', () => {
  it('node deps/generate-error-codes.mjs --check exits 0 (lib/sqlite-codes.ts is current)', () => {
    expect(() => execFileSync(process.execPath, ['deps/generate-error-codes.mjs', '--check'], { cwd: root, stdio: 'pipe' })).not.toThrow();
  });

  it("binding.gyp's 'litepool' sources equal CMakeLists.txt's addon + core sources", () => {
    const gypText = readFileSync(join(root, 'binding.gyp'), 'utf8');
    const gypTarget = /'target_name':\s*'litepool'[\s\S]*?'sources':\s*\[([\s\S]*?)\]/.exec(gypText);
    expect(gypTarget, "binding.gyp has a 'litepool' target with sources").not.toBeNull();
    const gypSources = nativeSources(gypTarget![1]!);
    expect(gypSources).toEqual(nativeSources(gypText));

    const cmakePath = join(root, 'CMakeLists.txt');
    expect(existsSync(cmakePath), 'CMakeLists.txt exists').toBe(true);
    const cmakeText = readFileSync(cmakePath, 'utf8');
    const block = (name: string): Set<string> => {
      const match = new RegExp(`set\\(\\s*${name}\\b([^)]*)\\)`).exec(cmakeText);
      expect(match, `CMakeLists.txt sets ${name}`).not.toBeNull();
      return nativeSources(match![1]!);
    };
    const cmakeSources = new Set([...block('LITEPOOL_ADDON_SOURCES'), ...block('LITEPOOL_CORE_SOURCES')]);
    expect(cmakeSources.size).toBeGreaterThan(0);
    expect([...cmakeSources].sort()).toEqual([...gypSources].sort());
    // Every native .cc path CMakeLists.txt mentions outside the test programs is one of them.
    const mentioned = [...nativeSources(cmakeText)].filter((path) => !path.startsWith('native/test/'));
    expect(mentioned.sort()).toEqual([...gypSources].sort());
    // And every listed file exists.
    for (const source of gypSources) expect(existsSync(join(root, source)), source).toBe(true);
  });
});
