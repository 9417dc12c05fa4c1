// Owns the benchmark suite's entry point: installs the peer drivers on first use, builds the
// shared datasets in a fresh temp directory, runs every workload driver by driver (never two
// drivers at once), prints a table per workload with ratios against better-sqlite3, checks the
// project's performance targets, and writes bench/results/*.json and docs/benchmark-chart.svg.
//
//   node bench/run.mjs                 full run (under 10 minutes on 2 cores)
//   node bench/run.mjs --quick         smoke run (under 1 minute): shorter, smaller heavy dataset
//   --only=point-select,heavy,...      run some workloads only (results are then not written)
//   --drivers=litepool,better-sqlite3  run some drivers only (results are then not written)
//   --write                            write results even for a filtered run
//   --concurrency=64                   point-select at these concurrencies only (comma-separated)
//   --cpu-prof[=dir]                   V8 CPU profile of the JS thread around each workload only
//                                      (not the dataset build); summarize with bench/cpuprofile-top.mjs
//
// Workloads: point-select, connection-overhead, heavy, classic, event-loop, mixed, memory, write.

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

import {
  asyncWorkers,
  asyncWorkersCount,
  lagMonitor,
  now,
  randomId,
  sleep,
  steadyRate,
  syncClients,
  syncLoop,
  syncLoopCount,
} from './lib/harness.mjs';
import { BASELINE, chartFromReport, fmtInt, fmtMs, fmtRatio, printTable, ratio } from './lib/report.mjs';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH_DIR, '..');
const RESULTS_DIR = join(BENCH_DIR, 'results');
const CHART_FILE = join(ROOT, 'docs', 'benchmark-chart.svg');

const WORKLOADS = ['point-select', 'connection-overhead', 'heavy', 'classic', 'event-loop', 'mixed', 'memory', 'write'];

// ── arguments and settings ────────────────────────────────────────────────────────────────────

function parseArgs(argv) {
  const args = { quick: false, write: false, only: undefined, drivers: undefined, child: undefined, cpuProf: undefined };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, '').split('=');
    if (key === 'quick') args.quick = true;
    else if (key === 'write') args.write = true;
    else if (key === 'only') args.only = (value ?? '').split(',');
    else if (key === 'drivers') args.drivers = (value ?? '').split(',');
    else if (key === 'cpu-prof') args.cpuProf = value ?? join(os.tmpdir(), 'litepool-bench-prof');
    else if (['child', 'driver', 'file', 'count', 'warmup', 'concurrency'].includes(key)) args[key] = value;
    else if (key === 'help' || key === 'h') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n\n')[0].replace(/^\/\/ ?/gm, ''));
      process.exit(0);
    } else {
      console.error(`unknown argument ${arg} (try --help)`);
      process.exit(2);
    }
  }
  for (const w of args.only ?? []) {
    if (!WORKLOADS.includes(w)) {
      console.error(`unknown workload ${w}; workloads: ${WORKLOADS.join(', ')}`);
      process.exit(2);
    }
  }
  return args;
}

function settings(quick) {
  return quick
    ? {
        heavyUsers: 200,
        warmupMs: 150,
        pointMs: 500,
        connectionQueries: 10_000,
        heavyMs: 1_200,
        lagMs: 700,
        mixedMs: 1_200,
        mixedRate: 500,
        tinyTimeMs: 120,
        tinyWarmupMs: 40,
        memorySelects: 200_000,
        memoryWarmup: 20_000,
        writeRows: 20_000,
        repeats: 3,
      }
    : {
        heavyUsers: 1_000,
        warmupMs: 500,
        pointMs: 3_000,
        connectionQueries: 10_000,
        heavyMs: 6_000,
        lagMs: 3_000,
        mixedMs: 4_000,
        mixedRate: 500,
        tinyTimeMs: 1_000,
        tinyWarmupMs: 200,
        memorySelects: 1_000_000,
        memoryWarmup: 100_000,
        writeRows: 100_000,
        repeats: 5,
      };
}

let CONCURRENCIES = [1, 8, 64];
const HEAVY_WORKERS = 100;
const CONNECTION_WORKERS = 5;
const MIXED_HEAVY_WORKERS = 16;
const WRITE_CONCURRENCY = 64;
const MEMORY_CONCURRENCY = 64;

// ── peer installation ─────────────────────────────────────────────────────────────────────────

/**
 * Installs bench/node_modules when it is missing or was installed for another package.json or
 * Node ABI, then loads each native peer in a child process (a binary built for another Node can
 * crash the process that loads it). When that fails, installs from scratch once more.
 */
function ensurePeers() {
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

function ensureDist() {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
    console.error('bench: dist/index.js is missing; compile the library first: npx tsc -p tsconfig.build.json');
    process.exit(1);
  }
}

// ── helpers ───────────────────────────────────────────────────────────────────────────────────

let gc = globalThis.gc;
if (!gc) {
  try {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc');
  } catch {
    gc = () => {};
  }
}

