// Covers the pool's lifecycle: close() with 1,000 operations in flight settles all of them and
// leaves an intact database; Symbol.asyncDispose closes the pool; a pool inside a worker_threads
// Worker survives 20 terminations mid-work; a child process that never calls close() exits by
// itself, one that calls process.exit(0) mid-flight exits cleanly, and an idle pool burns no CPU.
// The worker and child-process fixtures (test/fixtures/*.mjs) import the compiled dist/, which
// the global setup (test/global-setup.ts) builds.
//
// Nothing here assumes how fast the machine is: a child that must exit by itself gets a limit
// scaled to how long it took to do its work (only a hang exceeds it), and "idle" is checked by
// counting what the pool's threads did while idle (Linux), not by a CPU budget.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { PoolClosedError, open, type Pool } from '../lib/index.ts';
import { runNode, startNode } from './helpers/child.ts';
import { fixture } from './helpers/paths.ts';
import { tempPools } from './helpers/pools.ts';
import { sleep } from './helpers/waits.ts';

/**
 * A child that did its work (it printed its result) has this long to exit by itself: at least
 * EXIT_FLOOR_MS, and EXIT_FACTOR times as long as the work took it (start-up included), so a slow
 * or loaded machine gets proportionally longer. Only a child that does not exit (a hang) takes
 * longer.
 */
const EXIT_FLOOR_MS = 10_000;
const EXIT_FACTOR = 20;
/** The tests that start processes or workers get this long (a hang still fails them). */
const PROCESS_TEST_MS = 300_000;

const pools = tempPools('lifecycle');

