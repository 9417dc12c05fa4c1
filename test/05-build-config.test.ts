// Covers the build configuration: the running SQLite reports every compile option of the release
// section of deps/sqlite-options.txt (which stays sorted), file pools run in WAL mode, reader
// connections are query_only, lib/native/sqlite-codes.ts matches the bundled sqlite3.h, and
// binding.gyp and CMakeLists.txt build the same addon: the same native sources (every .cc file
// of native/core and native/addon), macros, NAPI_VERSION (package.json's binary.napi_versions),
// include directories, SQLite option list, exported symbols, macOS target and C++ standard; and
// the loaded addon says whether it is the profile-guided build (scripts/pgo/build.sh).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type Pool } from '../lib/index.ts';
import { cmakeCalls, dict, type GypValue, gypTarget, parseCMake, parseGyp, strings } from './helpers/build-files.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

interface SqliteOptions {
  release: string[];
  debug: string[];
}

async function readSqliteOptions(): Promise<SqliteOptions> {
  const url = pathToFileURL(join(root, 'deps', 'sqlite-options.mjs')).href;
  const module = (await import(/* @vite-ignore */ url)) as { readSqliteOptions: () => SqliteOptions };
  return module.readSqliteOptions();
}

let dir: string;
let db: Pool;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'litepool-build-config-'));
  db = await open(join(dir, 'config.db'), { readers: 2 });
});

