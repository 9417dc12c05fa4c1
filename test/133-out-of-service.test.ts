// Connections out of service: a replacement whose onConnection hook throws, or whose connection
// cannot be opened again (the file damaged on disk), leaves its connection out of service until a
// retry succeeds. close() still settles (the readers held out of service are closed on their own
// rings, or drained when none is in service; each gets one more attempt first); retries keep their
// backoff (probes and fatal errors do not hasten them); no write runs on a writer whose hook
// failed (writes wait for the retry; sessions waiting fail with LITEPOOL_CONNECTION_UNAVAILABLE
// while it keeps failing); a lease waiting for a reader when none is in service fails the same
// way instead of waiting for ever; the health probe's reads do not count as use, so idleTimeout
// still replaces idle connections with health checks on; and an in-memory database is never
// replaced (a new connection would be an empty database).
import { closeSync, openSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LitepoolError, open, type ConnectionHandle, type Pool, type PoolOptions } from '../lib/index.ts';
import { WRITER_WORKER } from '../lib/native/contract.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection, settleOrReport, sleep } from './helpers/waits.ts';

const pools = tempPools('out-of-service');

/** Polls `check` every 10 ms until it holds; fails after `ms` (a generous upper bound). */
async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

/**
 * A hook that counts its calls per role and throws on a role while told to: `fail.reader` /
 * `fail.writer` is how many more calls fail (Infinity: all).
 */
function flakyHook() {
  const calls = { reader: 0, writer: 0 };
  const fail = { reader: 0, writer: 0 };
  const hook = async (conn: ConnectionHandle): Promise<void> => {
    calls[conn.role]++;
    if (fail[conn.role] > 0) {
      fail[conn.role]--;
      throw new Error(`${conn.role} hook down`);
    }
    if (conn.role === 'writer') {
      await conn.exec('CREATE TEMP TRIGGER audit AFTER INSERT ON main.t BEGIN INSERT INTO main.audit (v) VALUES (new.v); END');
    }
  };
  return { hook, calls, fail };
}

const SCHEMA = 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL); CREATE TABLE audit (v TEXT)';

/** A pool whose probe runs only when told (probeNow), on a file with tables t and audit. */
async function poolWith(flaky: ReturnType<typeof flakyHook>, options: PoolOptions = {}): Promise<Pool> {
  const path = pools.file();
  const setup = await open(path, { readers: 0 });
  await setup.exec(SCHEMA);
  await setup.close();
  // Opened without tempPools: a close() that never settles must fail the test, not hang its teardown.
  return open(path, { healthCheck: { intervalMs: 60_000 }, onConnection: flaky.hook, ...options });
}

/** Has `worker` replaced now, as a failed health probe would. */
function breakConnection(db: Pool, worker: number): void {
  const probe = db.toolkit.health!;
  probe.failNextProbe(worker);
  probe.probeNow(worker);
}

async function closes(db: Pool): Promise<string> {
  const [outcome] = await settleOrReport([db.close()], 10_000);
  return outcome!.status;
}

describe('close() with a connection out of service', () => {
  it('settles when the only reader failed its hook once and close() comes before the retry; the last attempt runs the hook', async () => {
    const flaky = flakyHook();
    const db = await poolWith(flaky, { readers: 1 });
    expect(flaky.calls).toEqual({ reader: 1, writer: 1 });
    flaky.fail.reader = 1;
    breakConnection(db, 0);
    await until(() => db.stats().connections.failures === 1);
    expect(await closes(db)).toBe('fulfilled');
    // Once at open, once failed, once more in close() (which succeeded).
    expect(flaky.calls.reader).toBe(3);
    expect(db.stats().connections).toEqual({ replaced: 1, failures: 1 });
  });

  it('settles when the only reader keeps failing its hook', async () => {
    const flaky = flakyHook();
    const db = await poolWith(flaky, { readers: 1 });
    flaky.fail.reader = Infinity;
    breakConnection(db, 0);
    await until(() => db.stats().connections.failures >= 1);
    expect(await closes(db)).toBe('fulfilled');
    expect(db.closed).toBe(true);
  });

  it('settles with one of two readers out of service, which the other serves reads around', async () => {
    const flaky = flakyHook();
    const db = await poolWith(flaky, { readers: 2 });
    flaky.fail.reader = Infinity;
    breakConnection(db, 1);
    await until(() => db.stats().connections.failures >= 1);
    const reads = await settleOrReport(Array.from({ length: 20 }, () => db.get<{ n: number }>('SELECT count(*) AS n FROM t')));
    expect(reads.every((read) => read.status === 'fulfilled')).toBe(true);
    expect(await closes(db)).toBe('fulfilled');
  });

  it('settles after the database file was damaged under the pool, a read left waiting for a reader included', async () => {
    const path = pools.file();
    const db = await open(path, { readers: 1, healthCheck: { intervalMs: 50 } });
    await db.exec('CREATE TABLE t (x)');
    await db.run('INSERT INTO t VALUES (1)');
    await db.checkpoint('truncate');
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(100, 0x42), 0, 100, 0);
    closeSync(fd);
    await until(() => db.stats().connections.failures >= 1);
    // Whatever this read meets (a broken connection, or none in service), it settles.
    const [read] = await settleOrReport([db.get('SELECT count(*) AS n FROM t', [], { timeout: 500 })]);
    expect(read!.status).toBe('rejected');
    expect(await closes(db)).toBe('fulfilled');
  });
});

