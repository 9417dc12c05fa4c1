// Owns the worker-termination soak: rounds of a worker_threads Worker that opens a pool on one
// shared database file and keeps it busy (scripts/soak/worker-busy.mjs), terminated by the main
// thread at a random moment — in one round out of five while it is still opening, otherwise
// 0–50 ms after all its kinds of work are in flight. The process must survive every termination
// (no abort, no 'error' event); afterwards the database must pass integrity_check and take writes,
// and the process's threads and file descriptors must be back near where they started (every
// pool of a terminated worker joined its threads and closed its connections): no descriptor of
// the database's files may stay open, and the others may grow by 4 at most. Not counted: the
// JavaScript sources (.js, .mjs) that Node's module loader was reading when a worker was
// terminated mid-import; Node leaves those open, whatever the worker runs. Prints the RSS before
// and after. Exits with code 1 on a violation.
//
// Usage: node scripts/soak/worker-terminate.mjs [--rounds N] [--seed N]
//   (default 500 rounds; imports the compiled library from dist/: run `npm run build:ts` first)

import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const { open } = await import(new URL('../../dist/index.js', import.meta.url).href);

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}
const rounds = option('rounds', 500);
const seed = option('seed', Date.now() >>> 0);
const body = fileURLToPath(new URL('./worker-busy.mjs', import.meta.url));

let state = seed >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const count = (path) => readdirSync(path).length;
const threads = () => count('/proc/self/task');
/** What the process's open descriptors point to (a descriptor closed meanwhile: skipped). */
function descriptorTargets() {
  const targets = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      targets.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed between the listing and the read (readdirSync's own descriptor among them)
    }
  }
  return targets;
}
const moduleSource = (target) => /\.m?js$/.test(target);
const fds = () => descriptorTargets().filter((target) => !moduleSource(target)).length;
const databaseFds = () => descriptorTargets().filter((target) => target.startsWith(dir)).length;
const mb = (bytes) => Math.round(bytes / 2 ** 20);

const dir = mkdtempSync(join(tmpdir(), 'litepool-worker-terminate-'));
const file = join(dir, 'shared.db');
const errors = [];
const exitCodes = new Map();
let terminatedWhileOpening = 0;
const started = performance.now();
// One warm-up round so that the baseline includes what the first Worker leaves for good
// (Node's own worker machinery).
const baseline = { threads: 0, fds: 0, rss: 0 };
console.log(`worker-termination soak: ${rounds} rounds, seed ${seed}`);

async function round(n) {
  const worker = new Worker(body, { workerData: { file, round: n } });
  worker.on('error', (error) => errors.push({ round: n, error: String(error?.stack ?? error) }));
  const early = random() < 0.2;
  await new Promise((resolve) => {
    if (early) {
      setTimeout(resolve, Math.floor(random() * 30));
      return;
    }
    const bound = setTimeout(resolve, 20_000);
    worker.once('message', () => {
      clearTimeout(bound);
      setTimeout(resolve, Math.floor(random() * 51));
    });
    worker.once('exit', () => {
      clearTimeout(bound);
      resolve();
    });
  });
  if (early) terminatedWhileOpening++;
  const code = await worker.terminate();
  exitCodes.set(code, (exitCodes.get(code) ?? 0) + 1);
}

try {
  await round(0);
  Object.assign(baseline, { threads: threads(), fds: fds(), rss: process.memoryUsage.rss() });
  for (let n = 1; n <= rounds; n++) {
    await round(n);
    if (n % 50 === 0) {
      console.log(`${n} rounds in ${Math.round((performance.now() - started) / 1000)} s: threads ${threads()}, fds ${fds()}, RSS ${mb(process.memoryUsage.rss())} MB`);
    }
  }
  // Threads of the last terminated worker may still be finishing: give them a moment.
  for (let waited = 0; threads() > baseline.threads && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  const after = { threads: threads(), fds: fds(), databaseFds: databaseFds(), rss: process.memoryUsage.rss() };
  const pool = await open(file, { readers: 1 });
  let integrity;
  let rows;
  try {
    integrity = await pool.all('PRAGMA integrity_check');
    await pool.run('INSERT INTO w (round, payload) VALUES (?, ?)', [-1, 'after the soak']);
    rows = (await pool.get('SELECT count(*) AS n FROM w')).n;
  } finally {
    await pool.close();
  }
  const problems = [];
  if (errors.length > 0) problems.push(`${errors.length} worker 'error' events, first: ${errors[0].error}`);
  if (integrity.length !== 1 || integrity[0].integrity_check !== 'ok') problems.push(`integrity_check: ${JSON.stringify(integrity)}`);
  if (after.threads > baseline.threads + 2) problems.push(`threads grew from ${baseline.threads} to ${after.threads}`);
  if (after.databaseFds > 0) problems.push(`${after.databaseFds} descriptors of the database's files still open`);
  if (after.fds > baseline.fds + 4) problems.push(`file descriptors grew from ${baseline.fds} to ${after.fds}`);
  const summary = {
    seed,
    rounds,
    terminatedWhileOpening,
    exitCodes: Object.fromEntries(exitCodes),
    rowsWritten: rows,
    threads: { before: baseline.threads, after: after.threads },
    fileDescriptors: { before: baseline.fds, after: after.fds, database: after.databaseFds },
    rssMB: { before: mb(baseline.rss), after: mb(after.rss) },
    seconds: Math.round((performance.now() - started) / 1000),
    problems,
  };
  console.log(JSON.stringify(summary, null, 2));
  if (problems.length > 0) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