/** Checks a database file with a fresh pool: integrity_check says ok. Returns the pool open. */
async function checkIntegrity(file: string): Promise<Pool> {
  const pool = await open(file, { readers: 1 });
  expect(await pool.all('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
  return pool;
}

/**
 * Runs the fixture `name` on the database `file`, which prints its result on one line once its
 * work is done, and expects it to exit on its own afterwards (within the bound above: not
 * killed, nothing on stderr, no signal, code 0). Returns what it printed.
 */
async function runToCleanExit(name: string, file: string): Promise<string> {
  const started = performance.now();
  // The backstop for a child that hangs before it prints: half the test's time.
  const child = startNode([fixture(name), file], { bound: PROCESS_TEST_MS / 2 });
  const printed = await new Promise<boolean>((resolve) => {
    child.onStdout(() => child.stdout.endsWith('\n') && resolve(true));
    void child.closed.then(() => resolve(child.stdout.endsWith('\n')), () => resolve(false));
  });
  const bound = Math.max(EXIT_FLOOR_MS, EXIT_FACTOR * (performance.now() - started));
  let killed = false;
  const watchdog = setTimeout(() => {
    killed = true;
    child.kill();
  }, bound);
  const result = await child.closed.finally(() => clearTimeout(watchdog));
  expect(printed, `${name} printed no result: ${result.stderr}`).toBe(true);
  expect(killed, `${name} was still running ${Math.round(bound)} ms after it printed its result`).toBe(false);
  expect(result.timedOut).toBe(false);
  expect(result.stderr).toBe('');
  expect(result.signal).toBeNull();
  expect(result.code).toBe(0);
  return result.stdout;
}

/** The WAL monitor's period in the idle test (its default). */
const WAL_MONITOR_MS = 1000;
/** Where Linux lists this process's threads. */
const TASKS = '/proc/self/task';
const perThread = existsSync(TASKS);

/** The ids of this process's pool worker threads (named by native/core/worker.cc). */
function poolThreads(): string[] {
  return readdirSync(TASKS).filter((tid) => {
    try {
      return /^litepool-(writer|reader)$/.test(readFileSync(join(TASKS, tid, 'comm'), 'utf8').trim());
    } catch {
      return false; // ended meanwhile
    }
  });
}

/** What the kernel counts for one thread: its state, its CPU time in clock ticks, and how often it was switched in. */
function threadCounts(tid: string): { state: string; ticks: number; switches: number } {
  const stat = readFileSync(join(TASKS, tid, 'stat'), 'utf8');
  // After "pid (comm) ": state is field 3, utime and stime fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(join(TASKS, tid, 'status'), 'utf8');
  const switches = [...status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  return { state: fields[0]!, ticks: Number(fields[11]) + Number(fields[12]), switches };
}

describe('close()', () => {
  it('settles 1,000 in-flight operations (all fulfilled), resolves, and leaves every row on disk', async () => {
    const file = join(pools.dir, 'close-in-flight.db');
    const db = await open(file, { readers: 4 });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL UNIQUE, payload TEXT)');
    await db.run('INSERT INTO t (n, payload) VALUES (-1, ?)', ['seed']);

    const operations: Promise<unknown>[] = [];
    let writes = 0;
    for (let i = 0; i < 1000; i++) {
      if (i % 2 === 0) {
        operations.push(db.run('INSERT INTO t (n, payload) VALUES (?, ?)', [i, `payload ${i}`]));
        writes++;
      } else if (i % 3 === 0) {
        operations.push(db.all('SELECT n FROM t ORDER BY id DESC LIMIT 10'));
      } else {
        operations.push(db.get('SELECT payload FROM t WHERE n = -1'));
      }
    }
    const closing = db.close();

    const settled = await Promise.allSettled(operations);
    const rejected = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(rejected.map((s) => String(s.reason))).toEqual([]);
    for (let i = 1; i < 1000; i += 2) {
      const value = (settled[i] as PromiseFulfilledResult<unknown>).value;
      if (i % 3 === 0) expect(Array.isArray(value)).toBe(true);
      else expect(value).toEqual({ payload: 'seed' });
    }
    await expect(closing).resolves.toBeUndefined();
    expect(db.closed).toBe(true);
    await expect(db.get('SELECT 1')).rejects.toBeInstanceOf(PoolClosedError);

    const reopened = await checkIntegrity(file);
    try {
      expect(await reopened.get('SELECT COUNT(*) AS n FROM t WHERE n >= 0')).toEqual({ n: writes });
      const ns = await reopened.all<{ n: number }>('SELECT n FROM t WHERE n >= 0 ORDER BY n');
      expect(ns.map((r) => r.n)).toEqual(Array.from({ length: writes }, (_, k) => k * 2));
    } finally {
      await reopened.close();
    }
    // close() checkpoints with TRUNCATE: the WAL is empty (or gone) after the last pool closed.
    const wal = `${file}-wal`;
    if (existsSync(wal)) expect(statSync(wal).size).toBe(0);
  });

  it('settles operations queued beyond the native slots when close() is called', async () => {
    const db = await open(join(pools.dir, 'close-backlog.db'), { readers: 2 });
    await db.exec('CREATE TABLE t (x INTEGER)');
    const operations = Array.from({ length: 6000 }, (_, i) => (i % 2 ? db.get('SELECT ? AS i', [i]) : db.run('INSERT INTO t (x) VALUES (?)', [i])));
    const closing = db.close();
    const settled = await Promise.allSettled(operations);
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
    await expect(closing).resolves.toBeUndefined();
  });
});

describe('Symbol.asyncDispose', () => {
  it('pool[Symbol.asyncDispose]() closes the pool; later calls reject with PoolClosedError', async () => {
    const db = await open(join(pools.dir, 'dispose.db'), { readers: 1 });
    await db.exec('CREATE TABLE IF NOT EXISTS t (x)');
    expect(typeof db[Symbol.asyncDispose]).toBe('function');
    await expect(db[Symbol.asyncDispose]()).resolves.toBeUndefined();
    expect(db.closed).toBe(true);
    const error = await db.get('SELECT 1').then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(PoolClosedError);
    expect((error as PoolClosedError).code).toBe('LITEPOOL_POOL_CLOSED');
    await expect(db.run('INSERT INTO t VALUES (1)')).rejects.toBeInstanceOf(PoolClosedError);
    // Disposing again (or closing) is harmless.
    await expect(db[Symbol.asyncDispose]()).resolves.toBeUndefined();
    await expect(db.close()).resolves.toBeUndefined();
  });

  it('`await using` closes the pool at the end of the block', async () => {
    let escaped: Pool | undefined;
    {
      await using db = await open(join(pools.dir, 'await-using.db'), { readers: 1 });
      escaped = db;
      expect(await db.get('SELECT 1 AS x')).toEqual({ x: 1 });
    }
    expect(escaped.closed).toBe(true);
    await expect(escaped.get('SELECT 1')).rejects.toBeInstanceOf(PoolClosedError);
  });
});

describe('worker_threads', () => {
  it('a pool inside a Worker survives 20 terminations mid-work; the database stays intact', { timeout: PROCESS_TEST_MS }, async () => {
    const file = join(pools.dir, 'worker.db');
    const errors: unknown[] = [];
    for (let round = 0; round < 20; round++) {
      const worker = new Worker(fixture('worker-pool.mjs'), { workerData: { file, round } });
      worker.on('error', (error) => errors.push(error));
      await new Promise<void>((resolve, reject) => {
        worker.once('message', (message) => (message === 'busy' ? resolve() : reject(new Error(`unexpected message ${String(message)}`))));
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`worker ${round} exited with code ${code} before it was busy`)));
      });
      const code = await worker.terminate();
      expect(code).toBe(1);
    }
    expect(errors).toEqual([]);
    // The main process is alive and the database is intact and usable.
    const pool = await checkIntegrity(file);
    try {
      const rounds = await pool.all<{ round: number }>('SELECT DISTINCT round FROM w ORDER BY round');
      expect(rounds.length).toBeGreaterThan(0);
      await pool.run('INSERT INTO w (round, payload) VALUES (?, ?)', [-1, 'after']);
      expect(await pool.get('SELECT payload FROM w WHERE round = -1')).toEqual({ payload: 'after' });
    } finally {
      await pool.close();
    }
  });
});