async function settle() {
  gc();
  await sleep(50);
}

/** Opens `driver` on `file`, runs `body(conn)`, always closes. */
async function withConnection(driver, file, body) {
  const conn = await driver.open(file);
  try {
    return await body(conn);
  } finally {
    await conn.close();
    await settle();
  }
}

/** The run whose `key` is the median of `runs`. */
function median(runs, key) {
  return [...runs].sort((a, b) => a[key] - b[key])[Math.floor((runs.length - 1) / 2)];
}

function progress(message) {
  process.stderr.write(`  … ${message}\n`);
}

/**
 * CPU time of the whole machine and of this process (with its waited-for children), in seconds,
 * from /proc (Linux only): lets a run report how much CPU other processes took meanwhile, since
 * a busy neighbour skews every figure on a 2-core machine.
 */
function cpuSnapshot() {
  try {
    const hz = 100;
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = cpu[3] + (cpu[4] ?? 0);
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    const self = readFileSync('/proc/self/stat', 'utf8');
    const fields = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);
    // fields[11..14] are utime, stime, cutime, cstime (stat fields 14–17).
    const ours = fields[11] + fields[12] + fields[13] + fields[14];
    return { at: now(), busy: (total - idle) / hz, ours: ours / hz };
  } catch {
    return undefined;
  }
}

/** Cores used by other processes on average between two snapshots. */
function otherLoad(a, b) {
  if (!a || !b) return undefined;
  const seconds = (b.at - a.at) / 1000;
  return Math.max(0, (b.busy - a.busy - (b.ours - a.ours)) / seconds);
}

