// Health: db.ping(), and the health probe (healthCheck: { intervalMs }) that reads the schema on
// idle connections and replaces one whose probe fails (the failure injected through an internal
// test hook), while the pool keeps answering.
import { describe, expect, it } from 'vitest';
import { PoolClosedError, open } from '../lib/index.ts';
import { WRITER_WORKER } from '../lib/native/contract.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection, sleep } from './helpers/waits.ts';

const pools = tempPools('health');

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('db.ping()', () => {
  it('resolves on a healthy pool (file and :memory:) and rejects once closed', async () => {
    const db = await pools.fresh({ readers: 2 });
    await expect(db.ping()).resolves.toBeUndefined();
    const memory = await open(':memory:');
    await expect(memory.ping()).resolves.toBeUndefined();
    await memory.close();
    expect(await rejection(memory.ping())).toBeInstanceOf(PoolClosedError);
  });
});

describe('healthCheck', () => {
  it('probes idle connections and replaces a reader whose probe fails', async () => {
    const opened: string[] = [];
    const db = await pools.fresh({
      readers: 2,
      healthCheck: { intervalMs: 30 },
      onConnection: (conn) => {
        opened.push(conn.role);
      },
    });
    await db.run("INSERT INTO t (v) VALUES ('kept')");
    const probe = db.toolkit.health!;
    await until(() => probe.stats.probes >= 3);
    expect(probe.stats.failed).toBe(0);
    expect(db.stats().connections.replaced).toBe(0);
    const hooksBefore = opened.length;

    probe.failNextProbe(0);
    await until(() => db.stats().connections.replaced >= 1);
    expect(probe.stats.failed).toBe(1);
    // The replacement ran the connection hook on a new reader connection.
    expect(opened.slice(hooksBefore)).toEqual(['reader']);
    // The pool still answers, on every reader.
    const reads = await Promise.all(Array.from({ length: 50 }, () => db.get<{ v: string }>('SELECT v FROM t')));
    expect(reads.every((row) => row?.v === 'kept')).toBe(true);
  });

  it('replaces the writer whose probe fails; writes go on', async () => {
    const db = await pools.fresh({ readers: 1, healthCheck: { intervalMs: 30 } });
    const probe = db.toolkit.health!;
    probe.failNextProbe(WRITER_WORKER);
    await until(() => db.stats().connections.replaced >= 1);
    await db.run("INSERT INTO t (v) VALUES ('after')");
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
  });

  it('is off with healthCheck: false, and its options are checked', async () => {
    const db = await pools.fresh({ readers: 1, healthCheck: false });
    expect(db.toolkit.health).toBeUndefined();
    expect(await rejection(open(pools.file(), { healthCheck: { intervalMs: 0 } }))).toBeInstanceOf(RangeError);
    expect(await rejection(open(pools.file(), { healthCheck: { every: 5 } as never }))).toBeInstanceOf(TypeError);
    expect(await rejection(open(pools.file(), { healthCheck: 'on' as never }))).toBeInstanceOf(TypeError);
  });

  it('leaves readers held by a lease alone', async () => {
    const db = await pools.fresh({ readers: 2, healthCheck: { intervalMs: 20 } });
    const readersOf: number[] = [];
    const stop = db.observe({ onQuery: (event) => void readersOf.push(event.connectionId) });
    const lease = await db.acquire();
    await lease.exec('BEGIN');
    await lease.get('SELECT count(*) FROM t');
    stop();
    const leased = readersOf.at(-1)!;
    expect([0, 1]).toContain(leased);
    const probe = db.toolkit.health!;
    // Any probe of the leased reader would now fail and have it replaced.
    probe.failNextProbe(leased);
    const before = probe.stats.probes;
    await until(() => probe.stats.probes >= before + 4);
    expect(probe.stats.failed).toBe(0);
    expect(db.stats().connections.replaced).toBe(0);
    // The lease's transaction is still open and usable.
    expect(await lease.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    await lease.exec('COMMIT');
    await lease.release();
    // Once let go, the reader is probed: the armed failure was on the right reader.
    await until(() => db.stats().connections.replaced >= 1);
    expect(probe.stats.failed).toBe(1);
  });
});

describe('a reader taken while its replacement is on its way', () => {
  // The first chunk sorts every row before it returns one, so it runs long enough for the failed
  // probe to come back and the replacement to be sent while it holds the reader.
  const SLOW = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT x FROM c ORDER BY x DESC';

  it('an iteration whose first chunk took the reader keeps it to the end; the reader is replaced after', async () => {
    const db = await pools.fresh({ readers: 1, healthCheck: { intervalMs: 60_000 } });
    const probe = db.toolkit.health!;
    // The failing probe goes to reader 0's own ring first, then the iteration's first chunk to the
    // shared ring: the reader fails the probe, then takes the chunk, and the keeper's Reopen for
    // the failed probe reaches it while the chunk runs.
    probe.failNextProbe(0);
    probe.probeNow(0);
    let count = 0;
    let expected = 200000;
    for await (const row of db.iterate<{ x: number }>(SLOW, [], { chunkSize: 2000 })) {
      expect(row.x).toBe(expected--);
      count++;
    }
    expect(count).toBe(200000);
    expect(probe.stats.failed).toBe(1);
    // Replaced once the iteration let the reader go, and the pool reads on.
    await until(() => db.stats().connections.replaced >= 1);
    expect(db.stats().connections).toEqual({ replaced: 1, failures: 0 });
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    expect(db.stats().readers.pinned).toBe(0);
  });

  it("a lease that took the reader keeps its connection and transaction; the reader is replaced after", async () => {
    const db = await pools.fresh({ readers: 1, healthCheck: { intervalMs: 60_000 } });
    const probe = db.toolkit.health!;
    // The failing probe, then the lease's Pin, on the one reader: the keeper hears of the failed
    // probe no later than of the Pin, and sends its Reopen before it knows the lease holds it.
    probe.failNextProbe(0);
    probe.probeNow(0);
    const lease = await db.acquire();
    try {
      await lease.exec('BEGIN');
      expect(await lease.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
      await db.run("INSERT INTO t (v) VALUES ('later')");
      await sleep(50);
      // Still the same snapshot on the same connection. (Had the Reopen reached the reader before
      // the lease's Pin, the lease would have the new connection from the start: also fine.)
      expect(await lease.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
      expect(db.stats().connections.failures).toBe(0);
      await lease.exec('COMMIT');
    } finally {
      await lease.release();
    }
    await until(() => db.stats().connections.replaced >= 1);
    expect(db.stats().connections).toEqual({ replaced: 1, failures: 0 });
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
  });
});
