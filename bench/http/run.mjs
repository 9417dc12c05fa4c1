// Owns the entry point of the HTTP server benchmark: builds the bench/ datasets in a fresh temp
// directory, then for each framework, workload and mode runs one cell per driver — a fresh server
// process (server.mjs) with that driver, loaded by a separate load-generator process
// (loadgen.mjs), both on 127.0.0.1, for a bounded time — and prints the tables (report.mjs).
//
//   npm run bench:http                    full run: 10 s per cell after 2 s of warm-up (about 15 min)
//   npm run bench:http -- --quick         smoke run: 3 s per cell after 0.5 s, smaller heavy dataset
//   --frameworks=node,fastify             frameworks to run (default: both)
//   --drivers=litepool,better-sqlite3,sqlite3x4,none,none-batched
//   --workloads=point,heavy,mixed,write   (default: all four)
//   --modes=max,rate                      closed loop at max throughput, fixed offered rate
//   --connections=64                      keep-alive connections of the load generator
//   --rate-fraction=0.7                   fixed rate = this share of the slowest database driver's
//                                         closed-loop throughput (per workload and framework)
//   --duration=10 --warmup=2              seconds per cell
//   --loadgen=builtin|autocannon          autocannon: a cross-check for single-class workloads
//   --save                                write bench/results/http-<time>.json and http-latest.json
//                                         (otherwise the results go to a file in the temp directory)
//   --write-docs                          update the "HTTP server" section of docs/benchmarks.md
//                                         (implies --save; full, unfiltered runs only unless --force)
//   --docs=path                           another markdown file to update instead
//   --from=results.json                   no run: render a saved results file (with --write-docs)
//
// Workloads: point (read by primary key), heavy (the join + group-by query of bench/), mixed (90%
// point + 10% heavy, latency per class), write (POST, one INSERT per request into a fresh file).
// litepool runs its default number of readers; LITEPOOL_BENCH_READERS=<n> sets another.

import { fork } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

import { buildDataset, buildInsertFile, SQL } from '../lib/data.mjs';
import { litepoolBuild } from '../lib/litepool-build.mjs';
import { BASELINE, CEILING, CEILINGS, DRIVERS, driverById } from './drivers/index.mjs';
import { readersOverride } from './drivers/litepool.mjs';
import { FRAMEWORKS, frameworkById } from './frameworks/index.mjs';
import { cpuSecondsSince, cpuSnapshot, machineInfo, otherCores } from './machine.mjs';
import { ensurePeers } from './peers.mjs';
import { renderMarkdown, writeDocs } from './report.mjs';
import { WORKLOADS, runsOn } from './workloads.mjs';

const HTTP_DIR = dirname(fileURLToPath(import.meta.url));
const BENCH_DIR = join(HTTP_DIR, '..');
const ROOT = join(BENCH_DIR, '..');
const RESULTS_DIR = join(BENCH_DIR, 'results');
const DOCS_FILE = join(ROOT, 'docs', 'benchmarks.md');
const require = createRequire(join(BENCH_DIR, 'package.json'));
const now = () => performance.now();

// ── arguments ─────────────────────────────────────────────────────────────────────────────────

function usage() {
  return readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n\n')[0].replace(/^\/\/ ?/gm, '');
}

function fail(message) {
  console.error(`bench/http: ${message} (try --help)`);
  process.exit(2);
}

function listArg(value, known, what) {
  const list = (value ?? '').split(',').filter(Boolean);
  for (const item of list) if (!known.includes(item)) fail(`unknown ${what} ${item}; known: ${known.join(', ')}`);
  if (list.length === 0) fail(`--${what}s= needs at least one of ${known.join(', ')}`);
  return list;
}