function machineInfo() {
  const cpus = os.cpus();
  let git;
  const rev = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (rev.status === 0) {
    const dirty = spawnSync('git', ['status', '--porcelain', '--', 'lib', 'native', 'deps'], { cwd: ROOT, encoding: 'utf8' });
    git = { commit: rev.stdout.trim(), libOrNativeModified: dirty.status === 0 ? dirty.stdout.trim().length > 0 : undefined };
  }
  return {
    platform: process.platform,
    arch: process.arch,
    osRelease: os.release(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    availableParallelism: os.availableParallelism?.() ?? cpus.length,
    totalMemoryBytes: os.totalmem(),
    node: process.versions.node,
    v8: process.versions.v8,
    uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    loadAverageAtStart: os.loadavg(),
    git,
  };
}

// ── workloads ─────────────────────────────────────────────────────────────────────────────────

/** Point SELECT by primary key at concurrency 1, 8, 64 (sync drivers simply loop). */
async function pointSelect(ctx) {
  const { drivers, file, cfg } = ctx;
  const out = {};
  for (const driver of drivers.filter((d) => !d.perQuery)) {
    progress(`point-select: ${driver.label}`);
    out[driver.id] = await withConnection(driver, file, async (conn) => {
      const fn = () => conn.get(ctx.sql.point, [randomId(ctx.shape.items)]);
      const res = {};
      if (conn.kind === 'sync') {
        syncLoop({ durationMs: cfg.warmupMs, fn });
        for (const c of CONCURRENCIES) res[`c${c}`] = syncLoop({ durationMs: cfg.pointMs, fn }).opsPerSec;
      } else {
        await asyncWorkers({ concurrency: 64, durationMs: cfg.warmupMs, fn });
        for (const c of CONCURRENCIES) res[`c${c}`] = (await asyncWorkers({ concurrency: c, durationMs: cfg.pointMs, fn })).opsPerSec;
      }
      return res;
    });
  }
  const base = out[BASELINE];
  printTable(
    `Point SELECT by primary key (${fmtInt(ctx.shape.items)} rows), ops/s`,
    ['driver', ...CONCURRENCIES.flatMap((c) => [`c=${c}`, `vs ${BASELINE}`])],
    Object.entries(out).map(([id, r]) => [
      ctx.label(id),
      ...CONCURRENCIES.flatMap((c) => [fmtInt(r[`c${c}`]), fmtRatio(ratio(r[`c${c}`], base?.[`c${c}`]))]),
    ]),
    ['sync drivers have no concurrency: they run the same plain loop at every c'],
  );
  return out;
}

/** 10,000 simple SELECTs over 5 workers: pooled connections vs a connection opened per query. */
async function connectionOverhead(ctx) {
  const { drivers, file, cfg } = ctx;
  const out = {};
  const total = cfg.connectionQueries;
  for (const driver of drivers) {
    progress(`connection-overhead: ${driver.label}`);
    const opened = now();
    const conn = await driver.open(file);
    const openMs = now() - opened;
    try {
      const fn = () => conn.get(ctx.sql.simple, [randomId(ctx.shape.items)]);
      // A short warm-up so JIT state does not decide the comparison.
      if (conn.kind === 'sync') syncLoopCount({ total: Math.min(500, total), fn });
      else await asyncWorkersCount({ concurrency: CONNECTION_WORKERS, total: Math.min(500, total), fn });
      // 10,000 queries take tens of milliseconds on a pooled connection: repeat, keep the median.
      const repeats = driver.perQuery ? 1 : cfg.repeats;
      const runs = [];
      for (let i = 0; i < repeats; i++) {
        runs.push(
          conn.kind === 'sync'
            ? syncLoopCount({ total, fn })
            : await asyncWorkersCount({ concurrency: CONNECTION_WORKERS, total, fn }),
        );
      }
      out[driver.id] = { ...median(runs, 'elapsedMs'), openMs, repeats, allElapsedMs: runs.map((r) => r.elapsedMs) };
    } finally {
      await conn.close();
      await settle();
    }
  }
  const base = out[BASELINE];
  const perQuery = out['open-per-query'];
  printTable(
    `Connection overhead: ${fmtInt(total)} simple SELECTs, ${CONNECTION_WORKERS} concurrent workers`,
    ['driver', 'total ms', 'ops/s', `vs ${BASELINE}`, 'vs open-per-query', 'open ms'],
    Object.entries(out).map(([id, r]) => [
      ctx.label(id),
      fmtMs(r.elapsedMs, 1),
      fmtInt(r.opsPerSec),
      fmtRatio(ratio(r.opsPerSec, base?.opsPerSec)),
      fmtRatio(ratio(r.opsPerSec, perQuery?.opsPerSec)),
      fmtMs(r.openMs),
    ]),
    [
      `pooled drivers: median of ${cfg.repeats} repetitions; open per query: one`,
      '"open ms": opening the pool/connection once, not included in total ms',
    ],
  );
  return out;
}

/** Runs the heavy query against `conn` with `workers` concurrent clients for `durationMs`. */
function heavyRun(ctx, conn, workers, durationMs) {
  const fn = () => conn.get(ctx.sql.heavy, [randomId(ctx.shape.posts)]);
  return conn.kind === 'sync'
    ? syncClients({ concurrency: workers, durationMs, fn, latencies: true })
    : asyncWorkers({ concurrency: workers, durationMs, fn, latencies: true });
}

/** The heavy JOIN/GROUP BY per request, 100 concurrent clients. */
async function heavy(ctx) {
  const { drivers, file, cfg } = ctx;
  const out = {};
  for (const driver of drivers.filter((d) => !d.perQuery)) {
    progress(`heavy: ${driver.label}`);
    out[driver.id] = await withConnection(driver, file, async (conn) => {
      await heavyRun(ctx, conn, HEAVY_WORKERS, cfg.warmupMs);
      return heavyRun(ctx, conn, HEAVY_WORKERS, cfg.heavyMs);
    });
  }
  const base = out[BASELINE];
  printTable(
    `Heavy load: JOIN + GROUP BY for a random post (${fmtInt(ctx.shape.users)} users, ${fmtInt(ctx.shape.posts)} posts, ` +
      `${fmtInt(ctx.shape.comments)} comments, ${fmtInt(ctx.shape.likes)} likes), ${HEAVY_WORKERS} concurrent clients`,
    ['driver', 'req/s', `vs ${BASELINE}`, 'mean ms', 'median ms', 'p90 ms', 'p99 ms'],
    Object.entries(out).map(([id, r]) => [
      ctx.label(id),
      fmtInt(r.opsPerSec),
      fmtRatio(ratio(r.opsPerSec, base?.opsPerSec)),
      fmtMs(r.latency.mean),
      fmtMs(r.latency.median),
      fmtMs(r.latency.p90),
      fmtMs(r.latency.p99),
    ]),
    [
      'latency = arrival of a client request to its answer; sync drivers serve one client per event-loop turn,',
      'so their latency includes the wait behind the other clients on the one JS thread',
    ],
  );
  return out;
}

/** The five classic single-operation cases, with tinybench. */
async function classic(ctx) {
  const { Bench } = await import('tinybench');
  const { drivers, file, cfg, dir } = ctx;
  const { buildInsertFile, itemRow, seeded } = await import('./lib/data.mjs');
  const cases = ['get one row', 'all 100 rows', 'iterate 100 rows', 'insert one row', 'insert 100 rows (transaction)'];
  const out = {};
  const notes = [];
  const random = seeded(7);
  const rows100 = Array.from({ length: 100 }, (_, i) => itemRow(random, i));
  const one = itemRow(random, 0);
  for (const driver of drivers.filter((d) => !d.perQuery && d.id !== 'sqlite3x4')) {
    progress(`classic: ${driver.label}`);
    const insertFile = join(dir, `classic-${driver.id}.db`);
    buildInsertFile(ctx.BetterSqlite3, insertFile);
    const reader = await driver.open(file);
    const writer = await driver.open(insertFile);
    try {
      const bench = new Bench({ time: cfg.tinyTimeMs, warmupTime: cfg.tinyWarmupMs, throws: true });
      const n = ctx.shape.items - 100;
      const tasks = {
        'get one row': () => reader.get(ctx.sql.getOne, [randomId(ctx.shape.items)]),
        'all 100 rows': () => reader.all(ctx.sql.range100, [randomId(n)]),
        'iterate 100 rows': () => reader.iterate(ctx.sql.range100, [randomId(n)]),
        'insert one row': () => writer.run(ctx.sql.insertItem, one),
        'insert 100 rows (transaction)': () => writer.insertMany(ctx.sql.insertItem, rows100),
      };
      for (const [name, fn] of Object.entries(tasks)) bench.add(name, fn);
      // litepool's other ways of writing 100 rows atomically, when this version has them.
      const variants = [];
      if (driver.id === 'litepool') {
        for (const [id, fn] of [
          ['litepool-batch', writer.insertManyBatch],
          ['litepool-tx', writer.insertManyTx],
        ]) {
          if (!fn) continue;
          const b = new Bench({ time: cfg.tinyTimeMs, warmupTime: cfg.tinyWarmupMs, throws: true });
          b.add('insert 100 rows (transaction)', () => fn(ctx.sql.insertItem, rows100));
          variants.push([id, b]);
        }
      }
      await bench.run();
      for (const [, b] of variants) await b.run();
      const collect = (b) =>
        Object.fromEntries(
          b.tasks.map((t) => [
            t.name,
            { opsPerSec: 1000 / t.result.period, meanMs: t.result.latency.mean, p99Ms: t.result.latency.p99, samples: t.result.latency.samplesCount ?? t.runs },
          ]),
        );
      out[driver.id] = collect(bench);
      for (const [id, b] of variants) out[id] = collect(b);
      if (driver.id === 'litepool') {
        notes.push(`litepool "iterate 100 rows" uses ${reader.iterateMethod}`);
        notes.push(
          'litepool "insert 100 rows (transaction)" is one multi-row INSERT … VALUES (?,?,?,?), … statement through run() ' +
            '(its own implicit transaction); "litepool (batch())" is db.batch() of 100 single-row INSERTs (atomic, one round trip); ' +
            '"litepool (transaction())" is db.transaction() with 100 awaited tx.run() calls',
        );
      } else if (reader.iterateMethod) {
        notes.push(`${driver.label} "iterate 100 rows" uses ${reader.iterateMethod}`);
      }
    } finally {
      await reader.close();
      await writer.close();
      await settle();
    }
  }
  notes.push('better-sqlite3 / node:sqlite insert 100: one prepared INSERT run 100 times inside BEGIN … COMMIT; sqlite3 the same with queued Statement#run calls');
  const ids = Object.keys(out);
  printTable(
    'Single operations (tinybench; one operation at a time), ops/s',
    ['case', ...ids.flatMap((id) => [ctx.label(id), id === BASELINE ? '' : `vs ${BASELINE}`])].filter((h, i) => h !== '' || i === 0),
    cases.map((c) => [
      c,
      ...ids.flatMap((id) =>
        id === BASELINE
          ? [fmtInt(out[id][c]?.opsPerSec)]
          : [fmtInt(out[id][c]?.opsPerSec), fmtRatio(ratio(out[id][c]?.opsPerSec, out[BASELINE]?.[c]?.opsPerSec))],
      ),
    ]),
    notes,
  );
  return { cases, results: out, notes };
}

/** Lateness of a 1 ms timer while each driver runs the heavy workload (and point reads at c=64). */
async function eventLoop(ctx) {
  const { drivers, file, cfg } = ctx;
  const idleStop = lagMonitor();
  await sleep(Math.min(1000, cfg.lagMs));
  const idle = idleStop();
  const out = {};
  for (const driver of drivers.filter((d) => !d.perQuery)) {
    progress(`event-loop: ${driver.label}`);
    out[driver.id] = await withConnection(driver, file, async (conn) => {
      await heavyRun(ctx, conn, HEAVY_WORKERS, cfg.warmupMs / 2);
      let stop = lagMonitor();
      const h = await heavyRun(ctx, conn, HEAVY_WORKERS, cfg.lagMs);
      const heavyLag = stop();
      const fn = () => conn.get(ctx.sql.point, [randomId(ctx.shape.items)]);
      stop = lagMonitor();
      const p =
        conn.kind === 'sync'
          ? await syncClients({ concurrency: 64, durationMs: cfg.lagMs / 2, fn })
          : await asyncWorkers({ concurrency: 64, durationMs: cfg.lagMs / 2, fn });
      const pointLag = stop();
      return { heavy: { lag: heavyLag, opsPerSec: h.opsPerSec }, point64: { lag: pointLag, opsPerSec: p.opsPerSec } };
    });
  }
  printTable(
    'Event-loop responsiveness: lateness of a 1 ms setInterval (actual interval − 1 ms), ms',
    ['driver', 'heavy p99', 'heavy max', 'heavy req/s', 'point c=64 p99', 'point c=64 max'],
    [
      ['(idle, no queries)', fmtMs(idle.p99), fmtMs(idle.max), '', '', ''],
      ...Object.entries(out).map(([id, r]) => [
        ctx.label(id),
        fmtMs(r.heavy.lag.p99),
        fmtMs(r.heavy.lag.max),
        fmtInt(r.heavy.opsPerSec),
        fmtMs(r.point64.lag.p99),
        fmtMs(r.point64.lag.max),
      ]),
    ],
    [`heavy: ${HEAVY_WORKERS} concurrent clients as in the heavy workload; point: 64 concurrent clients`],
  );
  return { idle, drivers: out };
}

/** Point reads at a steady rate while heavy queries run concurrently. */
async function mixed(ctx) {
  const { drivers, file, cfg } = ctx;
  const out = {};
  for (const driver of drivers.filter((d) => !d.perQuery)) {
    progress(`mixed: ${driver.label}`);
    out[driver.id] = await withConnection(driver, file, async (conn) => {
      await heavyRun(ctx, conn, MIXED_HEAVY_WORKERS, cfg.warmupMs / 2);
      const background = heavyRun(ctx, conn, MIXED_HEAVY_WORKERS, cfg.mixedMs);
      const reads = await steadyRate({
        ratePerSec: cfg.mixedRate,
        durationMs: cfg.mixedMs,
        fn: () => conn.get(ctx.sql.postById, [randomId(ctx.shape.posts)]),
      });
      const h = await background;
      return { pointLatency: reads.latency, pointRequests: reads.requests, heavyOpsPerSec: h.opsPerSec, sync: conn.kind === 'sync' };
    });
  }
  const base = out[BASELINE];
  printTable(
    `Mixed load: point reads at ${cfg.mixedRate}/s while ${MIXED_HEAVY_WORKERS} clients run the heavy query, point-read latency in ms`,
    ['driver', 'p50', 'p99', 'max', 'heavy req/s meanwhile', `heavy vs ${BASELINE}`],
    Object.entries(out).map(([id, r]) => [
      `${ctx.label(id)}${r.sync ? ' (sync, reference)' : ''}`,
      fmtMs(r.pointLatency.median),
      fmtMs(r.pointLatency.p99),
      fmtMs(r.pointLatency.max),
      fmtInt(r.heavyOpsPerSec),
      fmtRatio(ratio(r.heavyOpsPerSec, base?.heavyOpsPerSec)),
    ]),
    ['latency is measured from each read\'s scheduled time, so time the event loop was blocked counts'],
  );
  return out;
}

/** RSS growth over N point selects, each driver in a child process started with --expose-gc. */
async function memory(ctx) {
  const { drivers, file, cfg } = ctx;
  const out = {};
  for (const driver of drivers.filter((d) => ['litepool', BASELINE].includes(d.id))) {
    progress(`memory: ${driver.label} (${fmtInt(cfg.memorySelects)} point selects in a child process)`);
    const child = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        fileURLToPath(import.meta.url),
        '--child=memory',
        `--driver=${driver.id}`,
        `--file=${file}`,
        `--count=${cfg.memorySelects}`,
        `--warmup=${cfg.memoryWarmup}`,
      ],
      { encoding: 'utf8', maxBuffer: 16 << 20 },
    );
    const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (child.status !== 0 || !line) {
      out[driver.id] = { error: `child failed (${child.signal ?? child.status}): ${child.stderr.slice(-2000)}` };
      console.error(out[driver.id].error);
      continue;
    }
    out[driver.id] = JSON.parse(line.slice(7));
  }
  const MB = 1024 * 1024;
  printTable(
    `Memory: RSS over ${fmtInt(cfg.memorySelects)} point selects (after a full scan on every connection and a ${fmtInt(cfg.memoryWarmup)}-select warm-up, gc forced before each reading), MB`,
    ['driver', 'RSS at open', 'RSS after warm-up', 'RSS after', 'growth', 'peak', 'heap growth', 'V8 heap reserved growth', 'selects/s'],
    Object.entries(out)
      .filter(([, r]) => !r.error)
      .map(([id, r]) => [
        ctx.label(id),
        (r.rssOpen / MB).toFixed(1),
        (r.rssBefore / MB).toFixed(1),
        (r.rssAfter / MB).toFixed(1),
        ((r.rssAfter - r.rssBefore) / MB).toFixed(1),
        (r.rssPeak / MB).toFixed(1),
        ((r.heapAfter - r.heapBefore) / MB).toFixed(2),
        r.heapTotalAfter === undefined ? '' : ((r.heapTotalAfter - r.heapTotalBefore) / MB).toFixed(1),
        fmtInt(r.opsPerSec),
      ]),
    [`litepool runs them with ${MEMORY_CONCURRENCY} requests outstanding; better-sqlite3 in a loop`],
  );
  return out;
}

