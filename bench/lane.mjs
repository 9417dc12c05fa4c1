// Owns the benchmark of the readers' two lanes (cheap and expensive reads, docs/tuning.md): a
// closed loop of 64 concurrent clients in one process, no HTTP, on the bench/ dataset:
//   mixed   90% point reads by primary key + 10% the heavy join + group-by, latency per class
//   point   point reads only (throughput)
//   heavy   the heavy query only, 16 clients (throughput)
// Each (checkout, workload) cell runs in a fresh child process; rounds alternate the checkouts
// (interleaved A/B) so a loaded machine hurts both alike. Reports req/s, p50/p99 per class and
// CPU µs per request of the child (all its threads), plus the load average.
//
//   node bench/lane.mjs                                  this checkout only
//   node bench/lane.mjs --baseline /path/to/checkout     A/B against another checkout (its dist/ and build/)
//   --rounds=3 --duration=4 --workloads=mixed,point,heavy --readers=4 --users=1000
//
// Both checkouts must have dist/ compiled (npm run build:ts) and the addon built.

import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { buildDataset, ITEMS, SQL } from './lib/data.mjs';
import { now, randomId, Samples } from './lib/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const WORKLOADS = {
  mixed: { concurrency: 64, heavyShare: 0.1 },
  point: { concurrency: 64, heavyShare: 0 },
  heavy: { concurrency: 16, heavyShare: 1 },
};

function parseArgs(argv) {
  const args = { rounds: 3, duration: 4, workloads: ['mixed', 'point', 'heavy'], readers: 4, users: 1000, baseline: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [key, inline] = argv[i].replace(/^--/, '').split('=');
    const value = inline ?? (key === 'baseline' ? argv[++i] : undefined);
    if (key === 'baseline') args.baseline = resolve(value);
    else if (key === 'workloads') args.workloads = value.split(',');
    else if (key in args) args[key] = Number(value);
    else if (key !== 'child') throw new Error(`bench/lane: unknown argument ${argv[i]}`);
  }
  for (const w of args.workloads) if (!(w in WORKLOADS)) throw new Error(`bench/lane: unknown workload ${w}`);
  return args;
}

// ── child: one cell ──────────────────────────────────────────────────────────────────────────

async function child({ root, file, workload, duration, readers, posts }) {
  const { open } = await import(pathToFileURL(join(root, 'dist/index.js')).href);
  const { concurrency, heavyShare } = WORKLOADS[workload];
  const db = await open(file, { readers, cacheSize: 16_000 });
  const latency = { point: new Samples(), heavy: new Samples() };
  let done = 0;
  let measuring = false;
  let stop = false;
  const client = async () => {
    while (!stop) {
      const heavy = Math.random() < heavyShare;
      const start = now();
      if (heavy) await db.all(SQL.heavy, [randomId(posts)]);
      else await db.get(SQL.point, [randomId(ITEMS)]);
      if (measuring) {
        latency[heavy ? 'heavy' : 'point'].push(now() - start);
        done++;
      }
    }
  };
  const clients = Array.from({ length: concurrency }, client);
  await new Promise((r) => setTimeout(r, 1000)); // warm-up: statement caches, estimates
  const cpu0 = process.cpuUsage();
  const t0 = now();
  measuring = true;
  await new Promise((r) => setTimeout(r, duration * 1000));
  measuring = false;
  const elapsed = (now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  stop = true;
  await Promise.all(clients);
  await db.close();
  const summary = (s) => {
    const x = s.summary();
    return { count: x.count, p50: x.median, p99: x.p99 };
  };
  process.send({ rps: done / elapsed, cpuMicrosPerReq: (cpu.user + cpu.system) / done, point: summary(latency.point), heavy: summary(latency.heavy) });
}

// ── parent ───────────────────────────────────────────────────────────────────────────────────

function runCell(cell) {
  return new Promise((resolveCell, reject) => {
    const proc = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result;
    proc.on('message', (m) => (result = m));
    proc.on('exit', (code) => (result ? resolveCell(result) : reject(new Error(`child exited ${code}`))));
    proc.send(cell);
  });
}

const ms = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const checkouts = [['this', resolve(here, '..')]];
  if (args.baseline) checkouts.unshift(['baseline', args.baseline]);
  const dir = mkdtempSync(join(tmpdir(), 'litepool-lane-'));
  try {
    const BetterSqlite3 = createRequire(join(here, 'package.json'))('better-sqlite3');
    const file = join(dir, 'bench.db');
    const shape = buildDataset(BetterSqlite3, file, { users: args.users });
    console.log(`dataset: ${shape.items} items, ${shape.posts} posts; readers ${args.readers}; ${args.duration} s per cell; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const rows = [];
    for (let round = 1; round <= args.rounds; round++) {
      for (const workload of args.workloads) {
        // Alternate which checkout goes first, round by round.
        const order = round % 2 === 1 ? checkouts : [...checkouts].reverse();
        for (const [name, root] of order) {
          const r = await runCell({ root, file, workload, duration: args.duration, readers: args.readers, posts: shape.posts });
          const load = loadavg()[0].toFixed(2);
          const line =
            `round ${round} ${workload.padEnd(5)} ${name.padEnd(8)} ${Math.round(r.rps).toString().padStart(6)} req/s  ` +
            `${Math.round(r.cpuMicrosPerReq).toString().padStart(5)} CPU µs/req  ` +
            (r.point.count ? `point p50/p99 ${ms(r.point.p50)}/${ms(r.point.p99)} ms  ` : '') +
            (r.heavy.count ? `heavy p50/p99 ${ms(r.heavy.p50)}/${ms(r.heavy.p99)} ms  ` : '') +
            `load ${load}`;
          console.log(line);
          rows.push({ round, workload, name, ...r });
        }
      }
    }
    console.log('\nmedians over rounds:');
    const median = (xs) => xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    for (const workload of args.workloads) {
      for (const [name] of checkouts) {
        const rs = rows.filter((r) => r.workload === workload && r.name === name);
        const m = (f) => median(rs.map(f).filter(Number.isFinite));
        console.log(
          `${workload.padEnd(5)} ${name.padEnd(8)} ${Math.round(m((r) => r.rps))} req/s, ${Math.round(m((r) => r.cpuMicrosPerReq))} CPU µs/req` +
            (workload !== 'heavy' ? `, point p99 ${ms(m((r) => r.point.p99))} ms` : '') +
            (workload !== 'point' ? `, heavy p99 ${ms(m((r) => r.heavy.p99))} ms` : ''),
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--child')) process.once('message', (cell) => child(cell).then(() => process.exit(0)));
else await main();
