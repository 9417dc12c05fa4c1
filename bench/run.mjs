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

// This file is the command line only: it parses the arguments and runs the steps in order. The
// workloads are bench/workloads/<name>.mjs (listed in bench/workloads/index.mjs); the peer
// installer, the machine and load accounting, the cross-check, the targets, the profiler and the
// results file are in bench/lib/.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { crossCheck } from './lib/cross-check.mjs';
import { now, sleep } from './lib/harness.mjs';
import { cpuSnapshot, machineInfo, otherLoad } from './lib/machine.mjs';
import { ensureDist, ensurePeers } from './lib/peers.mjs';
import { startProfiler } from './lib/profiler.mjs';
import { fmtInt } from './lib/report.mjs';
import { writeResults } from './lib/results.mjs';
import { DEFAULT_CONCURRENCIES, settings } from './lib/settings.mjs';
import { evaluateTargets, printTargets } from './lib/targets.mjs';
import { WORKLOADS, memoryChild } from './workloads/index.mjs';

const WORKLOAD_NAMES = Object.keys(WORKLOADS);

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
    if (!WORKLOAD_NAMES.includes(w)) {
      console.error(`unknown workload ${w}; workloads: ${WORKLOAD_NAMES.join(', ')}`);
      process.exit(2);
    }
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.child === 'memory') return memoryChild(args);

  const runStarted = now();
  const cpuAtStart = cpuSnapshot();
  const concurrencies = args.concurrency ? args.concurrency.split(',').map(Number) : DEFAULT_CONCURRENCIES;
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
  const label = (id) => labels[id] ?? id;
  const workloads = WORKLOAD_NAMES.filter((w) => !args.only || args.only.includes(w));
  const filtered = Boolean(args.only || args.drivers || args.concurrency || args.cpuProf);

  const machine = machineInfo();
  console.log(`litepool benchmarks (${args.quick ? 'quick' : 'full'} run)`);
  console.log(
    `${machine.cpuModel} × ${machine.cpuCount}, ${(machine.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB, ${machine.platform}-${machine.arch}, Node ${machine.node}`,
  );
  console.log(
    Object.entries(mods.versions)
      .map(([name, v]) => (v.skipped ? `${name}: skipped` : `${name} ${v.version}${v.sqlite ? ` (SQLite ${v.sqlite}${v.build ? `, ${v.build} build` : ''})` : ''}`))
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
    const ctx = { drivers, file, dir, cfg, concurrencies, shape, sql: SQL, BetterSqlite3: mods.BetterSqlite3, label };
    await crossCheck(ctx);
    for (const w of workloads) {
      const started = now();
      const cpuBefore = cpuSnapshot();
      const profiler = args.cpuProf ? await startProfiler() : undefined;
      results[w] = await WORKLOADS[w](ctx);
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
  printTargets(targets);
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
  writeResults({
    quick: args.quick,
    totalSeconds,
    machine,
    versions: mods.versions,
    cfg,
    concurrencies,
    shape,
    sql: SQL,
    drivers: all,
    results,
    targets,
    label,
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
