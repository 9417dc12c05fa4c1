// Covers a write lock held by another process (test/fixtures/lock-holder.mjs, which runs BEGIN
// IMMEDIATE through the compiled dist/ that the global setup builds): a write waits busyTimeout
// and then rejects with SQLITE_BUSY, while reads keep working (WAL); with retry, writes and whole
// transactions succeed once the other process commits; without retry, a transaction rejects with
// SQLITE_BUSY and leaves nothing behind; a transaction's timeout or signal (and an operation's
// timeout) ends a wait for the lock without sitting out busyTimeout; retries stop after
// `attempts` and never repeat non-transient errors.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OperationTimeoutError, SqliteError, TransactionTimeoutError, type Pool, type PoolOptions } from '../lib/index.ts';
import { retriable } from '../lib/connections/retry.ts';
import { Op } from '../lib/native/contract.ts';
import { startNode, type NodeChild } from './helpers/child.ts';
import { fixture } from './helpers/paths.ts';
import { tempPools } from './helpers/pools.ts';

/** How long to wait for the child to report that it holds (or released) the lock. */
const CHILD_BOUND_MS = 20_000;

const pools = tempPools('busy');
const holders: Holder[] = [];

afterEach(async () => {
  for (const holder of holders.splice(0)) {
    holder.child.kill();
    await holder.exited;
  }
});

interface Holder {
  child: NodeChild;
  /** Resolves when the child printed 'locked'. */
  locked: Promise<void>;
  /** Resolves when the child printed 'released' (it committed). */
  released: Promise<void>;
  exited: Promise<number | null>;
  /** Closes the child's stdin: it commits and exits. */
  release(): void;
}

/** Starts the lock holder on `file`; it holds the lock until release() or for `holdMs`. */
function startHolder(file: string, holdMs?: number): Holder {
  const child = startNode([fixture('lock-holder.mjs'), file, ...(holdMs === undefined ? [] : [String(holdMs)])], { stdin: 'pipe' });
  const exited = child.closed.then((result) => result.code);
  const locked = child.waitForLine('locked', CHILD_BOUND_MS, 'lock-holder');
  const released = child.waitForLine('released', CHILD_BOUND_MS, 'lock-holder');
  locked.catch(() => undefined);
  released.catch(() => undefined);
  const holder: Holder = { child, locked, released, exited, release: () => child.endInput() };
  holders.push(holder);
  return holder;
}

/** A new database file holding the table t (created and closed by a pool of its own). */
async function newDatabase(): Promise<string> {
  const setup = await pools.fresh({ readers: 1 }, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)');
  await setup.close();
  return setup.path;
}

/**
 * A new database whose write lock another process holds (until release(), or for `holdMs`), and
 * a pool on it opened with `options` once the lock is held.
 */
async function lockedByAnother(options: PoolOptions, holdMs?: number): Promise<{ holder: Holder; db: Pool }> {
  const file = await newDatabase();
  const holder = startHolder(file, holdMs);
  await holder.locked;
  return { holder, db: await pools.openAt(file, options) };
}

const isBusy = (error: unknown): boolean => error instanceof SqliteError && error.code === 'SQLITE_BUSY';