function positive(value, name) {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number, not ${value}`);
  return n;
}

function parseArgs(argv) {
  const args = {
    quick: false,
    frameworks: FRAMEWORKS.map((f) => f.id),
    drivers: DRIVERS.map((d) => d.id),
    workloads: Object.keys(WORKLOADS),
    modes: ['max', 'rate'],
    connections: 64,
    rateFraction: 0.7,
    loadgen: 'builtin',
    save: false,
    writeDocs: false,
    force: false,
    docs: DOCS_FILE,
    filtered: false,
  };
  for (const arg of argv) {
    const eq = arg.indexOf('=');
    const key = (eq === -1 ? arg : arg.slice(0, eq)).replace(/^--/, '');
    const value = eq === -1 ? undefined : arg.slice(eq + 1);
    if (key === 'help' || key === 'h') {
      console.log(usage());
      process.exit(0);
    } else if (key === 'quick') args.quick = true;
    else if (key === 'save') args.save = true;
    else if (key === 'write-docs') args.writeDocs = true;
    else if (key === 'force') args.force = true;
    else if (key === 'docs') args.docs = value ?? fail('--docs= needs a path');
    else if (key === 'from') args.from = value ?? fail('--from= needs a results file');
    else if (key === 'frameworks') args.frameworks = listArg(value, FRAMEWORKS.map((f) => f.id), 'framework');
    else if (key === 'drivers') args.drivers = listArg(value, DRIVERS.map((d) => d.id), 'driver');
    else if (key === 'workloads') args.workloads = listArg(value, Object.keys(WORKLOADS), 'workload');
    else if (key === 'modes') args.modes = listArg(value, ['max', 'rate'], 'mode');
    else if (key === 'connections') args.connections = Math.round(positive(value, 'connections'));
    else if (key === 'rate-fraction') args.rateFraction = positive(value, 'rate-fraction');
    else if (key === 'duration') args.durationMs = positive(value, 'duration') * 1000;
    else if (key === 'warmup') args.warmupMs = positive(value, 'warmup') * 1000;
    else if (key === 'loadgen') args.loadgen = listArg(value, ['builtin', 'autocannon'], 'loadgen')[0];
    else fail(`unknown argument ${arg}`);
    if (['frameworks', 'drivers', 'workloads', 'modes', 'connections', 'rate-fraction', 'duration', 'warmup', 'loadgen'].includes(key)) {
      args.filtered = true;
    }
  }
  // Published figures come from a results file kept under bench/results/, of a full run.
  if (args.writeDocs && !args.from) {
    args.save = true;
    if ((args.quick || args.filtered) && !args.force) fail('--write-docs takes a full, unfiltered run: add --force to write this one anyway');
  }
  return args;
}

function settings(args) {
  const base = args.quick ? { heavyUsers: 200, warmupMs: 500, durationMs: 3_000 } : { heavyUsers: 1_000, warmupMs: 2_000, durationMs: 10_000 };
  return {
    ...base,
    ...(args.warmupMs ? { warmupMs: args.warmupMs } : {}),
    ...(args.durationMs ? { durationMs: args.durationMs } : {}),
    connections: args.connections,
    rateFraction: args.rateFraction,
    loadgen: args.loadgen,
    pragmas: 'journal_mode=WAL, synchronous=NORMAL, cache_size=-16000 (KiB), busy_timeout=5000 on every connection',
    // The pool's default unless LITEPOOL_BENCH_READERS overrides it (see drivers/litepool.mjs).
    litepool: { readers: readersOverride() ?? 'default' },
    sqlite3: { connections: 4, uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4) },
  };
}

// ── child processes ───────────────────────────────────────────────────────────────────────────

/** Waits for the first IPC message `accept`s, or fails when the child exits or `ms` pass first. */
function nextMessage(child, accept, ms, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(reject, new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
    const onMessage = (m) => {
      if (m?.type === 'error') done(reject, new Error(`${what}: ${m.message}`));
      else if (accept(m)) done(resolve, m);
    };
    const onExit = (code, signal) => done(reject, new Error(`${what} exited (${signal ?? code}) before answering`));
    const done = (settle, value) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      settle(value);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function startServer(driver, framework, file) {
  const child = fork(join(HTTP_DIR, 'server.mjs'), [`--driver=${driver}`, `--framework=${framework}`, `--file=${file}`], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let ready;
  try {
    ready = await nextMessage(child, (m) => m.type === 'ready', 60_000, `server ${driver}/${framework}`);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const stats = () => {
    child.send({ type: 'stats' });
    return nextMessage(child, (m) => m.type === 'stats', 10_000, 'server stats');
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.send({ type: 'stop' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return { port: ready.port, stats, stop, child };
}

/** Runs the load generator for one cell; `onMeasuring` runs when its warm-up ends. */
async function runLoadgen(config, onMeasuring) {
  const child = fork(join(HTTP_DIR, 'loadgen.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let measuring;
  child.on('message', (m) => {
    if (m?.type === 'measuring') measuring = onMeasuring();
  });
  child.send({ type: 'run', config });
  const limit = config.warmupMs + config.durationMs + 60_000;
  try {
    const { result } = await nextMessage(child, (m) => m.type === 'result', limit, 'load generator');
    return { result, start: await measuring };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
}

// ── one cell ──────────────────────────────────────────────────────────────────────────────────

/** Checks that a server answers like better-sqlite3 run in this process (the same rows). */
async function preflight(port, workload, driver, expected) {
  const get = async (path) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  };
  if (workload === 'write') {
    const res = await fetch(`http://127.0.0.1:${port}/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'check', email: 'check@example.com', score: 1.5, created_at: 1_700_000_000 }),
    });
    const body = await res.json();
    if (res.status !== 200 || !Number.isInteger(body.id)) throw new Error(`POST /items: HTTP ${res.status} ${JSON.stringify(body)}`);
    return;
  }
  const point = await get(`/point?id=${expected.pointId}`);
  if (!driverById(driver).ceiling && !isDeepStrictEqual(point, expected.point)) {
    throw new Error(`/point answered ${JSON.stringify(point)}, better-sqlite3 reads ${JSON.stringify(expected.point)}`);
  }
  if (!driverById(driver).ceiling && (workload === 'heavy' || workload === 'mixed')) {
    const heavy = await get(`/heavy?id=${expected.heavyId}`);
    if (!isDeepStrictEqual(heavy, expected.heavy)) {
      throw new Error(`/heavy answered ${JSON.stringify(heavy)}, better-sqlite3 reads ${JSON.stringify(expected.heavy)}`);
    }
  }
}

