// Owns the many-pools measurement: what it costs to keep N pools open at once in one process
// (threads, resident memory, virtual memory, file descriptors), and what is left after they all
// close. Each configuration runs in a fresh child process (node --expose-gc), so one does not
// inherit another's heap.
//
// Per pool: open a file database in a fresh directory, one SELECT and one INSERT (so every
// connection has prepared a statement and the writer has written), then keep it open idle.
// Prints one row per configuration and writes bench/results/many-pools-latest.json.
//
// Usage: node bench/many-pools.mjs [--pools 100,1000] [--readers 0,1,4]   (after `npm run build`)

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function listArg(name, fallback) {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : process.argv[at + 1].split(',').map(Number);
}

/** The child: opens `pools` pools with `readers` readers each, measures, closes, measures. */
async function child(pools, readers) {
  const { open } = await import('../dist/index.js');
  const status = () => readFileSync('/proc/self/status', 'utf8');
  const field = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status())[1]);
  const settle = async () => {
    for (let i = 0; i < 4; i++) {
      globalThis.gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const sample = async () => {
    await settle();
    const memory = process.memoryUsage();
    return {
      rssMiB: field('VmRSS') / 1024,
      vmMiB: field('VmSize') / 1024,
      threads: field('Threads'),
      fds: readdirSync('/proc/self/fd').length,
      heapUsedMiB: memory.heapUsed / 1048576,
      externalMiB: memory.external / 1048576,
    };
  };
  const dir = mkdtempSync(join(tmpdir(), 'litepool-many-'));
  try {
    // One pool opened and closed first, so that the addon and SQLite's globals are loaded.
    const warm = await open(join(dir, 'warm.db'), { readers });
    await warm.get('SELECT 1');
    await warm.close();
    const before = await sample();
    const started = performance.now();
    const open_ = [];
    for (let i = 0; i < pools; i++) {
      const pool = await open(join(dir, `db${i}.db`), { readers });
      await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
      await pool.run('INSERT INTO t (v) VALUES (?)', ['x']);
      await pool.get('SELECT count(*) AS n FROM t');
      open_.push(pool);
    }
    const openMs = performance.now() - started;
    const opened = await sample();
    const closeStarted = performance.now();
    await Promise.all(open_.map((pool) => pool.close()));
    const closeMs = performance.now() - closeStarted;
    open_.length = 0;
    const closed = await sample();
    process.stdout.write(JSON.stringify({ pools, readers, before, opened, closed, openMs, closeMs }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function row(result) {
  const { pools, readers, before, opened, closed } = result;
  const perPool = (key) => (opened[key] - before[key]) / pools;
  return [
    pools,
    readers,
    opened.threads - before.threads,
    (opened.rssMiB - before.rssMiB).toFixed(1),
    (perPool('rssMiB') * 1024).toFixed(0),
    (perPool('vmMiB')).toFixed(1),
    opened.fds - before.fds,
    (closed.rssMiB - before.rssMiB).toFixed(1),
    closed.threads - before.threads,
    (result.openMs / 1000).toFixed(1),
    (result.closeMs / 1000).toFixed(1),
  ].join(' | ');
}

if (process.argv[2] === '--child') {
  await child(Number(process.argv[3]), Number(process.argv[4]));
} else {
  const results = [];
  console.log(
    '| pools | readers | threads | RSS open (MiB) | RSS per pool (KiB) | virtual per pool (MiB) | fds | RSS after close (MiB) | threads after close | open (s) | close (s) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const pools of listArg('--pools', [100, 1000])) {
    for (const readers of listArg('--readers', [0, 1, 4])) {
      const run = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', String(pools), String(readers)], {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      });
      if (run.status !== 0) {
        console.error(`pools=${pools} readers=${readers} failed (status ${run.status}, ${run.signal ?? 'no signal'}):\n${run.stderr}`);
        process.exitCode = 1;
        continue;
      }
      const result = JSON.parse(run.stdout);
      results.push(result);
      console.log(`| ${row(result)} |`);
    }
  }
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'many-pools-latest.json'),
    `${JSON.stringify({ node: process.version, cpus: cpus().length, at: new Date().toISOString(), results }, null, 2)}\n`,
  );
}