describe('retries of a failed replacement', () => {
  it('wait for their backoff: failed probes meanwhile do not hasten them', async () => {
    const flaky = flakyHook();
    const db = await poolWith(flaky, { readers: 1 });
    flaky.fail.reader = Infinity;
    breakConnection(db, 0);
    await until(() => db.stats().connections.failures === 1);
    const calls = flaky.calls.reader;
    // The first retry comes 500 ms after the failure; failed probes meanwhile change nothing.
    for (let i = 0; i < 5; i++) {
      breakConnection(db, 0);
      await sleep(20);
    }
    expect(db.stats().connections.failures).toBe(1);
    expect(flaky.calls.reader).toBe(calls);
    // ...and the retry does come.
    await until(() => db.stats().connections.failures >= 2);
    expect(flaky.calls.reader).toBe(calls + 1);
    expect(await closes(db)).toBe('fulfilled');
  });
});

describe('the writer out of service', () => {
  it('runs no write before its hook did: a write waits for the retry that succeeds', async () => {
    const flaky = flakyHook();
    const db = await poolWith(flaky, { readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('before')");
    flaky.fail.writer = 1;
    breakConnection(db, WRITER_WORKER);
    await until(() => db.stats().connections.failures === 1);
    await db.run("INSERT INTO t (v) VALUES ('after')");
    // The write ran on the connection the retry made, whose hook created the audit trigger.
    expect(flaky.calls.writer).toBe(3);
    expect(await db.all('SELECT v FROM audit ORDER BY rowid')).toEqual([{ v: 'before' }, { v: 'after' }]);
    expect(db.stats().connections).toEqual({ replaced: 1, failures: 1 });
    expect(await closes(db)).toBe('fulfilled');
  });

  it('fails the transactions waiting for it with LITEPOOL_CONNECTION_UNAVAILABLE while its hook keeps failing; close() settles', async () => {
    const flaky = flakyHook();
    const db = await poolWith(flaky, { readers: 1 });
    flaky.fail.writer = Infinity;
    breakConnection(db, WRITER_WORKER);
    await until(() => db.stats().connections.failures >= 1);
    let ran = false;
    const [outcome] = await settleOrReport([
      db.transaction(async (tx) => {
        ran = true;
        await tx.run("INSERT INTO t (v) VALUES ('unaudited')");
      }),
    ]);
    expect(outcome!.status).toBe('rejected');
    const error = (outcome as PromiseRejectedResult).reason;
    expect(error).toBeInstanceOf(LitepoolError);
    expect(error.code).toBe('LITEPOOL_CONNECTION_UNAVAILABLE');
    expect(error.cause.code).toBe('LITEPOOL_CONNECTION_HOOK');
    expect(error.cause.cause.message).toBe('writer hook down');
    expect(ran).toBe(false);
    expect(await closes(db)).toBe('fulfilled');
  });
});

describe('no reader in service', () => {
  it('a lease waiting for a reader fails with LITEPOOL_CONNECTION_UNAVAILABLE; once the hook works again leases and reads do too', async () => {
    const flaky = flakyHook();
    const db = await poolWith(flaky, { readers: 1 });
    flaky.fail.reader = Infinity;
    breakConnection(db, 0);
    await until(() => db.stats().connections.failures >= 1);
    const [lease] = await settleOrReport([db.acquire()]);
    expect(lease!.status).toBe('rejected');
    const error = (lease as PromiseRejectedResult).reason;
    expect(error.code).toBe('LITEPOOL_CONNECTION_UNAVAILABLE');
    expect(error.cause.code).toBe('LITEPOOL_CONNECTION_HOOK');
    // A snapshot waits for a reader the same way.
    expect((await rejection(db.read(async (conn) => conn.get('SELECT 1')))).code).toBe('LITEPOOL_CONNECTION_UNAVAILABLE');
    flaky.fail.reader = 0;
    await until(() => db.stats().connections.replaced >= 1);
    const again = await db.acquire();
    expect(await again.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    await again.release();
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    expect(await closes(db)).toBe('fulfilled');
  });
});

describe('idleTimeout with health checks on', () => {
  it('replaces idle connections although the probe reads them more often than idleTimeout', async () => {
    const db = await pools.fresh({ readers: 2, idleTimeout: 1000, healthCheck: { intervalMs: 100 } });
    const probe = db.toolkit.health!;
    await until(() => db.stats().connections.replaced >= 3);
    expect(probe.stats.probes).toBeGreaterThan(3);
    expect(probe.stats.failed).toBe(0);
  });
});

describe('an in-memory database', () => {
  it('is never replaced, idle or after a fatal error: its one connection is the database', async () => {
    const db = await open(':memory:', { idleTimeout: 1000 });
    try {
      await db.exec('CREATE TABLE t (v TEXT)');
      await db.run("INSERT INTO t (v) VALUES ('kept')");
      const error = await rejection(db.exec("ATTACH '/nonexistent-dir-xyz/x.db' AS x"));
      expect(error.code).toMatch(/^SQLITE_CANTOPEN/);
      // Idle checks run every 500 ms: several see the connection idle past idleTimeout.
      await sleep(2600);
      expect(db.stats().connections).toEqual({ replaced: 0, failures: 0 });
      expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'kept' }]);
    } finally {
      await db.close();
    }
  });
});