async function values(db: Pool): Promise<string[]> {
  return (await db.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((row) => row.v);
}

describe('a write lock held by another process', () => {
  it('a write waits about busyTimeout, then rejects with SQLITE_BUSY; reads still work meanwhile', async () => {
    const { holder, db } = await lockedByAnother({ readers: 2, busyTimeout: 200 });

    const reads = Promise.all([db.get('SELECT count(*) AS n FROM t'), db.all('SELECT v FROM t')]);
    const started = performance.now();
    const failure = await db.run("INSERT INTO t (v) VALUES ('mine')").then(
      () => undefined,
      (error: unknown) => error,
    );
    const elapsed = performance.now() - started;
    expect(isBusy(failure)).toBe(true);
    expect((failure as SqliteError).primaryCode).toBe('SQLITE_BUSY');
    // A genuine lower bound: the busy handler's sleeps add up to busyTimeout and never end early.
    expect(elapsed).toBeGreaterThanOrEqual(150);
    // WAL: readers are not blocked by the other process's write lock, and do not see its
    // uncommitted row.
    expect(await reads).toEqual([{ n: 0 }, []]);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    await expect(db.exec("INSERT INTO t (v) VALUES ('mine')")).rejects.toSatisfy(isBusy);

    holder.release();
    await holder.released;
    expect(await holder.exited).toBe(0);
    // The lock is gone: the same write succeeds, after the other process's row.
    await db.run("INSERT INTO t (v) VALUES ('mine')");
    expect(await values(db)).toEqual(['holder', 'mine']);
  });

  it('with retry, a write succeeds once the other process commits', async () => {
    const { holder, db } = await lockedByAnother({ readers: 1, busyTimeout: 100, retry: { attempts: 10, baseDelay: 50, maxDelay: 200 } }, 500);
    const result = await db.run("INSERT INTO t (v) VALUES ('mine')");
    expect(result.changes).toBe(1);
    expect(await holder.exited).toBe(0);
    // Ours landed after the other process's transaction committed.
    expect(await values(db)).toEqual(['holder', 'mine']);
  });

  it('with retry, a transaction eventually commits', async () => {
    const { holder, db } = await lockedByAnother({ readers: 1, busyTimeout: 100, retry: { attempts: 10, baseDelay: 50, maxDelay: 200 } }, 500);
    let attempts = 0;
    const value = await db.transaction(async (tx) => {
      attempts++;
      await tx.run("INSERT INTO t (v) VALUES ('tx-1')");
      await tx.run("INSERT INTO t (v) VALUES ('tx-2')");
      return 'committed';
    });
    expect(value).toBe('committed');
    // BEGIN IMMEDIATE is what met the lock: the callback ran once, on the attempt that got it.
    expect(attempts).toBe(1);
    expect(await holder.exited).toBe(0);
    expect(await values(db)).toEqual(['holder', 'tx-1', 'tx-2']);
  });

  it('without retry, a transaction rejects with SQLITE_BUSY and leaves nothing behind', async () => {
    const { holder, db } = await lockedByAnother({ readers: 1, busyTimeout: 100 });
    let ran = false;
    await expect(
      db.transaction(async (tx) => {
        ran = true;
        await tx.run("INSERT INTO t (v) VALUES ('tx-1')");
      }),
    ).rejects.toSatisfy(isBusy);
    expect(ran).toBe(false);
    expect(db.stats().writer.held).toBe(false);
    // A deferred transaction meets the lock at its first write instead.
    await expect(
      db.transaction(
        async (tx) => {
          expect(await tx.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
          await tx.run("INSERT INTO t (v) VALUES ('deferred')");
        },
        { behavior: 'deferred' },
      ),
    ).rejects.toSatisfy(isBusy);
    expect(db.stats().writer.held).toBe(false);

    holder.release();
    expect(await holder.exited).toBe(0);
    await db.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('after')"));
    expect(await values(db)).toEqual(['holder', 'after']);
  });

  it('a transaction timeout ends a BEGIN still waiting for the lock, without waiting out busyTimeout', async () => {
    // The other process keeps the lock until told to let go, and busyTimeout outlasts this test:
    // the transaction must settle on its own timeout while the lock is still held.
    const { holder, db } = await lockedByAnother({ readers: 1, busyTimeout: 120_000 });
    let ran = false;
    const error = await db
      .transaction(
        () => {
          ran = true;
        },
        { timeout: 200 },
      )
      .then(
        () => undefined,
        (reason: unknown) => reason,
      );
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect(ran).toBe(false);
    // It rejected on its timeout; the writer is given back once the cancelled BEGIN has ended and
    // the rollback run, while the other process still holds the lock.
    await vi.waitFor(() => expect(db.stats().writer.held).toBe(false), { timeout: 5_000 });
    holder.release();
    expect(await holder.exited).toBe(0);
    expect(await values(db)).toEqual(['holder']);
  }, 15_000);

  it("aborting a transaction's signal ends a BEGIN still waiting for the lock", async () => {
    const { holder, db } = await lockedByAnother({ readers: 1, busyTimeout: 120_000 });
    const controller = new AbortController();
    const reason = new Error('stop waiting for the lock');
    setTimeout(() => controller.abort(reason), 200);
    await expect(db.transaction(() => 'never', { signal: controller.signal })).rejects.toBe(reason);
    await vi.waitFor(() => expect(db.stats().writer.held).toBe(false), { timeout: 5_000 });
    holder.release();
    expect(await holder.exited).toBe(0);
  }, 15_000);

  it('a plain write waiting for the lock is cancelled by its own timeout', async () => {
    const { holder, db } = await lockedByAnother({ readers: 1, busyTimeout: 120_000 });
    await expect(db.run("INSERT INTO t (v) VALUES ('mine')", [], { timeout: 200 })).rejects.toBeInstanceOf(OperationTimeoutError);
    holder.release();
    expect(await holder.exited).toBe(0);
    expect(await values(db)).toEqual(['holder']);
  }, 15_000);

  it('retries stop after `attempts`: the write rejects with SQLITE_BUSY while the lock is still held', async () => {
    const { holder, db } = await lockedByAnother({ readers: 1, busyTimeout: 100, retry: { attempts: 3, baseDelay: 10, maxDelay: 20 } });
    const before = db.stats().operations;
    const began = performance.now();
    await expect(db.run("INSERT INTO t (v) VALUES ('mine')")).rejects.toSatisfy(isBusy);
    // Three attempts, each waiting busyTimeout (100 ms); stats().operations counts the operation
    // once, whatever its attempts: one started, one failed.
    expect(performance.now() - began).toBeGreaterThanOrEqual(250);
    const after = db.stats().operations;
    expect(after.started - before.started).toBe(1);
    expect(after.failed - before.failed).toBe(1);
    expect(after.completed - before.completed).toBe(0);
    holder.release();
    expect(await holder.exited).toBe(0);
    expect(await values(db)).toEqual(['holder']);
  });
});

describe('retry policy', () => {
  it('a non-transient error is not retried: a constraint violation rejects with its own code', async () => {
    const file = await newDatabase();
    const db = await pools.openAt(file, { readers: 1, retry: { attempts: 10, baseDelay: 50, maxDelay: 200 } });
    await db.run("INSERT INTO t (v) VALUES ('dup')");
    const before = db.stats().operations;
    await expect(db.run("INSERT INTO t (v) VALUES ('dup')")).rejects.toSatisfy(
      (error: unknown) => error instanceof SqliteError && error.code === 'SQLITE_CONSTRAINT_UNIQUE',
    );
    // One attempt only: one operation started and failed.
    const after = db.stats().operations;
    expect(after.started - before.started).toBe(1);
    expect(after.failed - before.failed).toBe(1);
    let runs = 0;
    const failure = new Error('not transient');
    await expect(
      db.transaction(() => {
        runs++;
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(runs).toBe(1);
  });
});

describe('what a retry may run again', () => {
  it('an exec() whose second statement meets another process\'s lock is not run again: its first statement committed', async () => {
    const aux = await newDatabase();
    const db = await pools.fresh({ readers: 1, busyTimeout: 100, retry: { attempts: 4, baseDelay: 10, maxDelay: 20 } });
    await db.exec(`ATTACH '${aux.replaceAll("'", "''")}' AS aux`);
    const holder = startHolder(aux);
    await holder.locked;
    const failure = await db.exec("INSERT INTO t (v) VALUES ('main'); INSERT INTO aux.t (v) VALUES ('aux')").then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(SqliteError);
    expect((failure as SqliteError).primaryCode).toBe('SQLITE_BUSY');
    // Once, not once per attempt.
    expect(await db.all("SELECT v FROM t WHERE v = 'main'")).toEqual([{ v: 'main' }]);
    // A single statement is still retried until the lock goes.
    const retried = db.run("INSERT INTO aux.t (v) VALUES ('retried')");
    setTimeout(() => holder.release(), 30);
    await retried;
    await holder.released;
  });

  it('never an exec() of several statements (each commits alone outside a transaction); one statement, batches and writes yes', () => {
    expect(retriable(Op.Exec, 'INSERT INTO t VALUES (1); SELECT 1; INSERT INTO t VALUES (2)')).toBe(false);
    expect(retriable(Op.Exec, "INSERT INTO t VALUES ('a;b'); -- one more;\n INSERT INTO t VALUES (2)")).toBe(false);
    expect(retriable(Op.Exec, "INSERT INTO t VALUES ('a;b') -- a comment; not a statement")).toBe(true);
    expect(retriable(Op.Exec, 'CREATE TABLE x (a)')).toBe(true);
    expect(retriable(Op.Run, 'INSERT INTO t VALUES (1)')).toBe(true);
    expect(retriable(Op.Batch, undefined)).toBe(true);
  });
});

