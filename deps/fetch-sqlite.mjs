#!/usr/bin/env node
// Owns deps/sqlite/: puts the pristine upstream SQLite amalgamation there.
//
// The amalgamation is never committed. It is taken out of a pinned npm registry package that
// ships it unmodified, checked against pinned SHA-256 digests, and written to the git-ignored
// deps/sqlite/. Every source-build path (binding.gyp, CMakeLists.txt, `npm run build`) runs this
// first. When deps/sqlite/ already holds files with the pinned digests (a clone that fetched
// before, or the npm tarball, which ships them), nothing is downloaded: a consumer's fallback
// build needs no network.
//
// Usage: node deps/fetch-sqlite.mjs [--print-dir] [--quiet]

import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** The registry package that carries the amalgamation, pinned to one version. */
const SOURCE_PACKAGE = 'better-sqlite3@13.2.0';
/** Where the amalgamation sits inside that package's tarball. */
const SOURCE_DIR_IN_TARBALL = 'package/deps/sqlite3/';
/** SQLite version the digests below belong to. Must stay >= 3.51.3 (WAL-reset fix). */
const SQLITE_VERSION = '3.54.1';
const PINNED_SHA256 = {
  'sqlite3.c': '75a4760a7b9727a4c4c877aec92eacf39e52a8f2921ce00bd33be6d3a8e8e254',
  'sqlite3.h': 'd6c84557261893439b341d2e6c35187ae3ea24fbfd843ad94616f72d89242b8c',
  'sqlite3ext.h': '48963abfefb41ac329ef9d706acb5eadba952a99a748285c9ded6b5e0942721b',
};

const here = dirname(fileURLToPath(import.meta.url));
const targetDir = join(here, 'sqlite');
const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet') || args.has('--print-dir');

function log(message) {
  if (!quiet) process.stderr.write(`litepool: ${message}\n`);
}

function sha256(buffer) {
  return createHash('sha256').update(buffer).digest('hex');
}

/** True when every pinned file is present in deps/sqlite/ with its pinned digest. */
function alreadyFetched() {
  return Object.entries(PINNED_SHA256).every(([name, digest]) => {
    const file = join(targetDir, name);
    return existsSync(file) && sha256(readFileSync(file)) === digest;
  });
}

/** Reads regular files out of an uncompressed ustar/pax archive held in memory. */
function* tarEntries(archive) {
  let offset = 0;
  let longName = null;
  while (offset + 512 <= archive.length) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) return;
    const field = (start, length) => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    const prefix = field(345, 155);
    let name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const body = archive.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      const match = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      longName = match ? match[1] : null;
      continue;
    }
    if (type === 'L') {
      longName = body.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    if (longName) name = longName;
    longName = null;
    if (type === '0' || type === '\0') yield { name, body };
  }
}

function fetchTarball(workDir) {
  log(`fetching the SQLite ${SQLITE_VERSION} amalgamation from the npm registry (${SOURCE_PACKAGE})`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['pack', SOURCE_PACKAGE, '--silent', '--ignore-scripts', '--pack-destination', workDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
    shell: process.platform === 'win32',
  });
  const tarball = readdirSync(workDir).find((file) => file.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack ${SOURCE_PACKAGE} produced no tarball`);
  return readFileSync(join(workDir, tarball));
}

function main() {
  if (alreadyFetched()) {
    if (args.has('--print-dir')) process.stdout.write(targetDir);
    return;
  }
  const workDir = mkdtempSync(join(tmpdir(), 'litepool-sqlite-'));
  // Staged beside the target so the final rename never crosses file systems.
  const staging = join(here, `.sqlite-staging-${process.pid}`);
  try {
    const archive = gunzipSync(fetchTarball(workDir));
    const wanted = new Map();
    for (const { name, body } of tarEntries(archive)) {
      if (!name.startsWith(SOURCE_DIR_IN_TARBALL)) continue;
      const file = name.slice(SOURCE_DIR_IN_TARBALL.length);
      if (file in PINNED_SHA256) wanted.set(file, body);
    }
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging);
    for (const [file, digest] of Object.entries(PINNED_SHA256)) {
      const body = wanted.get(file);
      if (!body) throw new Error(`${SOURCE_PACKAGE} has no ${SOURCE_DIR_IN_TARBALL}${file}`);
      const actual = sha256(body);
      if (actual !== digest) {
        throw new Error(`${file} from ${SOURCE_PACKAGE} has SHA-256 ${actual}, expected the pinned ${digest}; refusing to build with it`);
      }
      writeFileSync(join(staging, file), body);
    }
    const header = readFileSync(join(staging, 'sqlite3.h'), 'utf8');
    if (!header.includes(`#define SQLITE_VERSION        "${SQLITE_VERSION}"`)) {
      throw new Error(`sqlite3.h is not version ${SQLITE_VERSION}`);
    }
    rmSync(targetDir, { recursive: true, force: true });
    renameSync(staging, targetDir);
    log(`SQLite ${SQLITE_VERSION} written to deps/sqlite/ (digests verified)`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
    rmSync(staging, { recursive: true, force: true });
  }
  if (args.has('--print-dir')) process.stdout.write(targetDir);
}

try {
  main();
} catch (error) {
  process.stderr.write(`litepool: could not fetch SQLite: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