/** The memory child: opens one driver, runs the selects, prints RESULT {json}. */
async function memoryChild(args) {
  const { loadDrivers, driverTable } = await import('./lib/drivers.mjs');
  const { SQL, ITEMS } = await import('./lib/data.mjs');
  const driver = driverTable(await loadDrivers()).find((d) => d.id === args.driver);
  const count = Number(args.count);
  const warmup = Number(args.warmup);
  const forceGc = async () => {
    for (let i = 0; i < 3; i++) {
      globalThis.gc?.();
      await sleep(20);
    }
  };
  const conn = await driver.open(args.file);
  await forceGc();
  const rssOpen = process.memoryUsage.rss();
  let rssPeak = rssOpen;
  const fn = () => conn.get(SQL.point, [randomId(ITEMS)]);
  const runSelects = async (total) => {
    if (conn.kind === 'sync') {
      for (let done = 0; done < total; done += 10_000) {
        syncLoopCount({ total: Math.min(10_000, total - done), fn });
        rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
      }
    } else {
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 20);
      try {
        await asyncWorkersCount({ concurrency: MEMORY_CONCURRENCY, total, fn });
      } finally {
        clearInterval(sampler);
      }
    }
  };
  // Fills the page cache of every connection first (a pool spreads requests unevenly over its
  // readers, so point selects alone may leave some cold until the measured run): the growth then
  // measures what the selects leave behind, not caches filling up to their cacheSize.
  const scan = () => conn.all(SQL.scanItems, []);
  if (conn.kind === 'sync') scan();
  else await Promise.all(Array.from({ length: 16 }, scan));
  await runSelects(warmup);
  await forceGc();
  const rssBefore = process.memoryUsage.rss();
  const { heapUsed: heapBefore, heapTotal: heapTotalBefore } = process.memoryUsage();
  const started = now();
  await runSelects(count);
  const elapsedMs = now() - started;
  rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  await forceGc();
  const rssAfter = process.memoryUsage.rss();
  const { heapUsed: heapAfter, heapTotal: heapTotalAfter } = process.memoryUsage();
  await conn.close();
  console.log(
    `RESULT ${JSON.stringify({ count, warmup, rssOpen, rssBefore, rssAfter, rssPeak, heapBefore, heapAfter, heapTotalBefore, heapTotalAfter, elapsedMs, opsPerSec: (count * 1000) / elapsedMs, gcExposed: typeof globalThis.gc === 'function' })}`,
  );
}