afterAll(async () => {
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
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

describe('which build is loaded', () => {
  // .ci/run sets LITEPOOL_EXPECT_BUILD=profile-guided for the suite it runs on `npm run build:pgo`.
  it('reports whether SQLite was compiled with a profile, as the environment expects', async () => {
    const { binding } = await import('../lib/native/binding.ts');
    const { profileGuided } = binding();
    expect(typeof profileGuided).toBe('boolean');
    const expected = process.env['LITEPOOL_EXPECT_BUILD'];
    if (expected !== undefined) expect(profileGuided ? 'profile-guided' : 'plain').toBe(expected);
  });

  it('builds with the profile flags of scripts/pgo/build.sh and trains on a schema of its own, none of the benchmarks\' tables', () => {
    const script = readFileSync(join(root, 'scripts', 'pgo', 'build.sh'), 'utf8');
    expect(script).toContain('-fprofile-generate=$profile');
    expect(script).toContain('-fprofile-use=$profile');
    expect(script).toContain('-DLITEPOOL_PROFILE_GUIDED=1');
    const training = readFileSync(join(root, 'scripts', 'pgo', 'train.mjs'), 'utf8');
    for (const table of ['items', 'posts', 'comments', 'likes', 'inserts']) expect(training).not.toMatch(new RegExp(`\\b(FROM|INTO|JOIN|TABLE) ${table}\\b`));
  });
});

describe('generated and build files', () => {
  it('node deps/generate-error-codes.mjs --check exits 0 (lib/native/sqlite-codes.ts is current)', () => {
    expect(() => execFileSync(process.execPath, ['deps/generate-error-codes.mjs', '--check'], { cwd: root, stdio: 'pipe' })).not.toThrow();
  });

});

// binding.gyp (node-gyp, the install-time fallback and the prebuilds) and CMakeLists.txt (cmake-js)
// must build the same addon. Every list is read from the two files and from native/ on disk,
// never written out here, so adding, splitting or renaming a source file only requires updating
// both build files, which this checks.
describe('binding.gyp and CMakeLists.txt build the same addon', () => {
  const gyp = parseGyp(readFileSync(join(root, 'binding.gyp'), 'utf8'));
  const gypAddon = gypTarget(gyp, 'litepool');
  const gypSqlite = gypTarget(gyp, 'sqlite3');
  const cmakeText = readFileSync(join(root, 'CMakeLists.txt'), 'utf8');
  const cmake = parseCMake(cmakeText);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { binary?: { napi_versions?: number[] } };

  /** The values of `set(NAME ...)` in CMakeLists.txt (exactly one such command). */
  const cmakeSet = (name: string): string[] => {
    const calls = cmakeCalls(cmake, 'set', name);
    expect(calls, `CMakeLists.txt sets ${name} once`).toHaveLength(1);
    return calls[0]!;
  };
  /** The arguments of every `command(target PRIVATE|PUBLIC|INTERFACE ...)` for `target`. */
  const cmakeTargetArgs = (command: string, target: string): string[] =>
    cmakeCalls(cmake, command, target).flatMap((args) => args.filter((a) => !['PRIVATE', 'PUBLIC', 'INTERFACE'].includes(a)));
  /** Every .cc file under native/<dir>, as a project-relative path. */
  const onDisk = (dir: string): string[] =>
    readdirSync(join(root, 'native', dir))
      .filter((name) => name.endsWith('.cc'))
      .map((name) => `native/${dir}/${name}`)
      .sort();
  const sorted = (list: Iterable<string>): string[] => [...list].sort();

  it("compiles every .cc file of native/core and native/addon, in both, and nothing else", () => {
    const gypSources = sorted(strings(gypAddon['sources'], "litepool's sources"));
    const addonSources = cmakeSet('LITEPOOL_ADDON_SOURCES');
    const coreSources = cmakeSet('LITEPOOL_CORE_SOURCES');
    expect(sorted(addonSources)).toEqual(onDisk('addon'));
    expect(sorted(coreSources)).toEqual(onDisk('core'));
    expect(gypSources).toEqual(sorted([...onDisk('addon'), ...onDisk('core')]));
    expect(new Set(gypSources).size).toBe(gypSources.length);
    // The CMake lists are what the targets are built from.
    expect(cmakeCalls(cmake, 'add_library', 'litepool_core')).toEqual([['STATIC', '${LITEPOOL_CORE_SOURCES}']]);
    expect(cmakeCalls(cmake, 'add_library', 'litepool')[0]).toContain('${LITEPOOL_ADDON_SOURCES}');
    expect(cmakeTargetArgs('target_link_libraries', 'litepool')).toContain('litepool_core');
    // No other native source is named in either file (the C++ test programs aside).
    const mentioned = (text: string): string[] => [...new Set(text.match(/native\/[A-Za-z0-9_./-]+\.cc\b/g) ?? [])];
    expect(sorted(mentioned(readFileSync(join(root, 'binding.gyp'), 'utf8')))).toEqual(gypSources);
    expect(sorted(mentioned(cmakeText).filter((p) => !p.startsWith('native/test/')))).toEqual(gypSources);
  });

  it('defines the same macros for the addon, NAPI_VERSION equal to package.json binary.napi_versions', () => {
    const gypDefines = strings(gypAddon['defines'], "litepool's defines");
    // node-gyp adds BUILDING_NODE_EXTENSION to every addon by itself; CMake has to say it.
    const cmakeDefines = cmakeTargetArgs('target_compile_definitions', 'litepool');
    expect(cmakeDefines).toContain('BUILDING_NODE_EXTENSION');
    expect(sorted(cmakeDefines.filter((d) => d !== 'BUILDING_NODE_EXTENSION'))).toEqual(sorted(gypDefines));
    for (const required of ['NAPI_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED', 'NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS']) {
      expect(gypDefines, required).toContain(required);
    }
    const napiVersions = pkg.binary?.napi_versions;
    expect(napiVersions, 'package.json declares binary.napi_versions (cmake-js then takes Node-API headers from node-api-headers)').toBeDefined();
    expect(napiVersions!.length).toBe(1);
    const napi = gypDefines.filter((d) => d.startsWith('NAPI_VERSION='));
    expect(napi).toEqual([`NAPI_VERSION=${napiVersions![0]}`]);
    expect(napiVersions![0]).toBeGreaterThanOrEqual(8);
  });

  it('uses the same include directories for the addon', () => {
    const nodeAddonApi = "require('node-addon-api').include_dir";
    const normalize = (dirs: string[]): string[] =>
      sorted(dirs.filter((d) => d.startsWith('native/') || d.includes('node-addon-api') || d.includes('NODE_ADDON_API')).map((d) => (d.startsWith('native/') ? d : 'node-addon-api')));
    const gypDirs = strings(gypAddon['include_dirs'], "litepool's include_dirs");
    expect(gypDirs.some((d) => d.includes(nodeAddonApi))).toBe(true);
    expect(normalize(gypDirs)).toEqual(['native/addon', 'native/core', 'node-addon-api']);
    const cmakeDirs = cmakeTargetArgs('target_include_directories', 'litepool');
    expect(normalize(cmakeDirs)).toEqual(normalize(gypDirs));
    // The CMake variable is the same package's include_dir, and the Node-API headers come from
    // cmake-js (CMAKE_JS_INC) or, in a plain configure, from node-api-headers.
    expect(cmakeText).toContain(`litepool_node_eval(LITEPOOL_NODE_ADDON_API_DIR "${nodeAddonApi}")`);
    expect(cmakeDirs).toContain('${LITEPOOL_NODE_API_INCLUDE_DIRS}');
    expect(cmakeSet('LITEPOOL_NODE_API_INCLUDE_DIRS')).toEqual(['${CMAKE_JS_INC}']);
    expect(cmakeText).toContain(`litepool_node_eval(LITEPOOL_NODE_API_INCLUDE_DIRS "require('node-api-headers').include_dir")`);
    // SQLite's directory reaches the addon through the sqlite3 target (gyp) and litepool_core (CMake).
    expect(strings(dict(gypSqlite['direct_dependent_settings'], 'direct_dependent_settings')['include_dirs'], 'sqlite include_dirs')).toEqual(['<(sqlite_dir)']);
    expect(cmakeTargetArgs('target_include_directories', 'litepool_core')).toContain('${LITEPOOL_SQLITE_DIR}');
  });

  it('builds SQLite from the one option list, release and debug, in both', async () => {
    const { release, debug } = await readSqliteOptions();
    const variables = dict(dict(gyp, 'binding.gyp')['variables'], 'variables');
    expect(strings(variables['sqlite_release_defines'], 'sqlite_release_defines')).toEqual(['<!@(node deps/sqlite-options.mjs release)']);
    expect(strings(variables['sqlite_debug_defines'], 'sqlite_debug_defines')).toEqual(['<!@(node deps/sqlite-options.mjs debug)']);
    const configurations = dict(gypSqlite['configurations'], 'sqlite3 configurations');
    expect(strings(dict(configurations['Release'], 'Release')['defines'], 'Release defines')).toEqual(['<@(sqlite_release_defines)']);
    expect(strings(dict(configurations['Debug'], 'Debug')['defines'], 'Debug defines')).toEqual(['<@(sqlite_debug_defines)']);
    expect(strings(gypSqlite['sources'], 'sqlite3 sources')).toEqual(['<(sqlite_dir)/sqlite3.c']);

    const runs = cmake.filter((c) => c.name === 'execute_process' && c.args.includes('deps/sqlite-options.mjs'));
    const output = (kind: string): string | undefined => {
      const run = runs.find((c) => c.args[c.args.indexOf('deps/sqlite-options.mjs') + 1] === kind);
      return run?.args[run.args.indexOf('OUTPUT_VARIABLE') + 1];
    };
    expect(output('release')).toBe('LITEPOOL_SQLITE_RELEASE_DEFINES');
    expect(output('debug')).toBe('LITEPOOL_SQLITE_DEBUG_DEFINES');
    expect(cmakeCalls(cmake, 'add_library', 'litepool_sqlite')).toEqual([['STATIC', 'deps/sqlite/sqlite3.c']]);
    const sqliteDefines = cmakeTargetArgs('target_compile_definitions', 'litepool_sqlite');
    expect(sqliteDefines).toContain('${LITEPOOL_SQLITE_RELEASE_DEFINES}');
    expect(sqliteDefines).toContain('$<$<CONFIG:Debug>:${define}>');

    // The script prints the same list for both (spaces for gyp, a CMake list with --cmake).
    const print = (...args: string[]): string =>
      execFileSync(process.execPath, ['deps/sqlite-options.mjs', ...args], { cwd: root, encoding: 'utf8' });
    expect(print('release').split(' ')).toEqual(release);
    expect(print('release', '--cmake').split(';')).toEqual(release);
    expect(print('debug', '--cmake').split(';')).toEqual([...release, ...debug]);
    // Neither build file names a SQLite option itself.
    for (const file of ['binding.gyp', 'CMakeLists.txt']) {
      const code = readFileSync(join(root, file), 'utf8').replace(/#.*$/gm, '');
      expect(code.match(/\bSQLITE_[A-Z0-9_]+/g) ?? [], file).toEqual([]);
    }
  });

  it('aligns every SQLite function to 64 bytes in both builds, so its hot loops keep one cache layout', () => {
    // Release in node-gyp (and Xcode), every build type in CMake (MSVC has no such flag).
    const release = dict(dict(gypSqlite['configurations'], 'sqlite3 configurations')['Release'], 'Release');
    expect(strings(release['cflags'], 'Release cflags')).toContain('-falign-functions=64');
    expect(strings(dict(release['xcode_settings'], 'Release xcode_settings')['OTHER_CFLAGS'], 'OTHER_CFLAGS')).toContain('-falign-functions=64');
    expect(cmakeTargetArgs('target_compile_options', 'litepool_sqlite')).toContain('-falign-functions=64');
  });

  it('hides every symbol but the module entry points, with the same version script, and targets the same macOS and C++ standard', async () => {
    // Visibility: hidden in every target of both files.
    expect(strings(gypAddon['cflags'], 'litepool cflags')).toContain('-fvisibility=hidden');
    expect(strings(gypSqlite['cflags'], 'sqlite3 cflags')).toContain('-fvisibility=hidden');
    for (const target of [gypAddon, gypSqlite]) {
      expect(dict(target['xcode_settings'], 'xcode_settings')['GCC_SYMBOLS_PRIVATE_EXTERN']).toBe('YES');
    }
    const properties = (target: string): string[] => cmakeCalls(cmake, 'set_target_properties', target).flat();
    expect(properties('litepool')).toEqual(expect.arrayContaining(['CXX_VISIBILITY_PRESET', 'hidden', 'VISIBILITY_INLINES_HIDDEN']));
    expect(properties('litepool_core')).toEqual(expect.arrayContaining(['CXX_VISIBILITY_PRESET', 'hidden']));
    expect(properties('litepool_sqlite')).toEqual(expect.arrayContaining(['C_VISIBILITY_PRESET', 'hidden']));

    // The Linux version script: both pass native/addon/exports.map, which exports exactly the
    // symbols scripts/check-binary.mjs allows.
    const conditions = gypAddon['conditions'];
    expect(Array.isArray(conditions)).toBe(true);
    const linux = (conditions as GypValue[]).find((c) => Array.isArray(c) && c[0] === 'OS=="linux"') as GypValue[] | undefined;
    expect(strings(dict(linux?.[1], 'linux condition')['ldflags'], 'ldflags')).toEqual(['-Wl,--version-script=<(module_root_dir)/native/addon/exports.map']);
    expect(cmakeSet('LITEPOOL_EXPORTS_MAP')).toEqual(['${CMAKE_CURRENT_SOURCE_DIR}/native/addon/exports.map']);
    expect(cmakeTargetArgs('target_link_options', 'litepool')).toContain('LINKER:--version-script=${LITEPOOL_EXPORTS_MAP}');
    const map = readFileSync(join(root, 'native', 'addon', 'exports.map'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    const global = /global:([^:]*?)local:/.exec(map)?.[1] ?? '';
    const exported = sorted(global.split(';').map((s) => s.trim()).filter(Boolean));
    const checker = (await import(pathToFileURL(join(root, 'scripts', 'check-binary.mjs')).href)) as { MODULE_EXPORTS: string[] };
    expect(exported).toEqual(sorted(checker.MODULE_EXPORTS));
    expect(/local:\s*\*\s*;/.test(map)).toBe(true);

    // macOS deployment target and the C++ standard.
    const macos = new Set(
      [gypAddon, gypSqlite].map((t) => dict(t['xcode_settings'], 'xcode_settings')['MACOSX_DEPLOYMENT_TARGET'] as string),
    );
    expect(macos.size).toBe(1);
    expect(cmakeCalls(cmake, 'set', 'CMAKE_OSX_DEPLOYMENT_TARGET')[0]?.[0]).toBe([...macos][0]);
    expect(strings(gypAddon['cflags_cc'], 'cflags_cc')).toContain('-std=c++20');
    expect(dict(gypAddon['xcode_settings'], 'xcode_settings')['CLANG_CXX_LANGUAGE_STANDARD']).toBe('c++20');
    expect(cmakeTargetArgs('target_compile_features', 'litepool_core')).toEqual(['cxx_std_20']);
  });
});
