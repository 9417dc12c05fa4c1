// Owns the reader-count benchmark, the measurement behind the default of the `readers` option. For
// each number of readers (1, 2, 3, 4, 6, 8 unless --readers says otherwise), in a fresh child
// process per measurement, rounds interleaved so a busy neighbour skews every variant alike:
//   point   SELECT by primary key, 64 concurrent clients (closed loop)
//   heavy   the join + group-by of bench/ (workloads/heavy.mjs), 100 concurrent clients
//   mix     64 clients, each request a point read (90%) or the heavy query (10%), latency per class
// and during each phase the p99 lateness of a 1 ms timer and the CPU time per operation split by
// thread: the JS thread, the readers, the writer, the rest of the process (from /proc/self/task).
// With --cpus the children run under `taskset -c <list>`, so one machine shows 1 core and 2 cores.
//
//   npm run bench:readers                                  all cores, 3 rounds (after npm run build:ts)
//   npm run bench:readers -- --cpus 0 --cpus 0,1           under taskset -c 0, then taskset -c 0,1
//   --readers 1,2,4   --rounds 5   --quick   --default     (--default adds the pool's default)
//
// Prints the medians per core set and readers, the scaling between core sets, the load of the
// machine, and writes bench/results/readers-latest.json (readers-quick.json with --quick).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { openLitepool } from './lib/adapters/litepool.mjs';
import { buildDataset, SQL } from './lib/data.mjs';
import { Samples, asyncWorkers, lagMonitor, now, randomId } from './lib/harness.mjs';
import { cpuSnapshot, machineInfo, otherLoad } from './lib/machine.mjs';
import { ensureDist, ensurePeers } from './lib/peers.mjs';
import { fmtInt, fmtMs, fmtRatio, printTable } from './lib/report.mjs';
import { HEAVY_WORKERS, settings } from './lib/settings.mjs';
import { cpuByRole, threadTimes } from './lib/threads.mjs';
import { heavyRun } from './workloads/heavy.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLIENTS = 64;
const HEAVY_SHARE = 0.1;
const DEFAULT_READERS = [1, 2, 3, 4, 6, 8];

// ── child: one variant, one process ───────────────────────────────────────────────────────────

/** Runs `body`, with the timer-lateness monitor and the per-thread CPU clock around it. */
async function measured(body) {
  const stopLag = lagMonitor();
  const threads = threadTimes();
  const started = process.cpuUsage();
  const result = await body();
  const used = process.cpuUsage(started);
  const roles = cpuByRole(threads, threadTimes());
  const lag = stopLag();
  const perOp = (seconds) => (seconds * 1e6) / result.ops;
  return {
    ...result,
    // Cores this process got during the phase: on a shared machine, its share of the CPU.
    coresUsed: (used.user + used.system) / 1e3 / result.elapsedMs,
    lagP99: lag.p99,
    lagMax: lag.max,
    cpuMicrosPerOp: perOp((used.user + used.system) / 1e6),
    cpuMicrosPerOpByRole: roles && Object.fromEntries(Object.entries(roles).map(([role, s]) => [role, perOp(s)])),
  };
}

/** 64 clients, each request the heavy query with probability HEAVY_SHARE, else a point read. */
function mixRun(ctx, conn, durationMs) {
  const byClass = { point: new Samples(), heavy: new Samples() };
  const fn = async () => {
    const heavy = Math.random() < HEAVY_SHARE;
    const t0 = now();
    if (heavy) await conn.get(SQL.heavy, [randomId(ctx.shape.posts)]);
    else await conn.get(SQL.point, [randomId(ctx.shape.items)]);
    byClass[heavy ? 'heavy' : 'point'].push(now() - t0);
  };
  return asyncWorkers({ concurrency: CLIENTS, durationMs, fn }).then((r) => ({
    ...r,
    point: byClass.point.summary(),
    heavy: byClass.heavy.summary(),
  }));
}