async function runCell(ctx, { framework, workload, mode, driver, rate }) {
  const { dir, cfg, shape } = ctx;
  let file = ctx.file;
  if (workload === 'write') {
    file = join(dir, `insert-${framework}-${driver}-${mode}.db`);
    buildInsertFile(ctx.BetterSqlite3, file);
  }
  const cell = { framework, workload, mode, driver, ...(mode === 'rate' ? { offeredRate: rate } : {}) };
  let server;
  try {
    server = await startServer(driver, framework, file);
    await preflight(server.port, workload, driver, ctx.expected);
    const config = {
      port: server.port,
      workload,
      mode,
      rate,
      connections: cfg.connections,
      warmupMs: cfg.warmupMs,
      durationMs: cfg.durationMs,
      shape: { items: shape.items, posts: shape.posts },
      tool: cfg.loadgen,
    };
    const { result, start } = await runLoadgen(config, async () => ({
      server: await server.stats(),
      machine: cpuSnapshot(),
      parent: process.cpuUsage(),
    }));
    const end = { server: await server.stats(), machine: cpuSnapshot() };
    const seconds = result.elapsedMs / 1000;
    const serverCpu = end.server.cpuSeconds - start.server.cpuSeconds;
    const ours = serverCpu + result.cpuSeconds + cpuSecondsSince(start.parent);
    const eluActive = end.server.elu.active - start.server.elu.active;
    const eluIdle = end.server.elu.idle - start.server.elu.idle;
    Object.assign(cell, {
      result,
      serverCores: serverCpu / seconds,
      clientCores: result.cpuSeconds / seconds,
      serverEventLoopUtilization: eluActive / (eluActive + eluIdle),
      serverRssBytes: end.server.rssBytes,
      otherCores: otherCores(start.machine, end.machine, ours),
    });
  } catch (error) {
    cell.error = String(error?.message ?? error);
  } finally {
    await server?.stop();
    if (workload === 'write') for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  }
  return cell;
}

