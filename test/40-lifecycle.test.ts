// Covers the pool's lifecycle: close() with 1,000 operations in flight settles all of them and
// leaves an intact database; Symbol.asyncDispose closes the pool; a pool inside a worker_threads
// Worker survives 20 terminations mid-work; a child process that never calls close() exits by
// itself, one that calls process.exit(0) mid-flight exits cleanly, and an idle pool burns no CPU.
// The worker and child-process fixtures (test/fixtures/*.mjs) import the compiled dist/, which
// the global setup (test/global-setup.ts) builds.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { PoolClosedError, open, type Pool } from '../lib/index.ts';
import { runNode } from './helpers/child.ts';
import { fixture } from './helpers/paths.ts';
import { tempPools } from './helpers/pools.ts';

const EXIT_BOUND_MS = 10_000;

const pools = tempPools('lifecycle');

/** Checks a database file with a fresh pool: integrity_check says ok. Returns the pool open. */
async function checkIntegrity(file: string): Promise<Pool> {
  const pool = await open(file, { readers: 1 });
  expect(await pool.all('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
  return pool;
}

/**
 * Runs the fixture `name` on the database `file` and expects a clean exit on its own within
 * EXIT_BOUND_MS (not killed, nothing on stderr, no signal, code 0). Returns what it printed.
 */
async function runToCleanExit(name: string, file: string): Promise<string> {
  const result = await runNode([fixture(name), file], { bound: EXIT_BOUND_MS });
  expect(result.timedOut).toBe(false);
  expect(result.stderr).toBe('');
  expect(result.signal).toBeNull();
  expect(result.code).toBe(0);
  return result.stdout;
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
  it('a pool inside a Worker survives 20 terminations mid-work; the database stays intact', async () => {
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

describe('child processes', () => {
  it('a process that never calls close() exits by itself with code 0 within 10 s', async () => {
    const file = join(pools.dir, 'exit-naturally.db');
    const stdout = await runToCleanExit('exit-naturally.mjs', file);
    expect(JSON.parse(stdout)).toEqual({ found: 200, count: 200 });
    const pool = await checkIntegrity(file);
    try {
      expect(await pool.get('SELECT COUNT(*) AS n FROM t')).toEqual({ n: 200 });
    } finally {
      await pool.close();
    }
  });

  it('a process that calls process.exit(0) with 1,000 queries in flight exits with code 0 within 10 s', async () => {
    const file = join(pools.dir, 'exit-midflight.db');
    const stdout = await runToCleanExit('exit-midflight.mjs', file);
    expect(stdout).toBe('exiting\n');
    const pool = await checkIntegrity(file);
    try {
      const { n } = (await pool.get<{ n: number }>('SELECT COUNT(*) AS n FROM t'))!;
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(501);
    } finally {
      await pool.close();
    }
  });

  it('an idle open pool burns no CPU (user + system < 50 ms over 1 s)', async () => {
    const stdout = await runToCleanExit('idle-cpu.mjs', join(pools.dir, 'idle.db'));
    const { user, system } = JSON.parse(stdout) as { user: number; system: number };
    console.log(`idle pool CPU over 1 s: user ${(user / 1000).toFixed(1)} ms, system ${(system / 1000).toFixed(1)} ms`);
    expect(user + system).toBeLessThan(50_000);
  });
});
