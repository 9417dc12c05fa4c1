// Owns the observer overhead benchmark: point reads by primary key, 64 concurrent clients awaiting
// one read at a time, with no observer, with a MetricsCollector attached, and with a subscriber
// on the litepool:query diagnostics channel. Optionally against another build of litepool
// (`--baseline <dir>`: a checkout with its own dist/ and addon) with no observer, to measure what
// the observer layer costs when nothing observes. Each measurement runs in a fresh child process,
// and the rounds interleave the variants, so a busy neighbour skews them all alike.
//
//   node bench/observers.mjs                      (after `npm run build:ts`)
//   node bench/observers.mjs --total 200000 --rounds 4 --baseline /path/to/other/checkout
//
// Prints ops/s, CPU µs per read of the whole process and of the JS thread alone (Linux:
// /proc/thread-self/schedstat; what observers add runs there) per variant and round, the median
// of each, the ratios to "none", and the ratios to "none" round by round (neighbouring runs, so
// less skewed by a neighbour's load changing between rounds). Even rounds run the variants in
// reverse order, so that no variant always follows the same one.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { asyncWorkersCount } from './lib/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ROWS = 10_000;
const CONCURRENCY = 64;
const SQL = 'SELECT * FROM items WHERE id = ?';

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : process.argv[at + 1];
}

const SCHEDSTAT = '/proc/thread-self/schedstat';

/** Nanoseconds this thread has run on a CPU (Linux), or NaN where the kernel does not say. */
function threadCpuNanos() {
  if (!existsSync(SCHEDSTAT)) return Number.NaN;
  return Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]);
}

/** Child: one measurement of `mode` with the litepool build in `root`; prints ops/s as JSON. */
async function child(root, mode, file, total) {
  const { open } = await import(pathToFileURL(join(root, 'dist/index.js')).href);
  const db = await open(file, { readers: 4 });
  let stop = () => {};
  if (mode === 'metrics') {
    const { MetricsCollector } = await import(pathToFileURL(join(root, 'dist/observers/index.js')).href);
    stop = db.observe(new MetricsCollector());
  } else if (mode === 'channel') {
    const { tracingChannel } = await import('node:diagnostics_channel');
    let ended = 0;
    const handlers = { start() {}, end() {}, asyncStart() {}, asyncEnd: () => void ended++, error() {} };
    tracingChannel('litepool:query').subscribe(handlers);
    stop = () => tracingChannel('litepool:query').unsubscribe(handlers);
  }
  let next = 0;
  const fn = () => db.get(SQL, [(next++ % ROWS) + 1]);
  await asyncWorkersCount({ concurrency: CONCURRENCY, total: Math.min(20_000, total), fn });
  const cpu = process.cpuUsage();
  const js = threadCpuNanos();
  const { opsPerSec } = await asyncWorkersCount({ concurrency: CONCURRENCY, total, fn });
  const jsMicros = (threadCpuNanos() - js) / 1000 / total;
  const used = process.cpuUsage(cpu);
  stop();
  await db.close();
  // CPU time of the whole process (JS thread and native workers) per read: steadier than
  // throughput on a shared machine, where the wall clock mostly measures the neighbours.
  process.stdout.write(`${JSON.stringify({ opsPerSec, cpuMicros: (used.user + used.system) / total, jsMicros })}\n`);
}

async function main() {
  const total = Number(option('--total', '200000'));
  const rounds = Number(option('--rounds', '3'));
  const baseline = option('--baseline', undefined);
  const root = resolve(here, '..');
  const dir = mkdtempSync(join(tmpdir(), 'litepool-bench-observers-'));
  const file = join(dir, 'items.db');
  try {
    const { open } = await import(pathToFileURL(join(root, 'dist/index.js')).href);
    const db = await open(file);
    await db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL)');
    await db.exec(
      `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${ROWS}) INSERT INTO items SELECT i, 'item ' || i, i * 0.5 FROM s`,
    );
    await db.close();
    const variants = [
      ...(baseline ? [{ name: 'baseline build, none', root: resolve(baseline), mode: 'none' }] : []),
      { name: 'none', root, mode: 'none' },
      { name: 'MetricsCollector', root, mode: 'metrics' },
      { name: 'channel subscriber', root, mode: 'channel' },
    ];
    const results = new Map(variants.map((v) => [v.name, []]));
    const cpus = new Map(variants.map((v) => [v.name, []]));
    const jss = new Map(variants.map((v) => [v.name, []]));
    console.log(`point reads, c=${CONCURRENCY}, ${total} per run, ${rounds} interleaved rounds; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    for (let round = 1; round <= rounds; round++) {
      for (const variant of round % 2 === 0 ? [...variants].reverse() : variants) {
        const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', variant.root, variant.mode, file, String(total)], {
          encoding: 'utf8',
        });
        if (run.status !== 0) throw new Error(`${variant.name} failed: ${run.stderr}`);
        const { opsPerSec, cpuMicros, jsMicros } = JSON.parse(run.stdout.trim().split('\n').at(-1));
        results.get(variant.name).push(opsPerSec);
        cpus.get(variant.name).push(cpuMicros);
        jss.get(variant.name).push(jsMicros);
        console.log(
          `  round ${round}  ${variant.name.padEnd(22)} ${Math.round(opsPerSec).toLocaleString('en-US').padStart(9)} ops/s  ${cpuMicros.toFixed(2)} CPU µs/read  ${jsMicros.toFixed(2)} JS µs/read`,
        );
      }
    }
    const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const list = (ratios) => `${ratios.map((p) => p.toFixed(3)).join(' ')} (median ${median(ratios).toFixed(3)})`;
    /** Per round: `metric` of variant `name` over that of variant `to` in the same round. */
    const paired = (metric, name, to) => metric.get(name).map((value, i) => value / metric.get(to)[i]);
    const none = median(results.get('none'));
    const noneCpu = median(cpus.get('none'));
    const noneJs = median(jss.get('none'));
    console.log('\nmedians: ops/s, CPU µs per read, JS thread µs per read (each relative to "none" on this build):');
    for (const [name, values] of results) {
      const m = median(values);
      const c = median(cpus.get(name));
      const j = median(jss.get(name));
      console.log(`  ${name.padEnd(22)} ${Math.round(m).toLocaleString('en-US').padStart(10)} (${(m / none).toFixed(3)})  ${c.toFixed(2)} (${(c / noneCpu).toFixed(3)})  ${j.toFixed(2)} (${(j / noneJs).toFixed(3)})`);
    }
    console.log('\nround by round, relative to "none" of the same round:');
    for (const name of ['MetricsCollector', 'channel subscriber']) {
      console.log(`  ${name}\n    ops/s ${list(paired(results, name, 'none'))}\n    CPU   ${list(paired(cpus, name, 'none'))}\n    JS    ${list(paired(jss, name, 'none'))}`);
    }
    if (baseline) {
      const base = 'baseline build, none';
      console.log('\nthis build / baseline build, no observer, per round:');
      console.log(`  ops/s ${list(paired(results, 'none', base))}\n  CPU   ${list(paired(cpus, 'none', base))}\n  JS    ${list(paired(jss, 'none', base))}`);
    }
    console.log(`load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], process.argv[5], Number(process.argv[6]));
} else {
  await main();
}
