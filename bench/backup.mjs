// Owns the backup benchmark: on one ~50 MB database,
//   1. point-read and single-row write throughput of litepool while db.backup() runs (backups
//      back to back for the whole window), against the same workloads without a backup, in
//      alternating windows compared by their medians (target: at least 70%);
//   2. backup speed in MB/s: litepool's db.backup() and better-sqlite3's backup() of the same
//      file, each without other load.
// Prints the figures and writes bench/results/backup-latest.json.
// Usage: node bench/backup.mjs [--quick]   (after `npm run build`; installs the peers on first use)

import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBetterSqlite3 } from './lib/peers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');


const Database = loadBetterSqlite3();
const { open } = await import('../dist/index.js');

const ROWS = quick ? 3_000 : 12_500; // rows of ~4 KB: ~12 MB quick, ~50 MB full
const WINDOW_MS = quick ? 1_000 : 2_000;
const ROUNDS = quick ? 3 : 5;
const READ_CONCURRENCY = 64;
const WRITE_CONCURRENCY = 32;
const dir = mkdtempSync(join(tmpdir(), 'litepool-backup-bench-'));
const source = join(dir, 'source.db');

async function build() {
  const db = await open(source, { walMonitor: false });
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL); CREATE TABLE w (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
  for (let done = 0; done < ROWS; done += 500) {
    await db.transaction(async (tx) => {
      for (let i = done; i < Math.min(ROWS, done + 500); i++) await tx.run('INSERT INTO t (v) VALUES (randomblob(4000))');
    });
  }
  await db.close();
  return statSync(source).size;
}

/** Runs `op` from `concurrency` loops for `ms`; returns operations per second. */
async function throughput(op, concurrency, ms) {
  let count = 0;
  const until = performance.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await op();
        count++;
      }
    }),
  );
  return count / (ms / 1000);
}

/** Backups back to back until `stop()`; resolves with how many completed. */
function backupsUntilStopped(db) {
  let stopped = false;
  let completed = 0;
  const running = (async () => {
    while (!stopped) {
      await db.backup(join(dir, 'during.db'));
      completed++;
    }
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      return completed;
    },
  };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * One workload alone and during back-to-back backups, in alternating windows (ROUNDS of each):
 * on a shared machine the load drifts, so each "during" window has an "alone" window beside it
 * and the medians are compared.
 */
async function compare(db, op, concurrency) {
  const alone = [];
  const during = [];
  let backups = 0;
  for (let round = 0; round < ROUNDS; round++) {
    alone.push(await throughput(op, concurrency, WINDOW_MS));
    const running = backupsUntilStopped(db);
    during.push(await throughput(op, concurrency, WINDOW_MS));
    backups += await running.stop();
  }
  return { alonePerSec: median(alone), duringBackupPerSec: median(during), ratio: median(during) / median(alone), rounds: { alone, during }, backupsCompleted: backups };
}

async function underLoad() {
  const db = await open(source, { walMonitor: false });
  let n = 0;
  const read = () => db.get('SELECT id, length(v) AS size FROM t WHERE id = ?', [1 + (n++ % ROWS)]);
  const write = () => db.run('INSERT INTO w (n) VALUES (?)', [n++]);
  await throughput(read, READ_CONCURRENCY, 500);
  await throughput(write, WRITE_CONCURRENCY, 500);
  const reads = await compare(db, read, READ_CONCURRENCY);
  const writes = await compare(db, write, WRITE_CONCURRENCY);
  await db.close();
  return { reads, writes };
}

async function speed(bytes) {
  const mb = bytes / 1024 / 1024;
  const db = await open(source, { walMonitor: false });
  await db.backup(join(dir, 'warm.db'));
  let started = performance.now();
  const { pages } = await db.backup(join(dir, 'litepool-copy.db'));
  const litepoolMs = performance.now() - started;
  await db.close();

  const peer = new Database(source);
  peer.pragma('journal_mode = WAL');
  await peer.backup(join(dir, 'warm-peer.db'));
  started = performance.now();
  await peer.backup(join(dir, 'better-sqlite3-copy.db'));
  const peerMs = performance.now() - started;
  peer.close();
  return { megabytes: mb, pages, litepoolMs, betterSqlite3Ms: peerMs, litepoolMBps: mb / (litepoolMs / 1000), betterSqlite3MBps: mb / (peerMs / 1000) };
}

try {
  const bytes = await build();
  const load = await underLoad();
  const copy = await speed(bytes);
  const fmt = (x) => Math.round(x).toLocaleString('en-US');
  const pct = (x) => `${(x * 100).toFixed(0)}%`;
  console.log(`database: ${(bytes / 1024 / 1024).toFixed(1)} MB, ${fmt(ROWS)} rows; ${ROUNDS} alternating windows of ${WINDOW_MS} ms each, medians; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`point reads (${READ_CONCURRENCY} concurrent)   alone ${fmt(load.reads.alonePerSec)}/s   during backup ${fmt(load.reads.duringBackupPerSec)}/s   ${pct(load.reads.ratio)} (${load.reads.backupsCompleted} backups)   target >= 70%`);
  console.log(`writes (${WRITE_CONCURRENCY} concurrent)        alone ${fmt(load.writes.alonePerSec)}/s   during backup ${fmt(load.writes.duringBackupPerSec)}/s   ${pct(load.writes.ratio)} (${load.writes.backupsCompleted} backups)   target >= 70%`);
  console.log(`backup speed                litepool ${copy.litepoolMBps.toFixed(0)} MB/s (${fmt(copy.litepoolMs)} ms)   better-sqlite3 ${copy.betterSqlite3MBps.toFixed(0)} MB/s (${fmt(copy.betterSqlite3Ms)} ms)`);
  mkdirSync(join(here, 'results'), { recursive: true });
  const result = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, totalMemoryBytes: totalmem(), loadAverage: loadavg(), node: process.version, platform: process.platform, arch: process.arch },
    databaseBytes: bytes,
    windowMs: WINDOW_MS,
    rounds: ROUNDS,
    underLoad: load,
    backupSpeed: copy,
  };
  writeFileSync(join(here, 'results', `backup-${quick ? 'quick' : 'latest'}.json`), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