/** Single-row INSERTs: litepool with 64 promises outstanding vs autocommit loops. */
async function write(ctx) {
  const { drivers, cfg, dir } = ctx;
  const { buildInsertFile, seeded } = await import('./lib/data.mjs');
  const random = seeded(11);
  const rows = Array.from({ length: cfg.writeRows }, (_, i) => [`kind-${i % 7}`, `payload ${i} ${random().toString(36).slice(2)}`, 1_700_000_000_000 + i]);
  const out = {};
  for (const driver of drivers.filter((d) => !d.perQuery && d.id !== 'sqlite3x4')) {
    progress(`write: ${driver.label}`);
    // Each repetition writes the same rows into a fresh file; the median is kept. (The sqlite3
    // reference is slow enough to be measured once.)
    const repeats = driver.id === 'sqlite3' ? 1 : cfg.repeats;
    const runs = [];
    for (let rep = 0; rep < repeats; rep++) {
      const writeFile = join(dir, `write-${driver.id}-${rep}.db`);
      buildInsertFile(ctx.BetterSqlite3, writeFile);
      runs.push(
        await withConnection(driver, writeFile, async (conn) => {
          let i = 0;
          const fn = () => conn.run(ctx.sql.insertEvent, rows[i++]);
          const r =
            conn.kind === 'sync'
              ? syncLoopCount({ total: rows.length, fn })
              : await asyncWorkersCount({ concurrency: WRITE_CONCURRENCY, total: rows.length, fn });
          const check = await conn.get('SELECT COUNT(*) AS n FROM events', []);
          if (check.n !== rows.length) throw new Error(`${driver.label}: expected ${rows.length} rows, found ${check.n}`);
          return { rows: rows.length, elapsedMs: r.elapsedMs, rowsPerSec: r.opsPerSec, concurrency: conn.kind === 'sync' ? 1 : WRITE_CONCURRENCY };
        }),
      );
      rmSync(writeFile, { force: true });
    }
    out[driver.id] = { ...median(runs, 'elapsedMs'), repeats, allRowsPerSec: runs.map((r) => r.rowsPerSec) };
  }
  const base = out[BASELINE];
  printTable(
    `Write throughput: ${fmtInt(cfg.writeRows)} single-row INSERTs, synchronous=NORMAL, WAL`,
    ['driver', 'outstanding', 'total ms', 'rows/s', `vs ${BASELINE}`],
    Object.entries(out).map(([id, r]) => [ctx.label(id), r.concurrency, fmtMs(r.elapsedMs, 1), fmtInt(r.rowsPerSec), fmtRatio(ratio(r.rowsPerSec, base?.rowsPerSec))]),
    [
      'each INSERT is its own transaction (autocommit for the sync drivers; one run() each for litepool)',
      `median of ${cfg.repeats} repetitions, each into a fresh file (sqlite3: one)`,
    ],
  );
  return out;
}

