// Owns the drivers the benchmark compares, behind one small interface: litepool, better-sqlite3,
// sqlite3 (one connection, and a round-robin set of connections), a better-sqlite3 connection
// opened and closed per query, and node:sqlite when the running Node has it.
//
// Every connection runs with the same settings so the comparison is fair: WAL, synchronous=NORMAL,
// a 16,000 KiB page cache (litepool's default) and a 5 s busy timeout. Every driver uses prepared
// statements kept per connection (litepool keeps its own statement cache natively).
//
// A connection object has: kind ('async' | 'sync'), get(sql, params), all(sql, params),
// iterate(sql, params) → number of rows seen, run(sql, params), insertMany(sql, rows), close().
// Sync drivers return values, async drivers promises. Each driver's adapter (how it opens a
// connection and implements that interface) is in bench/lib/adapters/<driver>.mjs.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { openBetterSqlite3, openPerQuery } from './adapters/better-sqlite3.mjs';
import { openLitepool } from './adapters/litepool.mjs';
import { litepoolBuild } from './litepool-build.mjs';
import { openNodeSqlite } from './adapters/node-sqlite.mjs';
import { openSqlite3 } from './adapters/sqlite3.mjs';

const require = createRequire(import.meta.url);

/** Loads every driver module; returns { litepool, BetterSqlite3, sqlite3, nodeSqlite, versions }. */
export async function loadDrivers() {
  const litepool = await import('../../dist/index.js');
  const BetterSqlite3 = require('better-sqlite3');
  const sqlite3 = require('sqlite3');
  let nodeSqlite;
  let nodeSqliteSkip;
  try {
    nodeSqlite = await import('node:sqlite');
  } catch (error) {
    nodeSqliteSkip = `node:sqlite is not available in Node ${process.versions.node} (${error.code ?? error.message})`;
  }

  const memory = new BetterSqlite3(':memory:');
  const versions = {
    litepool: {
      version: require('../../package.json').version,
      sqlite: litepool.Pool.sqliteVersion,
      build: await litepoolBuild(),
    },
    'better-sqlite3': {
      version: packageVersion('better-sqlite3'),
      sqlite: memory.prepare('SELECT sqlite_version() AS v').get().v,
    },
    sqlite3: { version: packageVersion('sqlite3'), sqlite: sqlite3.VERSION },
    'node:sqlite': nodeSqlite
      ? { version: `node ${process.versions.node}`, sqlite: nodeSqliteVersion(nodeSqlite) }
      : { skipped: nodeSqliteSkip },
    tinybench: { version: packageVersion('tinybench') },
  };
  memory.close();
  return { litepool, BetterSqlite3, sqlite3, nodeSqlite, nodeSqliteSkip, versions };
}

/** The installed version of a bench dependency (read from disk: not every package exports ./package.json). */
function packageVersion(name) {
  return JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
}

function nodeSqliteVersion(nodeSqlite) {
  const db = new nodeSqlite.DatabaseSync(':memory:');
  try {
    return db.prepare('SELECT sqlite_version() AS v').get().v;
  } finally {
    db.close();
  }
}

/**
 * The driver table. `open(file)` resolves with a connection object; `available` is false (with
 * `skip` saying why) when the running Node lacks the driver.
 */
export function driverTable(mods) {
  const { litepool, BetterSqlite3, sqlite3, nodeSqlite, nodeSqliteSkip } = mods;
  return [
    { id: 'litepool', label: 'litepool', kind: 'async', open: (file) => openLitepool(litepool, file) },
    { id: 'better-sqlite3', label: 'better-sqlite3', kind: 'sync', open: async (file) => openBetterSqlite3(BetterSqlite3, file) },
    { id: 'sqlite3', label: 'sqlite3 (1 conn)', kind: 'async', open: (file) => openSqlite3(sqlite3, file, 1) },
    { id: 'sqlite3x4', label: 'sqlite3 (4 conns)', kind: 'async', open: (file) => openSqlite3(sqlite3, file, 4) },
    {
      id: 'node-sqlite',
      label: 'node:sqlite',
      kind: 'sync',
      available: Boolean(nodeSqlite),
      skip: nodeSqliteSkip,
      open: async (file) => openNodeSqlite(nodeSqlite, file),
    },
    {
      id: 'open-per-query',
      label: 'open per query (better-sqlite3)',
      kind: 'sync',
      perQuery: true,
      open: async (file) => openPerQuery(BetterSqlite3, file),
    },
  ].map((d) => ({ available: true, ...d }));
}
