// Owns the installation of the peer drivers the suite compares litepool with (better-sqlite3,
// sqlite3, tinybench) into bench/node_modules: on first use, again when bench/package.json or its
// lockfile changed, a rebuild when the Node ABI changed, and a clean reinstall when the installed
// binaries do not load. Also checks that the compiled library (dist/) is there.

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { now } from './harness.mjs';

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = join(BENCH_DIR, '..');

/** Exits with a message when dist/index.js (the compiled library) is missing. */
export function ensureDist() {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
    console.error('bench: dist/index.js is missing; compile the library first: npx tsc -p tsconfig.build.json');
    process.exit(1);
  }
}

/**
 * Installs bench/node_modules when it is missing or was installed for another package.json or
 * Node ABI, then loads each native peer in a child process (a binary built for another Node can
 * crash the process that loads it). When that fails, installs from scratch once more.
 */
export function ensurePeers() {
  const hashOf = (name) => {
    try {
      return createHash('sha256').update(readFileSync(join(BENCH_DIR, name))).digest('hex');
    } catch {
      return null;
    }
  };
  const want = {
    packageJson: hashOf('package.json'),
    lockfile: hashOf('package-lock.json'),
    abi: process.versions.modules,
    napi: process.versions.napi,
    platform: process.platform,
    arch: process.arch,
  };
  const modules = join(BENCH_DIR, 'node_modules');
  const stampFile = join(modules, '.litepool-bench-install.json');
  let have;
  try {
    have = JSON.parse(readFileSync(stampFile, 'utf8'));
  } catch {}
  const npm = (...npmArgs) => {
    const started = now();
    const result = spawnSync('npm', [...npmArgs, '--no-audit', '--no-fund'], {
      cwd: BENCH_DIR,
      stdio: ['ignore', 'inherit', 'inherit'],
      shell: process.platform === 'win32',
    });
    if (result.status !== 0) {
      console.error(`bench: \`npm ${npmArgs.join(' ')}\` in bench/ failed (exit ${result.status ?? result.signal})`);
      process.exit(1);
    }
    console.error(`bench: npm ${npmArgs[0]} took ${((now() - started) / 1000).toFixed(0)} s`);
  };
  const probe = () =>
    spawnSync(
      process.execPath,
      [
        '-e',
        "const B=require('better-sqlite3');new B(':memory:').prepare('select 1').get();" +
          "const s=require('sqlite3');new s.Database(':memory:').close();require.resolve('tinybench');",
      ],
      { cwd: BENCH_DIR, encoding: 'utf8' },
    );
  const installNotice =
    'bench: installing the peer drivers (better-sqlite3, sqlite3, tinybench) into bench/node_modules;\n' +
    '       the first install may compile them from source (a minute or two).';
  if (!have || have.packageJson !== want.packageJson || have.lockfile !== want.lockfile || !existsSync(modules)) {
    console.error(installNotice);
    npm('install');
  } else if (have.abi !== want.abi || have.platform !== want.platform || have.arch !== want.arch) {
    console.error(`bench: the peers were built for another Node (ABI ${have.abi}, now ${want.abi}): rebuilding them`);
    npm('rebuild', 'better-sqlite3', 'sqlite3');
  }
  let loaded = probe();
  if (loaded.status !== 0) {
    // npm picks the newest better-sqlite3 whose `engines` fit the Node that installed it (13.x
    // needs Node >= 22, N-API 10; 12.x builds on Node 20): start over for this Node.
    console.error(`bench: loading the peers failed (${loaded.signal ?? `exit ${loaded.status}`}); reinstalling them from scratch`);
    rmSync(modules, { recursive: true, force: true });
    // A lockfile made on another Node may pin the wrong major; keep it when it is committed.
    const tracked = spawnSync('git', ['ls-files', '--error-unmatch', 'package-lock.json'], { cwd: BENCH_DIR, stdio: 'ignore' });
    if (tracked.status !== 0) rmSync(join(BENCH_DIR, 'package-lock.json'), { force: true });
    console.error(installNotice);
    npm('install');
    loaded = probe();
    if (loaded.status !== 0) {
      console.error(`bench: loading better-sqlite3 / sqlite3 still fails (${loaded.signal ?? `exit ${loaded.status}`}):\n${loaded.stderr}`);
      process.exit(1);
    }
  }
  // npm may have written the lockfile: stamp what is there now.
  writeFileSync(stampFile, `${JSON.stringify({ ...want, lockfile: hashOf('package-lock.json') }, null, 2)}\n`);
}

/** Loads better-sqlite3 from bench/node_modules, installing the peers first when it is missing. */
export function loadBetterSqlite3() {
  const require = createRequire(join(BENCH_DIR, 'package.json'));
  try {
    return require('better-sqlite3');
  } catch {
    ensurePeers();
    return require('better-sqlite3');
  }
}
