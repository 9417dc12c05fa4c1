// Owns the write-path benchmark: in one process and one run,
//   1. 64 concurrent single-row INSERT promises through litepool's db.run (group commit on,
//      synchronous NORMAL) against better-sqlite3 autocommit inserts of the same rows;
//   2. litepool's insertMany of 1,000,000 rows against better-sqlite3 inserting them with one
//      prepared statement in one transaction.
// Prints rows/s and the ratios, and writes bench/results/write-path-latest.json.
// Usage: node bench/write-path.mjs [--quick]   (after `npm run build`; installs the peers on first use)

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBetterSqlite3 } from './lib/peers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');


const Database = loadBetterSqlite3();
const { open } = await import('../dist/index.js');

const INSERTS = quick ? 50_000 : 200_000;
/** Rows inserted before timing starts, by each driver, so that both are measured warm (JIT, caches). */
const WARMUP = quick ? 10_000 : 50_000;
const BULK = quick ? 200_000 : 1_000_000;
const CONCURRENCY = 64;
const dir = mkdtempSync(join(tmpdir(), 'litepool-write-bench-'));

function peer(file) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}

async function concurrentInserts() {
  const b = peer(join(dir, 'peer-inserts.db'));
  b.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value REAL NOT NULL)');
  const insert = b.prepare('INSERT INTO t (name, value) VALUES (?, ?)');
  for (let i = 0; i < WARMUP; i++) insert.run(`warm-${i}`, i * 0.5);
  let started = performance.now();
  for (let i = 0; i < INSERTS; i++) insert.run(`row-${i}`, i * 0.5);
  const peerRate = INSERTS / ((performance.now() - started) / 1000);
  b.close();

  const db = await open(join(dir, 'litepool-inserts.db'), { synchronous: 'normal' });
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value REAL NOT NULL)');
  const insertConcurrently = async (rows, prefix) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < rows) {
          const i = next++;
          await db.run('INSERT INTO t (name, value) VALUES (?, ?)', [`${prefix}-${i}`, i * 0.5]);
        }
      }),
    );
  };
  await insertConcurrently(WARMUP, 'warm');
  const before = db.stats().groupCommit;
  started = performance.now();
  await insertConcurrently(INSERTS, 'row');
  const rate = INSERTS / ((performance.now() - started) / 1000);
  const after = db.stats().groupCommit;
  const groupCommit = { groups: after.groups - before.groups, writes: after.writes - before.writes };
  const count = (await db.get("SELECT COUNT(*) AS n FROM t WHERE name LIKE 'row-%'")).n;
  await db.close();
  if (count !== INSERTS) throw new Error(`litepool stored ${count} rows, expected ${INSERTS}`);
  return { rows: INSERTS, warmupRows: WARMUP, concurrency: CONCURRENCY, litepoolRowsPerSec: rate, betterSqlite3RowsPerSec: peerRate, ratio: rate / peerRate, groupCommit };
}

async function bulkInsert() {
  const rows = Array.from({ length: BULK }, (_, i) => ({ name: `row-${i}`, value: i * 0.5, k: i }));
  const b = peer(join(dir, 'peer-bulk.db'));
  b.exec('CREATE TABLE t (name TEXT NOT NULL, value REAL NOT NULL, k INTEGER NOT NULL)');
  const insert = b.prepare('INSERT INTO t (name, value, k) VALUES (?, ?, ?)');
  let started = performance.now();
  b.transaction(() => {
    for (const row of rows) insert.run(row.name, row.value, row.k);
  })();
  const peerMs = performance.now() - started;
  b.close();

  const db = await open(join(dir, 'litepool-bulk.db'));
  await db.exec('CREATE TABLE t (name TEXT NOT NULL, value REAL NOT NULL, k INTEGER NOT NULL)');
  started = performance.now();
  const inserted = await db.insertMany('t', rows);
  const ms = performance.now() - started;
  await db.close();
  if (inserted !== BULK) throw new Error(`insertMany reported ${inserted} rows, expected ${BULK}`);
  return { rows: BULK, litepoolMs: ms, betterSqlite3Ms: peerMs, litepoolRowsPerSec: BULK / (ms / 1000), betterSqlite3RowsPerSec: BULK / (peerMs / 1000), ratio: peerMs / ms };
}

try {
  const inserts = await concurrentInserts();
  const bulk = await bulkInsert();
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  console.log(`64 concurrent single-row INSERTs (${fmt(inserts.rows)} rows after ${fmt(inserts.warmupRows)} warm-up rows, synchronous NORMAL)`);
  console.log(`  litepool db.run       ${fmt(inserts.litepoolRowsPerSec)} rows/s  (${inserts.groupCommit.groups} group commits holding ${inserts.groupCommit.writes} writes)`);
  console.log(`  better-sqlite3 (auto) ${fmt(inserts.betterSqlite3RowsPerSec)} rows/s`);
  console.log(`  ratio                 ${inserts.ratio.toFixed(2)}x   (target >= 3x)`);
  console.log(`bulk insert of ${fmt(bulk.rows)} rows`);
  console.log(`  litepool insertMany   ${fmt(bulk.litepoolMs)} ms (${fmt(bulk.litepoolRowsPerSec)} rows/s)`);
  console.log(`  better-sqlite3 (txn)  ${fmt(bulk.betterSqlite3Ms)} ms (${fmt(bulk.betterSqlite3RowsPerSec)} rows/s)`);
  console.log(`  ratio                 ${bulk.ratio.toFixed(2)}x   (target >= 1.2x)`);
  mkdirSync(join(here, 'results'), { recursive: true });
  const result = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, totalMemoryBytes: totalmem(), node: process.version, platform: process.platform, arch: process.arch },
    concurrentInserts: inserts,
    bulkInsert: bulk,
  };
  writeFileSync(join(here, 'results', `write-path-${quick ? 'quick' : 'latest'}.json`), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