// ── correctness cross-check ───────────────────────────────────────────────────────────────────

async function crossCheck(ctx) {
  const probes = [
    [ctx.sql.point, [4242]],
    [ctx.sql.heavy, [7]],
    [ctx.sql.postById, [7]],
  ];
  let expected;
  for (const driver of ctx.drivers) {
    const conn = await driver.open(ctx.file);
    try {
      const got = [];
      for (const [sql, params] of probes) got.push(JSON.stringify(await conn.get(sql, params)));
      expected ??= got;
      for (let i = 0; i < probes.length; i++) {
        if (got[i] !== expected[i]) throw new Error(`${driver.label} answered ${got[i]} to ${probes[i][0]}; expected ${expected[i]}`);
      }
    } finally {
      await conn.close();
    }
  }
}

// ── targets and outputs ───────────────────────────────────────────────────────────────────────

function evaluateTargets(results) {
  const t = [];
  const add = (name, value, goal, pass, unit = 'x') =>
    t.push({ name, measured: value, unit, goal, pass: value === undefined ? undefined : pass });
  const ps = results['point-select'];
  if (ps) {
    const r = ratio(ps.litepool?.c64, ps[BASELINE]?.c64);
    add('point SELECT at c=64 vs better-sqlite3', r, '>= 1.0x', r >= 1.0);
  }
  const hv = results.heavy;
  if (hv) {
    const r1 = ratio(hv.litepool?.opsPerSec, hv[BASELINE]?.opsPerSec);
    add('heavy load vs better-sqlite3', r1, '>= 1.8x', r1 >= 1.8);
    const r2 = ratio(hv.litepool?.opsPerSec, hv.sqlite3x4?.opsPerSec);
    add('heavy load vs sqlite3 (4 conns)', r2, '>= 1.25x', r2 >= 1.25);
  }
  const el = results['event-loop']?.drivers?.litepool;
  if (el) {
    const worst = Math.max(el.heavy.lag.p99, el.point64.lag.p99);
    add('event-loop p99 lateness during litepool workloads (worst of heavy, point c=64)', worst, '< 2 ms', worst < 2, 'ms');
  }
  const mem = results.memory?.litepool;
  if (mem && !mem.error) {
    const mb = (mem.rssAfter - mem.rssBefore) / (1024 * 1024);
    add(`RSS growth over ${fmtInt(mem.count)} point selects`, mb, '< 20 MB', mb < 20, 'MB');
  }
  const wr = results.write;
  if (wr) {
    const r = ratio(wr.litepool?.rowsPerSec, wr[BASELINE]?.rowsPerSec);
    add('64 concurrent inserts vs better-sqlite3 autocommit', r, '>= 3x', r >= 3);
  }
  return t;
}