function describeCell(c) {
  const head = `${c.framework} ${c.workload} ${c.mode === 'rate' ? `@${Math.round(c.offeredRate)}/s` : 'max'} ${c.driver}`;
  if (c.error) return `${head}: FAILED: ${c.error}`;
  const classes = Object.entries(c.result.classes)
    .map(([cls, s]) => `${cls} p50 ${s.p50?.toFixed(2)} p99 ${s.p99?.toFixed(2)} ms`)
    .join(', ');
  const errors = c.result.errors ? `, ${c.result.errors} errors` : '';
  const others = c.otherCores > 0.15 ? ` (! other processes used ${c.otherCores.toFixed(2)} cores)` : '';
  return `${head}: ${Math.round(c.result.rps)} req/s, ${classes}; server ${c.serverCores.toFixed(2)} cores, client ${c.clientCores.toFixed(2)}${errors}${others}`;
}

// ── main ──────────────────────────────────────────────────────────────────────────────────────

function versions(litepool, build, BetterSqlite3) {
  const pkg = (name) => require(`${name}/package.json`).version;
  const memory = new BetterSqlite3(':memory:');
  const v = {
    litepool: { version: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version, sqlite: litepool.Pool.sqliteVersion, build },
    'better-sqlite3': { version: pkg('better-sqlite3'), sqlite: memory.prepare('SELECT sqlite_version() AS v').get().v },
    sqlite3: { version: pkg('sqlite3'), sqlite: require('sqlite3').VERSION },
    fastify: { version: pkg('fastify') },
    autocannon: { version: pkg('autocannon') },
  };
  memory.close();
  return v;
}

