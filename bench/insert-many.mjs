// Owns the bulk-insert benchmark: litepool's db.insertMany against better-sqlite3 inserting the
// same rows with one prepared statement in one transaction (same schema, WAL, synchronous NORMAL),
// for 1,000, 100,000 and 1,000,000 rows. Every measurement runs in a fresh child process, and the
// drivers alternate round by round (A B, B A, ...), so that neither always runs on a warmer or
// quieter machine. Each child inserts 10,000 warm-up rows into another table first, and collects
// garbage (the rows just built) before the measured insert.
//
// Per run it reports the wall time of the insert, the JS thread's busy time (event-loop
// utilization: the time the loop was not waiting for events; with better-sqlite3 that is the
// whole insert), the main thread's CPU time (/proc, Linux only, 10 ms ticks), the process's CPU
// time (every thread), and how late a 1 ms timer fired while the insert ran (p99 and max).
//
// Usage: node bench/insert-many.mjs [--rounds 3] [--sizes 1000,100000,1000000]
//        [--baseline /path/to/other/litepool/dist/index.js]   (adds that build as "litepool-baseline")
//        [--chunk-size N]   (insertMany's chunkSize; default: its own default)
//        (after `npm run build`; installs the benchmark peers on first use)
// Writes bench/results/insert-many-latest.json.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const WARMUP_ROWS = 10_000;
const SCHEMA = 'CREATE TABLE t (name TEXT NOT NULL, value REAL NOT NULL, k INTEGER NOT NULL)';