describe('reads and writes waiting for a connection out of service', () => {
  it('reads fail with LITEPOOL_CONNECTION_UNAVAILABLE while no reader is in service, and run again once one is back', async () => {
    const flaky = flakyHook();
    const db = await poolWith(flaky, { readers: 1 });
    flaky.fail.reader = Infinity;
    breakConnection(db, 0);
    await until(() => db.stats().connections.failures >= 1);
    const [read, ping] = await settleOrReport<unknown>([db.get('SELECT count(*) AS n FROM t'), db.ping()]);
    for (const outcome of [read!, ping!]) {
      expect(outcome.status).toBe('rejected');
      const error = (outcome as PromiseRejectedResult).reason;
      expect(error.code).toBe('LITEPOOL_CONNECTION_UNAVAILABLE');
      expect(error.cause.code).toBe('LITEPOOL_CONNECTION_HOOK');
    }
    flaky.fail.reader = 0;
    await until(() => db.stats().connections.replaced >= 1);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    expect(await closes(db)).toBe('fulfilled');
  });

  it('a write waiting for the writer out of service fails with LITEPOOL_CONNECTION_UNAVAILABLE; none runs unaudited', async () => {
    const flaky = flakyHook();
    const db = await poolWith(flaky, { readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('before')");
    flaky.fail.writer = Infinity;
    breakConnection(db, WRITER_WORKER);
    await until(() => db.stats().connections.failures >= 1);
    const [write] = await settleOrReport([db.run("INSERT INTO t (v) VALUES ('lost')")]);
    expect(write!.status).toBe('rejected');
    const error = (write as PromiseRejectedResult).reason;
    expect(error.code).toBe('LITEPOOL_CONNECTION_UNAVAILABLE');
    expect(error.cause.cause.message).toBe('writer hook down');
    flaky.fail.writer = 0;
    await until(() => db.stats().connections.replaced >= 1);
    await db.run("INSERT INTO t (v) VALUES ('after')");
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'before' }, { v: 'after' }]);
    expect(await db.all('SELECT v FROM audit ORDER BY rowid')).toEqual([{ v: 'before' }, { v: 'after' }]);
    expect(await closes(db)).toBe('fulfilled');
  });
});