/** The -wal and -shm files beside `file`, if any are left. */
function leftBeside(file: string): string[] {
  return ['-wal', '-shm'].filter((suffix) => existsSync(file + suffix));
}

describe('child processes', () => {
  it('a process that never calls close() exits by itself with code 0', { timeout: PROCESS_TEST_MS }, async () => {
    const file = join(pools.dir, 'exit-naturally.db');
    const stdout = await runToCleanExit('exit-naturally.mjs', file);
    expect(JSON.parse(stdout)).toEqual({ found: 200, count: 200 });
    // Its connections were closed on the way out, the writer last: the WAL went into the file.
    expect(leftBeside(file)).toEqual([]);
    const pool = await checkIntegrity(file);
    try {
      expect(await pool.get('SELECT COUNT(*) AS n FROM t')).toEqual({ n: 200 });
    } finally {
      await pool.close();
    }
  });

  it('a process that calls process.exit(0) with 1,000 queries in flight exits with code 0', { timeout: PROCESS_TEST_MS }, async () => {
    const file = join(pools.dir, 'exit-midflight.db');
    const stdout = await runToCleanExit('exit-midflight.mjs', file);
    expect(stdout).toBe('exiting\n');
    // process.exit() runs no environment cleanup hook: the pool is stopped on 'exit' instead.
    expect(leftBeside(file)).toEqual([]);
    const pool = await checkIntegrity(file);
    try {
      const { n } = (await pool.get<{ n: number }>('SELECT COUNT(*) AS n FROM t'))!;
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(501);
    } finally {
      await pool.close();
    }
  });

  // Parked workers are never switched in: over a second of idle each of the pool's threads ran
  // not once (a spurious wake-up each is tolerated) and used no clock tick (one tolerated in all,
  // a wake-up that met the tick). A worker that spins, or wakes up on a timer, runs a lot in a
  // second, on any machine. Work the pool does by design is kept out of that second: the WAL
  // monitor has the writer read the WAL index once after the -wal file changed (its look a
  // WAL_MONITOR_MS interval after the last write comes first: timers fire in order), and the
  // health probe (a read every 30 s) is off.
  it.runIf(perThread)("an idle open pool burns no CPU: its threads stay parked (Linux: the kernel's counts per thread)", { timeout: PROCESS_TEST_MS }, async () => {
    const before = new Set(poolThreads());
    const db = await open(join(pools.dir, 'idle-threads.db'), { readers: 4, walMonitor: { intervalMs: WAL_MONITOR_MS }, healthCheck: false });
    try {
      await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER)');
      await Promise.all(Array.from({ length: 100 }, (_, i) => db.run('INSERT INTO t (x) VALUES (?)', [i])));
      await Promise.all(Array.from({ length: 400 }, (_, i) => db.get('SELECT x FROM t WHERE x = ?', [i % 100])));
      await db.all('SELECT * FROM t');
      const threads = poolThreads().filter((tid) => !before.has(tid));
      expect(threads).toHaveLength(5); // the writer and 4 readers
      await sleep(WAL_MONITOR_MS + 200);
      // A worker spins briefly before it parks: wait until each sleeps (state S).
      for (let i = 0; !threads.every((tid) => threadCounts(tid).state === 'S'); i++) {
        if (i === 3000) expect(threads.map((tid) => threadCounts(tid).state), 'the pool threads never all slept').toEqual(threads.map(() => 'S'));
        await sleep(10);
      }
      const start = threads.map(threadCounts);
      await sleep(1000);
      const end = threads.map(threadCounts);
      const switches = end.map((counts, i) => counts.switches - start[i]!.switches);
      const ticks = end.reduce((sum, counts, i) => sum + counts.ticks - start[i]!.ticks, 0);
      console.log(`idle pool threads over 1 s: switched in ${switches.join(', ')} times, ${ticks} clock ticks`);
      for (const count of switches) expect(count, `switches per thread: ${switches.join(', ')}`).toBeLessThanOrEqual(1);
      expect(ticks).toBeLessThanOrEqual(1);
      expect(end.map((counts) => counts.state)).toEqual(threads.map(() => 'S'));
    } finally {
      await db.close();
    }
  });

  // Where the kernel does not count per thread: the child's CPU time over a second of idle
  // (at least 1,000 ms on the wall) stays under a quarter of it. A spinning worker uses about all.
  it.skipIf(perThread)('an idle open pool burns no CPU (the process uses under a quarter of 1 s idle)', { timeout: PROCESS_TEST_MS }, async () => {
    const stdout = await runToCleanExit('idle-cpu.mjs', join(pools.dir, 'idle.db'));
    const { user, system } = JSON.parse(stdout) as { user: number; system: number };
    console.log(`idle pool CPU over 1 s: user ${(user / 1000).toFixed(1)} ms, system ${(system / 1000).toFixed(1)} ms`);
    expect(user + system).toBeLessThan(250_000);
  });
});