function makeRows(count, prefix) {
  return Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${i}`, value: i * 0.5, k: i }));
}

/** CPU time of the process's main thread so far (ms), from /proc; undefined elsewhere. */
function mainThreadCpuMs() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/**
 * Event-loop lateness while something runs: a 1 ms timer re-armed on every tick records how late
 * each tick came (a loop blocked for the whole insert shows up as one tick that long).
 */
function lateness() {
  const samples = [];
  let expected = performance.now() + 1;
  let timer;
  const tick = () => {
    const now = performance.now();
    samples.push(Math.max(0, now - expected));
    expected = now + 1;
    timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  return () => {
    clearTimeout(timer);
    samples.sort((a, b) => a - b);
    return { p99: samples[Math.min(samples.length - 1, Math.floor(samples.length * 0.99))] ?? 0, max: samples.at(-1) ?? 0, ticks: samples.length };
  };
}

/** One measured insert in this process: `insert` runs the rows, everything around it is measured. */
async function measure(rows, insert) {
  // The rows were just built: collect that garbage now, so that its collection does not land in
  // the measured window of one driver and not the other.
  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 10));
  const stop = lateness();
  const eluBefore = performance.eventLoopUtilization();
  const cpuBefore = mainThreadCpuMs();
  const processBefore = process.cpuUsage();
  const started = performance.now();
  await insert(rows);
  const wallMs = performance.now() - started;
  const processCpu = process.cpuUsage(processBefore);
  const elu = performance.eventLoopUtilization(eluBefore);
  const cpuAfter = mainThreadCpuMs();
  // One more tick, so that a loop blocked until the end records that delay too.
  await new Promise((resolve) => setTimeout(resolve, 3));
  const late = stop();
  return {
    wallMs,
    jsBusyMs: elu.active,
    mainThreadCpuMs: cpuBefore === undefined ? undefined : cpuAfter - cpuBefore,
    processCpuMs: (processCpu.user + processCpu.system) / 1000,
    loopDelayP99Ms: late.p99,
    loopDelayMaxMs: late.max,
  };
}

async function child(driver, rowsCount, dir, module) {
  const rows = makeRows(rowsCount, 'row');
  const warm = makeRows(WARMUP_ROWS, 'warm');
  if (driver === 'better-sqlite3') {
    const Database = createRequire(import.meta.url)('better-sqlite3');
    const db = new Database(join(dir, 'b.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    db.exec(SCHEMA.replace('TABLE t', 'TABLE w'));
    const bulk = (table) => {
      const insert = db.prepare(`INSERT INTO ${table} (name, value, k) VALUES (?, ?, ?)`);
      return db.transaction((list) => {
        for (const row of list) insert.run(row.name, row.value, row.k);
      });
    };
    bulk('w')(warm);
    const run = bulk('t');
    const result = await measure(rows, async (list) => run(list));
    const stored = db.prepare('SELECT count(*) AS n FROM t').get().n;
    db.close();
    if (stored !== rowsCount) throw new Error(`better-sqlite3 stored ${stored} rows, expected ${rowsCount}`);
    return result;
  }
  const { open } = await import(module);
  const db = await open(join(dir, 'l.db'), { synchronous: 'normal' });
  await db.exec(SCHEMA);
  await db.exec(SCHEMA.replace('TABLE t', 'TABLE w'));
  await db.insertMany('w', warm);
  let reported = 0;
  const chunkSize = Number(process.env.LITEPOOL_BENCH_CHUNK_SIZE) || undefined;
  const result = await measure(rows, async (list) => {
    reported = await db.insertMany('t', list, chunkSize ? { chunkSize } : undefined);
  });
  const stored = (await db.get('SELECT count(*) AS n FROM t')).n;
  await db.close();
  if (stored !== rowsCount || reported !== rowsCount) throw new Error(`litepool stored ${stored} rows and reported ${reported}, expected ${rowsCount}`);
  return result;
}

function runChild(driver, rows, module) {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', driver, String(rows), module ?? ''], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, LITEPOOL_BENCH_CHUNK_SIZE: option('chunk-size', '') },
    });
    let out = '';
    proc.stdout.on('data', (chunk) => (out += chunk));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${driver} ${rows} rows: child exited with ${code}`));
      resolvePromise(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

function ensurePeer() {
  const require = createRequire(import.meta.url);
  try {
    require.resolve('better-sqlite3');
  } catch {
    console.error('installing the benchmark peers into bench/node_modules (first run only)...');
    execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['install', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit', shell: process.platform === 'win32' });
  }
}

async function main() {
  ensurePeer();
  const rounds = Number(option('rounds', '3'));
  const sizes = option('sizes', '1000,100000,1000000').split(',').map(Number);
  const drivers = [['litepool', pathToFileURL(join(here, '..', 'dist', 'index.js')).href], ['better-sqlite3', undefined]];
  const baseline = option('baseline', undefined);
  if (baseline) drivers.push(['litepool-baseline', pathToFileURL(resolve(baseline)).href]);
  const load = loadavg()[0];
  const results = {};
  for (const rows of sizes) {
    results[rows] = Object.fromEntries(drivers.map(([name]) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? drivers : [...drivers].reverse();
      for (const [name, module] of order) results[rows][name].push(await runChild(name, rows, module));
    }
  }
  const fmt = (n, digits = 0) => (n === undefined ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
  console.log(`insertMany vs better-sqlite3 (prepared INSERT in one transaction); ${rounds} interleaved rounds, medians; load average ${load.toFixed(2)} at start, ${cpus().length} CPUs`);
  console.log('rows       driver              wall ms   rows/s       JS busy ms  main-thread CPU ms  process CPU ms  timer lateness p99 / max ms');
  const summary = {};
  for (const rows of sizes) {
    summary[rows] = {};
    for (const [name] of drivers) {
      const runs = results[rows][name];
      const m = (key) => (runs[0][key] === undefined ? undefined : median(runs.map((r) => r[key])));
      const s = { wallMs: m('wallMs'), jsBusyMs: m('jsBusyMs'), mainThreadCpuMs: m('mainThreadCpuMs'), processCpuMs: m('processCpuMs'), loopDelayP99Ms: m('loopDelayP99Ms'), loopDelayMaxMs: m('loopDelayMaxMs'), runs };
      summary[rows][name] = s;
      console.log(
        `${fmt(rows).padEnd(10)} ${name.padEnd(18)} ${fmt(s.wallMs, 1).padStart(8)} ${fmt(rows / (s.wallMs / 1000)).padStart(11)} ${fmt(s.jsBusyMs, 1).padStart(11)} ${fmt(s.mainThreadCpuMs).padStart(18)} ${fmt(s.processCpuMs).padStart(15)}   ${fmt(s.loopDelayP99Ms, 1)} / ${fmt(s.loopDelayMaxMs, 1)}`,
      );
    }
    const ratio = summary[rows]['better-sqlite3'].wallMs / summary[rows].litepool.wallMs;
    summary[rows].ratio = ratio;
    const line = `${fmt(rows).padEnd(10)} litepool / better-sqlite3 speed: ${ratio.toFixed(2)}x (per-round: ${results[rows].litepool.map((r, i) => (results[rows]['better-sqlite3'][i].wallMs / r.wallMs).toFixed(2)).join(', ')})`;
    console.log(line + (baseline ? `; baseline ${(summary[rows]['better-sqlite3'].wallMs / summary[rows]['litepool-baseline'].wallMs).toFixed(2)}x` : ''));
  }
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'insert-many-latest.json'),
    `${JSON.stringify({ date: new Date().toISOString(), rounds, loadAverage: load, cpus: cpus().length, node: process.version, baseline: baseline ?? null, results: summary }, null, 2)}\n`,
  );
}

if (args[0] === '--child') {
  const [, driver, rows, module] = args;
  const dir = mkdtempSync(join(tmpdir(), 'litepool-insert-many-'));
  try {
    const result = await child(driver, Number(rows), dir, module || undefined);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  await main();
}