/** Profiles the JS thread from now until stop(file) (node:inspector, in this process). */
async function startProfiler() {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  const post = (method, params) =>
    new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 100 });
  await post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await post('Profiler.stop');
      session.disconnect();
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
      return file;
    },
  };
}

// ── main ──────────────────────────────────────────────────────────────────────────────────────

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.child === 'memory') return memoryChild(args);

  const runStarted = now();
  const cpuAtStart = cpuSnapshot();
  if (args.concurrency) CONCURRENCIES = args.concurrency.split(',').map(Number);
  ensureDist();
  ensurePeers();
  const { loadDrivers, driverTable } = await import('./lib/drivers.mjs');
  const { buildDataset, SQL } = await import('./lib/data.mjs');
  const mods = await loadDrivers();
  const cfg = settings(args.quick);
  const all = driverTable(mods);
  for (const d of all.filter((d) => !d.available)) console.log(`skipping ${d.label}: ${d.skip}`);
  const drivers = all.filter((d) => d.available && (!args.drivers || args.drivers.includes(d.id)));
  const labels = Object.fromEntries([...all.map((d) => [d.id, d.label]), ['litepool-batch', 'litepool (batch())'], ['litepool-tx', 'litepool (transaction())']]);
  const workloads = WORKLOADS.filter((w) => !args.only || args.only.includes(w));
  const filtered = Boolean(args.only || args.drivers || args.concurrency || args.cpuProf);

  const machine = machineInfo();
  console.log(`litepool benchmarks (${args.quick ? 'quick' : 'full'} run)`);
  console.log(
    `${machine.cpuModel} × ${machine.cpuCount}, ${(machine.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, ${machine.platform}-${machine.arch}, Node ${machine.node}`,
  );
  console.log(
    Object.entries(mods.versions)
      .map(([name, v]) => (v.skipped ? `${name}: skipped` : `${name} ${v.version}${v.sqlite ? ` (SQLite ${v.sqlite})` : ''}`))
      .join(' · '),
  );

  const quietStart = cpuSnapshot();
  await sleep(500);
  const busyBefore = otherLoad(quietStart, cpuSnapshot());
  machine.otherProcessesCoresBeforeRun = busyBefore;
  if (busyBefore !== undefined && busyBefore > 0.15) {
    console.log(`! other processes are using ${busyBefore.toFixed(2)} of ${machine.cpuCount} cores right now: expect skewed figures`);
  }

  const dir = mkdtempSync(join(os.tmpdir(), 'litepool-bench-'));
  const file = join(dir, 'bench.db');
  const results = {};
  let shape;
  try {
    const built = now();
    shape = buildDataset(mods.BetterSqlite3, file, { users: cfg.heavyUsers });
    const buildMs = now() - built;
    console.log(
      `dataset: ${fmtInt(shape.items)} items; ${fmtInt(shape.users)} users, ${fmtInt(shape.posts)} posts, ${fmtInt(shape.comments)} comments, ` +
        `${fmtInt(shape.likes)} likes (built in ${(buildMs / 1000).toFixed(1)} s in ${dir})`,
    );
    const ctx = { drivers, file, dir, cfg, shape, sql: SQL, BetterSqlite3: mods.BetterSqlite3, label: (id) => labels[id] ?? id };
    await crossCheck(ctx);
    const run = {
      'point-select': pointSelect,
      'connection-overhead': connectionOverhead,
      heavy,
      classic,
      'event-loop': eventLoop,
      mixed,
      memory,
      write,
    };
    for (const w of workloads) {
      const started = now();
      const cpuBefore = cpuSnapshot();
      const profiler = args.cpuProf ? await startProfiler() : undefined;
      results[w] = await run[w](ctx);
      if (profiler) console.log(`cpu profile: ${await profiler.stop(join(args.cpuProf, `${w}.cpuprofile`))}`);
      const others = otherLoad(cpuBefore, cpuSnapshot());
      results[w] = { ...results[w], seconds: Math.round((now() - started) / 100) / 10, otherProcessesCores: others };
      if (others !== undefined && others > 0.15) {
        console.log(`  ! other processes used ${others.toFixed(2)} cores on average during ${w}: these figures are skewed`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const targets = evaluateTargets(results);
  const totalSeconds = (now() - runStarted) / 1000;
  const othersOverall = otherLoad(cpuAtStart, cpuSnapshot());
  machine.otherProcessesCores = othersOverall;
  if (targets.length > 0) {
    printTable(
      'Targets',
      ['target', 'measured', 'goal', 'met'],
      targets.map((t) => [
        t.name,
        t.measured === undefined ? '—' : t.unit === 'x' ? fmtRatio(t.measured) : `${t.measured.toFixed(2)} ${t.unit}`,
        t.goal,
        t.pass === undefined ? '—' : t.pass ? 'yes' : 'NO',
      ]),
    );
  }
  console.log(`\ntotal run time: ${totalSeconds.toFixed(1)} s`);
  if (othersOverall !== undefined) {
    console.log(
      `other processes used ${othersOverall.toFixed(2)} of ${machine.cpuCount} cores on average during the run` +
        (othersOverall > 0.15 ? ': the machine was not quiet, the figures are skewed' : ''),
    );
  }

  if (filtered && !args.write) {
    console.log('(filtered run: results not written; pass --write to write them)');
    return;
  }
  const date = new Date();
  const report = {
    schema: 1,
    date: date.toISOString(),
    mode: args.quick ? 'quick' : 'full',
    totalSeconds: Math.round(totalSeconds * 10) / 10,
    machine,
    versions: mods.versions,
    settings: {
      ...cfg,
      concurrencies: CONCURRENCIES,
      heavyWorkers: HEAVY_WORKERS,
      connectionWorkers: CONNECTION_WORKERS,
      mixedHeavyWorkers: MIXED_HEAVY_WORKERS,
      writeConcurrency: WRITE_CONCURRENCY,
      memoryConcurrency: MEMORY_CONCURRENCY,
      pragmas: 'journal_mode=WAL, synchronous=NORMAL, cache_size=-16000 (KiB), busy_timeout=5000 on every connection',
      litepool: { readers: 4 },
    },
    dataset: shape,
    sql: SQL,
    drivers: Object.fromEntries(all.map((d) => [d.id, { label: d.label, kind: d.kind, ...(d.available ? {} : { skipped: d.skip }) }])),
    results,
    targets,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = date.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
  const suffix = args.quick ? '-quick' : '';
  const named = join(RESULTS_DIR, `${stamp}-${process.platform}-${process.arch}${suffix}.json`);
  const latest = join(RESULTS_DIR, `latest${suffix}.json`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(named, json);
  writeFileSync(latest, json);
  console.log(`results: ${relative(process.cwd(), named)}, ${relative(process.cwd(), latest)}`);
  if (!args.quick) {
    const svg = chartFromReport(report, (id) => labels[id] ?? id);
    mkdirSync(dirname(CHART_FILE), { recursive: true });
    writeFileSync(CHART_FILE, svg);
    console.log(`chart: ${relative(process.cwd(), CHART_FILE)}`);
  } else {
    console.log('(quick run: docs/benchmark-chart.svg is only written by a full run)');
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
