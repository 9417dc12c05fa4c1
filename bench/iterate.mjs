// Owns the iterate() benchmark: litepool's db.iterate() against better-sqlite3's stmt.iterate()
// over the same `items` rows (SELECT * … ORDER BY id LIMIT n from a random start), for n = 10,
// 100, 1,000 and 100,000, plus the event-loop lateness while litepool streams 100,000 rows.
// Every driver runs in a fresh child process, the drivers alternate round by round
// (interleaved A/B), and the figures are medians over the rounds: ops/s, the process CPU time per
// operation (every thread: litepool's readers included) and the loop lateness p99/max.
//
// Usage: node bench/iterate.mjs [--quick] [--rounds=3] [--ms=1500] [--dist=DIR]
//   (after `npm run build:ts`; installs the peers on first use). --dist runs litepool from another
//   package root (a directory holding dist/ and build/), to compare two versions in one run.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadBetterSqlite3 } from './lib/peers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=');
    return [key, value ?? true];
  }),
);
const quick = args.quick === true;
const SIZES = [10, 100, 1_000, 100_000];
const ITEMS = 100_000;
const SQL = 'SELECT * FROM items WHERE id >= ? ORDER BY id LIMIT ?';


/** A seeded start id so that every driver reads the same ranges. */
function starts(seed) {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return 1 + (state % (ITEMS - n + 1));
  };
}

/** One driver in this process: iterate(n, start) → rows seen. */
async function openDriver(name, file) {
  if (name === 'better-sqlite3') {
    const Database = loadBetterSqlite3();
    const db = new Database(file, { readonly: true });
    db.pragma('cache_size = -16000');
    const stmt = db.prepare(SQL);
    return {
      iterate: async (n, start) => {
        let seen = 0;
        for (const _row of stmt.iterate(start, n)) seen++;
        return seen;
      },
      close: async () => db.close(),
    };
  }
  const root = resolve(args.dist ?? join(here, '..'));
  const { open } = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);
  const pool = await open(file, { readers: 4, cacheSize: 16_000 });
  return {
    iterate: async (n, start) => {
      let seen = 0;
      for await (const _row of pool.iterate(SQL, [start, n])) seen++;
      return seen;
    },
    close: () => pool.close(),
  };
}

/** Child: runs every size for `ms` each (after a warm-up) and prints one JSON line. */
async function child() {
  const driver = await openDriver(args.child, args.file);
  const ms = Number(args.ms ?? (quick ? 500 : 1500));
  const out = {};
  for (const n of SIZES) {
    const next = starts(n);
    const warmUntil = performance.now() + ms / 4;
    while (performance.now() < warmUntil) await driver.iterate(n, next(n));
    const delay = monitorEventLoopDelay({ resolution: 1 });
    if (n >= 100_000) delay.enable();
    const cpu = process.cpuUsage();
    const started = performance.now();
    let ops = 0;
    let rows = 0;
    while (performance.now() - started < ms || ops < 3) {
      rows += await driver.iterate(n, next(n));
      ops++;
    }
    const elapsed = performance.now() - started;
    const used = process.cpuUsage(cpu);
    delay.disable();
    if (rows !== ops * n) throw new Error(`${args.child}: ${rows} rows for ${ops} iterations of ${n}`);
    out[n] = {
      opsPerSec: (ops * 1000) / elapsed,
      cpuMicrosPerOp: (used.user + used.system) / ops,
      ...(n >= 100_000 ? { lateP99Ms: delay.percentile(99) / 1e6, lateMaxMs: delay.max / 1e6 } : {}),
    };
  }
  await driver.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'litepool-iterate-'));
  const file = join(dir, 'bench.db');
  try {
    const Database = loadBetterSqlite3();
    const { buildDataset } = await import('./lib/data.mjs');
    buildDataset(Database, file, { users: 10 });
    const drivers = ['litepool', 'better-sqlite3'];
    const rounds = Number(args.rounds ?? (quick ? 1 : 3));
    const results = { litepool: [], 'better-sqlite3': [] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? drivers : [...drivers].reverse();
      for (const name of order) {
        const extra = [args.ms ? `--ms=${args.ms}` : '', quick ? '--quick' : '', args.dist ? `--dist=${args.dist}` : ''].filter(Boolean);
        const line = execFileSync(process.execPath, [fileURLToPath(import.meta.url), `--child=${name}`, `--file=${file}`, ...extra], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        results[name].push(JSON.parse(line.trim().split('\n').pop()));
      }
    }
    const pick = (name, n, key) => median(results[name].map((r) => r[n][key]));
    console.log(`iterate(): litepool${args.dist ? ` (${args.dist})` : ''} vs better-sqlite3, ${rounds} interleaved round(s), medians`);
    console.log('rows      litepool ops/s  better-sqlite3 ops/s  ratio  CPU µs/op litepool  CPU µs/op better-sqlite3');
    for (const n of SIZES) {
      const a = pick('litepool', n, 'opsPerSec');
      const b = pick('better-sqlite3', n, 'opsPerSec');
      console.log(
        `${String(n).padEnd(8)}  ${a.toFixed(0).padStart(14)}  ${b.toFixed(0).padStart(20)}  ${(a / b).toFixed(2).padStart(4)}x` +
          `  ${pick('litepool', n, 'cpuMicrosPerOp').toFixed(0).padStart(18)}  ${pick('better-sqlite3', n, 'cpuMicrosPerOp').toFixed(0).padStart(24)}`,
      );
    }
    const big = SIZES.at(-1);
    console.log(
      `loop lateness while iterating ${big.toLocaleString('en-US')} rows: litepool p99 ${pick('litepool', big, 'lateP99Ms').toFixed(2)} ms, ` +
        `max ${pick('litepool', big, 'lateMaxMs').toFixed(2)} ms; better-sqlite3 blocks the loop for the whole iteration, ` +
        `${(1000 / pick('better-sqlite3', big, 'opsPerSec')).toFixed(0)} ms`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args.child) await child();
else await main();