function publish(args, report, source) {
  const markdown = renderMarkdown(report, source);
  console.log(`\n${markdown}`);
  if (!args.writeDocs) return;
  if ((report.mode !== 'full' || report.filtered) && !args.force) {
    console.error('bench/http: --write-docs takes a full, unfiltered run (this one is not): add --force to write it anyway');
    process.exit(2);
  }
  writeDocs(args.docs, markdown);
  console.log(`docs: updated the HTTP server section of ${relative(process.cwd(), args.docs)}`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.from) {
    const report = JSON.parse(readFileSync(args.from, 'utf8'));
    const from = resolve(args.from);
    return publish(args, report, from.startsWith(ROOT) ? relative(ROOT, from) : from);
  }
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
    console.error('bench/http: dist/index.js is missing; compile the library first: npx tsc -p tsconfig.build.json');
    process.exit(1);
  }
  ensurePeers(BENCH_DIR);
  const started = now();
  const BetterSqlite3 = require('better-sqlite3');
  const litepool = await import('../../dist/index.js');
  const cfg = settings(args);
  const machine = machineInfo(ROOT);
  const frameworks = args.frameworks;
  const drivers = DRIVERS.filter((d) => args.drivers.includes(d.id));
  console.log(`litepool HTTP server benchmark (${args.quick ? 'quick' : 'full'} run)`);
  console.log(`${machine.cpuModel} × ${machine.cpuCount}, Node ${machine.node}, load average ${machine.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')}`);
  if (machine.loadAverageAtStart[0] > machine.cpuCount * 0.75) {
    console.log('! the machine is busy: expect skewed figures (compare ratios from quiet runs only)');
  }

  const dir = mkdtempSync(join(os.tmpdir(), 'litepool-bench-http-'));
  const file = join(dir, 'bench.db');
  const cells = [];
  let shape;
  try {
    const t0 = now();
    shape = buildDataset(BetterSqlite3, file, { users: cfg.heavyUsers });
    console.log(
      `dataset: ${shape.items} items; ${shape.users} users, ${shape.posts} posts, ${shape.comments} comments, ${shape.likes} likes ` +
        `(built in ${((now() - t0) / 1000).toFixed(1)} s)`,
    );
    const check = new BetterSqlite3(file, { readonly: true });
    const pointId = 1 + Math.floor(shape.items / 3);
    const heavyId = 1 + Math.floor(shape.posts / 3);
    const expected = { pointId, heavyId, point: check.prepare(SQL.point).get(pointId), heavy: check.prepare(SQL.heavy).get(heavyId) };
    check.close();
    const ctx = { dir, file, cfg, shape, expected, BetterSqlite3 };

    for (const framework of frameworks) {
      for (const workload of args.workloads) {
        const here = drivers.filter((d) => runsOn(workload, d));
        if (args.modes.includes('max')) {
          for (const d of here) {
            const cell = await runCell(ctx, { framework, workload, mode: 'max', driver: d.id });
            console.error(`  ${describeCell(cell)}`);
            cells.push(cell);
          }
        }
        if (args.modes.includes('rate')) {
          // The slowest database driver's closed-loop throughput sets the offered rate; without
          // closed-loop figures for this workload (--modes=rate), run the closed loop briefly first.
          let maxima = cells.filter((c) => c.framework === framework && c.workload === workload && c.mode === 'max' && !c.error);
          if (!args.modes.includes('max')) {
            maxima = [];
            for (const d of here) {
              const probeCtx = { ...ctx, cfg: { ...cfg, durationMs: Math.min(cfg.durationMs, 3_000) } };
              const probe = await runCell(probeCtx, { framework, workload, mode: 'max', driver: d.id });
              if (!probe.error) maxima.push(probe);
            }
          }
          const dbMaxima = maxima.filter((c) => !driverById(c.driver).ceiling).map((c) => c.result.rps);
          if (dbMaxima.length === 0) {
            console.error(`  ${framework} ${workload}: no closed-loop figure of a database driver to set the rate from: skipped`);
            continue;
          }
          const rate = Math.max(1, Math.round(Math.min(...dbMaxima) * cfg.rateFraction));
          for (const d of here) {
            const cell = await runCell(ctx, { framework, workload, mode: 'rate', driver: d.id, rate });
            console.error(`  ${describeCell(cell)}`);
            cells.push(cell);
          }
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const totalSeconds = (now() - started) / 1000;
  const date = new Date();
  const report = {
    schema: 1,
    kind: 'http',
    date: date.toISOString(),
    mode: args.quick ? 'quick' : 'full',
    filtered: args.filtered,
    totalSeconds: Math.round(totalSeconds * 10) / 10,
    machine: { ...machine, loadAverageAtEnd: os.loadavg() },
    versions: versions(litepool, await litepoolBuild(), BetterSqlite3),
    settings: cfg,
    dataset: shape,
    sql: { point: SQL.point, heavy: SQL.heavy, insert: SQL.insertItem },
    baseline: BASELINE,
    ceiling: CEILING,
    ceilings: CEILINGS,
    frameworks: Object.fromEntries(frameworks.map((f) => [f, frameworkById(f).label])),
    drivers: Object.fromEntries(drivers.map((d) => [d.id, d.label])),
    cells,
  };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const stamp = date.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
  const name = `http-${stamp}-${process.platform}-${process.arch}${args.quick ? '-quick' : ''}.json`;
  let saved;
  if (args.save) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    saved = join(RESULTS_DIR, name);
    writeFileSync(saved, json);
    writeFileSync(join(RESULTS_DIR, `http-latest${args.quick ? '-quick' : ''}.json`), json);
  } else {
    saved = join(os.tmpdir(), name);
    writeFileSync(saved, json);
  }
  console.log(`\ntotal run time: ${totalSeconds.toFixed(1)} s; load average now ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`results: ${saved}${args.save ? '' : ' (not under bench/results: pass --save to keep them there)'}`);
  publish(args, report, args.save ? relative(ROOT, saved) : saved);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