async function child({ file, readers, shape, cfg }) {
  const mod = await import(pathToFileURL(join(HERE, '..', 'dist', 'index.js')).href);
  const conn = await openLitepool(mod, file, readers === 'default' ? {} : { readers });
  const ctx = { sql: SQL, shape };
  const point = () => conn.get(SQL.point, [randomId(shape.items)]);
  const out = { readers: conn.pool.stats().readers.size, cores: availableParallelism() };
  const yields = conn.pool.stats().yields;
  await asyncWorkers({ concurrency: CLIENTS, durationMs: cfg.warmupMs, fn: point });
  out.point = await measured(() => asyncWorkers({ concurrency: CLIENTS, durationMs: cfg.pointMs, fn: point, latencies: true }));
  await heavyRun(ctx, conn, HEAVY_WORKERS, cfg.warmupMs);
  out.heavy = await measured(() => heavyRun(ctx, conn, HEAVY_WORKERS, cfg.heavyMs));
  out.mix = await measured(() => mixRun(ctx, conn, cfg.mixedMs));
  out.yields = conn.pool.stats().yields - yields;
  await conn.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

// ── parent: dataset, interleaved rounds, tables ───────────────────────────────────────────────

function parseArgs(argv) {
  const args = { quick: false, rounds: 3, readers: DEFAULT_READERS, cpus: [], withDefault: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.quick = true;
    else if (a === '--default') args.withDefault = true;
    else if (a === '--rounds') args.rounds = Number(value());
    else if (a === '--readers') args.readers = value().split(',').map(Number);
    else if (a === '--cpus') args.cpus.push(value());
    else throw new Error(`unknown argument ${a} (see the first comment of bench/readers.mjs)`);
  }
  if (!Number.isInteger(args.rounds) || args.rounds < 1) throw new Error('--rounds must be a positive integer');
  if (args.readers.some((r) => !Number.isInteger(r) || r < 1 || r > 64)) throw new Error('--readers must list integers 1..64');
  for (const set of args.cpus) if (!/^[0-9,-]+$/.test(set)) throw new Error(`--cpus ${set}: a taskset CPU list, such as 0 or 0,1 or 0-3`);
  return args;
}

const median = (values) => {
  const sorted = values.filter((v) => v !== undefined && !Number.isNaN(v)).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : undefined;
};

/** The median over rounds of `pick(run)`. */
const med = (runs, pick) => median(runs.map(pick));

function runChild(spec, cpus) {
  const nodeArgs = [fileURLToPath(import.meta.url), '--child', JSON.stringify(spec)];
  const [command, argv] = cpus ? ['taskset', ['-c', cpus, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const before = cpuSnapshot();
  const run = spawnSync(command, argv, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const after = cpuSnapshot();
  if (run.status !== 0) throw new Error(`child (readers ${spec.readers}, cpus ${cpus ?? 'all'}) failed: ${run.stderr || run.error}`);
  return { ...JSON.parse(run.stdout.trim().split('\n').at(-1)), otherCores: otherLoad(before, after) };
}

function printSet(label, variants, results) {
  const rows = variants.map((v) => {
    const runs = results.get(v.key);
    const role = (phase, r) => (run) => run[phase].cpuMicrosPerOpByRole?.[r];
    const split = (phase) =>
      ['js', 'readers', 'other'].map((r) => med(runs, role(phase, r))?.toFixed(phase === 'point' ? 1 : 0) ?? '—').join(' / ');
    return [
      v.readers === 'default' ? `default (${runs[0].readers})` : String(v.readers),
      fmtInt(med(runs, (r) => r.point.opsPerSec)),
      fmtMs(med(runs, (r) => r.point.latency.p99)),
      fmtMs(med(runs, (r) => r.point.lagP99)),
      med(runs, (r) => r.point.coresUsed)?.toFixed(2),
      split('point'),
      fmtInt(med(runs, (r) => r.heavy.opsPerSec)),
      fmtMs(med(runs, (r) => r.heavy.latency.p99)),
      fmtMs(med(runs, (r) => r.heavy.lagP99)),
      med(runs, (r) => r.heavy.coresUsed)?.toFixed(2),
      split('heavy'),
      fmtInt(med(runs, (r) => r.mix.opsPerSec)),
      `${fmtMs(med(runs, (r) => r.mix.point.median))} / ${fmtMs(med(runs, (r) => r.mix.point.p99))}`,
      `${fmtMs(med(runs, (r) => r.mix.heavy.median))} / ${fmtMs(med(runs, (r) => r.mix.heavy.p99))}`,
      fmtMs(med(runs, (r) => r.mix.lagP99)),
      med(runs, (r) => r.mix.coresUsed)?.toFixed(2),
      (med(runs, (r) => r.otherCores) ?? NaN).toFixed(2),
    ];
  });
  printTable(
    `${label}: medians of ${results.get(variants[0].key).length} interleaved rounds`,
    [
      'readers',
      'point ops/s',
      'p99 ms',
      'late p99',
      'cores',
      'CPU µs/op js/rd/oth',
      'heavy req/s',
      'p99 ms',
      'late p99',
      'cores',
      'CPU µs/op js/rd/oth',
      'mix ops/s',
      'point p50/p99',
      'heavy p50/p99',
      'late p99',
      'cores',
      'others',
    ],
    rows,
    [
      `point: ${CLIENTS} clients; heavy: ${HEAVY_WORKERS} clients; mix: ${CLIENTS} clients, ${HEAVY_SHARE * 100}% heavy; latencies in ms`,
      'late p99: p99 lateness of a 1 ms timer during the phase (ms); cores: CPU time of the process / wall time',
      'CPU µs/op: CPU time per operation of the JS thread / the reader threads / the rest of the process',
      'others: cores used by other processes on the machine meanwhile (median over rounds)',
    ],
  );
}

function printScaling(sets, variants, results) {
  const [first, last] = [sets[0], sets.at(-1)];
  const rows = variants
    .filter((v) => v.cpus === first)
    .map((v) => {
      const a = results.get(v.key);
      const b = results.get(`${last}|${v.readers}`);
      const r = (pick) => fmtRatio(med(b, pick) / med(a, pick));
      return [String(v.readers), r((x) => x.point.opsPerSec), r((x) => x.heavy.opsPerSec), r((x) => x.mix.opsPerSec)];
    });
  printTable(`Scaling: medians on cpus ${last} over cpus ${first}`, ['readers', 'point', 'heavy', 'mix'], rows);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  ensureDist();
  ensurePeers();
  const BetterSqlite3 = createRequire(join(HERE, 'package.json'))('better-sqlite3');
  const cfg = settings(args.quick);
  const sets = args.cpus.length ? args.cpus : [undefined];
  const readers = args.withDefault ? [...args.readers, 'default'] : args.readers;
  const variants = sets.flatMap((cpus) => readers.map((r) => ({ cpus, readers: r, key: `${cpus}|${r}` })));
  const command = `npm run bench:readers --${args.quick ? ' --quick' : ''} --rounds ${args.rounds} --readers ${args.readers.join(',')}${args.cpus.map((c) => ` --cpus ${c}`).join('')}${args.withDefault ? ' --default' : ''}`;
  const dir = mkdtempSync(join(tmpdir(), 'litepool-bench-readers-'));
  const file = join(dir, 'bench.db');
  try {
    console.error(`building the dataset (${cfg.heavyUsers} users)…`);
    const shape = buildDataset(BetterSqlite3, file, { users: cfg.heavyUsers });
    const childCfg = { warmupMs: cfg.warmupMs, pointMs: cfg.pointMs, heavyMs: cfg.heavyMs, mixedMs: cfg.mixedMs };
    const loadBefore = loadavg();
    console.log(`${command}\nload average at start ${loadBefore.map((l) => l.toFixed(2)).join(' ')} on ${availableParallelism()} cores`);
    const results = new Map(variants.map((v) => [v.key, []]));
    for (let round = 0; round < args.rounds; round++) {
      // Rotate the order each round, so no variant always runs first or last.
      const order = variants.map((_, i) => variants[(i + round) % variants.length]);
      for (const v of order) {
        const run = runChild({ file, readers: v.readers, shape, cfg: childCfg }, v.cpus);
        results.get(v.key).push(run);
        console.error(
          `  round ${round + 1} cpus ${v.cpus ?? 'all'} readers ${v.readers}: point ${fmtInt(run.point.opsPerSec)}/s, ` +
            `heavy ${fmtInt(run.heavy.opsPerSec)}/s, mix ${fmtInt(run.mix.opsPerSec)}/s ` +
            `(point p99 ${fmtMs(run.mix.point.p99)} ms), others ${run.otherCores?.toFixed(2)} cores`,
        );
      }
    }
    for (const cpus of sets) {
      const label = cpus === undefined ? `all ${availableParallelism()} cores` : `taskset -c ${cpus}`;
      printSet(label, variants.filter((v) => v.cpus === cpus), results);
    }
    if (sets.length > 1) printScaling(sets, variants, results);
    const loadAfter = loadavg();
    console.log(`\nload average at end ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`);
    const report = {
      date: new Date().toISOString(),
      command,
      mode: args.quick ? 'quick' : 'full',
      machine: machineInfo(),
      loadAverage: { start: loadBefore, end: loadAfter },
      settings: { ...childCfg, heavyUsers: cfg.heavyUsers, clients: CLIENTS, heavyWorkers: HEAVY_WORKERS, heavyShare: HEAVY_SHARE, rounds: args.rounds },
      dataset: shape,
      runs: variants.map((v) => ({ cpus: v.cpus ?? 'all', readers: v.readers, rounds: results.get(v.key) })),
    };
    mkdirSync(join(HERE, 'results'), { recursive: true });
    const out = join(HERE, 'results', `readers-${args.quick ? 'quick' : 'latest'}.json`);
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`results: ${out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]));
else await main();
