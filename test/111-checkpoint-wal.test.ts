// Checkpoints and the WAL monitor: every checkpoint mode, stats().wal, a passive checkpoint past
// checkpointBytes, a held snapshot (or lease, or iteration) named by a 'pinned' event and a
// 'warn' past warnBytes, a truncate checkpoint emptying the WAL once it is released; the
// checkpoint at close (checkpointOnClose); maxReadDuration bounding a read lease's transaction and
// an iteration that holds a reader.
// Events are watched through the public observer hooks (onCheckpoint with its source, onWal).
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TransactionTimeoutError, open, type CheckpointEvent, type Pool, type WalEvent } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { latch, rejection, sleep } from './helpers/waits.ts';

const pools = tempPools('wal');

/** Inserts about `bytes` bytes of rows into t, in transactions of 64 rows of 4000 bytes. */
async function writeBytes(db: Pool, bytes: number): Promise<void> {
  const rows = Math.ceil(bytes / 4000);
  for (let done = 0; done < rows; done += 64) {
    await db.transaction(async (tx) => {
      for (let i = done; i < Math.min(rows, done + 64); i++) await tx.run('INSERT INTO t (v) VALUES (?)', ['x'.repeat(4000)]);
    });
  }
}

function events(db: Pool): { wal: WalEvent[]; checkpoints: CheckpointEvent[] } {
  const seen = { wal: [] as WalEvent[], checkpoints: [] as CheckpointEvent[] };
  db.observe({ onWal: (event) => seen.wal.push(event), onCheckpoint: (event) => seen.checkpoints.push(event) });
  return seen;
}

/** Waits until `condition` holds, checking every 10 ms, at most `ms`. */
async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('db.checkpoint()', () => {
  it('runs every mode and reports { busy, walFrames, checkpointedFrames }', async () => {
    const db = await pools.fresh({ readers: 2, walMonitor: false });
    const seen = events(db);
    await writeBytes(db, 200_000);
    const before = db.stats().wal;
    expect(before.frames).toBeGreaterThan(10);
    expect(before.bytes).toBeGreaterThan(200_000);
    expect(before.checkpoints).toBe(0);
    expect(before.lastCheckpointAt).toBeNull();

    const passive = await db.checkpoint();
    expect(passive.busy).toBe(false);
    expect(passive.walFrames).toBe(before.frames);
    expect(passive.checkpointedFrames).toBe(passive.walFrames);
    expect(await db.checkpoint('full')).toEqual({ busy: false, walFrames: passive.walFrames, checkpointedFrames: passive.walFrames });
    expect(await db.checkpoint('restart')).toEqual({ busy: false, walFrames: passive.walFrames, checkpointedFrames: passive.walFrames });
    // A restart made the next writer start the WAL over.
    await db.run("INSERT INTO t (v) VALUES ('after restart')");
    expect(db.stats().wal.frames).toBeLessThan(passive.walFrames);
    expect(await db.checkpoint('truncate')).toEqual({ busy: false, walFrames: 0, checkpointedFrames: 0 });
    const after = db.stats().wal;
    expect(after).toMatchObject({ bytes: 0, frames: 0, checkpoints: 4 });
    expect(after.lastCheckpointAt).toBeGreaterThan(0);
    expect(seen.checkpoints.map((e) => e.mode)).toEqual(['passive', 'full', 'restart', 'truncate']);
    expect(seen.checkpoints.every((e) => e.durationMs >= 0 && e.source === 'manual')).toBe(true);
    // Each event carries what its call resolved with.
    expect(seen.checkpoints[0]).toMatchObject(passive);
    expect(seen.checkpoints[3]).toMatchObject({ busy: false, walFrames: 0, checkpointedFrames: 0 });
  });

  it('reports busy when a reader holds a snapshot, and rejects a bad mode', async () => {
    const db = await pools.fresh({ readers: 2, walMonitor: false, busyTimeout: 50 });
    await writeBytes(db, 40_000);
    const gate = latch();
    const inside = latch();
    const snapshot = db.read(async (conn) => {
      await conn.get('SELECT count(*) FROM t');
      inside.open();
      await gate.promise;
    });
    await inside.promise;
    await writeBytes(db, 40_000);
    const blocked = await db.checkpoint('truncate');
    expect(blocked.busy).toBe(true);
    expect(blocked.checkpointedFrames).toBeLessThan(blocked.walFrames);
    gate.open();
    await snapshot;
    expect(await db.checkpoint('truncate')).toEqual({ busy: false, walFrames: 0, checkpointedFrames: 0 });
    expect(await rejection(db.checkpoint('hard' as never))).toBeInstanceOf(RangeError);
    expect(await rejection(db.checkpoint(3 as never))).toBeInstanceOf(TypeError);
  });

  it('on :memory: reports nothing to do', async () => {
    const db = await open(':memory:');
    try {
      expect(await db.checkpoint('truncate')).toEqual({ busy: false, walFrames: 0, checkpointedFrames: 0 });
      // No WAL: nothing ran, nothing is counted.
      expect(db.stats().wal).toEqual({ bytes: 0, frames: 0, checkpoints: 0, lastCheckpointAt: null });
    } finally {
      await db.close();
    }
  });
});

describe('the WAL monitor', () => {
  it('checkpoints passively once more than checkpointBytes wait', async () => {
    const db = await pools.fresh({ readers: 1, walMonitor: { checkpointBytes: 100_000, warnBytes: 1e9, intervalMs: 20 } });
    const seen = events(db);
    await writeBytes(db, 300_000);
    await until(() => seen.checkpoints.length > 0);
    expect(seen.checkpoints[0]).toMatchObject({ mode: 'passive', source: 'monitor', busy: false });
    expect(seen.checkpoints[0]!.checkpointedFrames).toBeGreaterThan(0);
    expect(db.stats().wal.checkpoints).toBeGreaterThan(0);
    expect(seen.wal).toEqual([]);
  });

  it('a held read() snapshot and 5 MB of writes: warn and pinned name it; released, a truncate checkpoint empties the WAL', async () => {
    const path = pools.file();
    const db = await pools.openAt(path, { readers: 2, walMonitor: { checkpointBytes: 1_000_000, warnBytes: 3_000_000, intervalMs: 20 } });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const seen = events(db);
    const gate = latch();
    const inside = latch();
    const snapshot = db.read(async (conn) => {
      await conn.get('SELECT count(*) FROM t');
      inside.open();
      await gate.promise;
    });
    await inside.promise;
    await writeBytes(db, 5_000_000);
    await until(() => seen.wal.some((e) => e.kind === 'pinned') && seen.wal.some((e) => e.kind === 'warn'));
    const pinned = seen.wal.find((e) => e.kind === 'pinned')!;
    expect(pinned.heldBy).toBe('read() snapshot');
    expect(pinned.heldMs).toBeGreaterThanOrEqual(0);
    expect(pinned.walBytes).toBeGreaterThan(1_000_000);
    const warn = seen.wal.find((e) => e.kind === 'warn')!;
    expect(warn.walBytes).toBeGreaterThanOrEqual(3_000_000);
    expect(warn.heldBy).toBe('read() snapshot');
    // Each holder is reported once while it pins the WAL.
    expect(seen.wal.filter((e) => e.kind === 'pinned')).toHaveLength(1);
    expect(db.stats().wal.bytes).toBeGreaterThan(5_000_000);

    gate.open();
    await snapshot;
    expect(await db.checkpoint('truncate')).toEqual({ busy: false, walFrames: 0, checkpointedFrames: 0 });
    expect(db.stats().wal).toMatchObject({ bytes: 0, frames: 0 });
    expect(statSync(`${path}-wal`).size).toBe(0);
  });

  it('names a read lease and an iteration', async () => {
    const db = await pools.fresh({ readers: 3, walMonitor: { checkpointBytes: 50_000, warnBytes: 1e9, intervalMs: 20 } });
    await writeBytes(db, 20_000);
    const seen = events(db);
    const lease = await db.acquire();
    await lease.exec('BEGIN');
    await lease.get('SELECT count(*) FROM t');
    await writeBytes(db, 300_000);
    await until(() => seen.wal.some((e) => e.kind === 'pinned'));
    expect(seen.wal.find((e) => e.kind === 'pinned')!.heldBy).toBe('read lease');
    await lease.release();
    await db.checkpoint('truncate');
    seen.wal.length = 0;

    const rows = db.iterate('SELECT id FROM t ORDER BY id', [], { chunkSize: 1 });
    await rows.next();
    await writeBytes(db, 300_000);
    await until(() => seen.wal.some((e) => e.kind === 'pinned'));
    expect(seen.wal.find((e) => e.kind === 'pinned')!.heldBy).toBe('iteration (SELECT id FROM t ORDER BY id)');
    await rows.return();
  });

  it('walMonitor options are checked; false turns the monitor off', async () => {
    const bad = [{ warnBytes: 0 }, { checkpointBytes: 1.5 }, { intervalMs: 1 }, { every: 5 }, 'on'];
    for (const walMonitor of bad) expect(await rejection(open(pools.file(), { walMonitor: walMonitor as never }))).toMatchObject({ code: /LITEPOOL_(INVALID_ARGUMENT|OUT_OF_RANGE)/ });
    const db = await pools.fresh({ readers: 1, walMonitor: false });
    expect(await db.toolkit.checkWal()).toBe(false);
  });
});

describe('the WAL monitor while the writer is held', () => {
  it('still warns about a large WAL while a write lease holds the writer', async () => {
    const db = await pools.fresh({ readers: 1, walMonitor: { checkpointBytes: 1e9, warnBytes: 100_000, intervalMs: 20 } });
    const seen = events(db);
    const lease = await db.acquire({ write: true });
    await lease.exec('BEGIN');
    for (let i = 0; i < 60; i++) await lease.run('INSERT INTO t (v) VALUES (?)', ['x'.repeat(4000)]);
    await lease.exec('COMMIT');
    // The lease still holds the writer: the warning must not wait for it.
    await until(() => seen.wal.some((e) => e.kind === 'warn'));
    // Nor does the monitor's own look at the WAL index queue behind the lease.
    expect(await db.toolkit.checkWal()).toBe(true);
    expect(db.stats().writer.queued).toBe(0);
    await lease.release();
  });
});

describe('the WAL monitor and writes of another connection', () => {
  it('reads the WAL index again when another connection started the log over at the same size', async () => {
    const path = pools.file();
    // A checks only when told (toolkit.checkWal()); B is another pool on the same file.
    const a = await pools.openAt(path, { readers: 1, walMonitor: { intervalMs: 3_600_000, checkpointBytes: Number.MAX_SAFE_INTEGER } });
    await a.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    for (let i = 0; i < 20; i++) await a.run('INSERT INTO t (v) VALUES (?)', ['x'.repeat(100)]);
    const b = await pools.openAt(path, { readers: 1, walMonitor: false });
    await a.run("INSERT INTO t (v) VALUES ('from a')"); // A's writer reads the index after B's open
    const frames = a.stats().wal.frames;
    expect(frames).toBeGreaterThanOrEqual(20);
    const bytes = statSync(`${path}-wal`).size;
    // A first look: the monitor notes the -wal file as it is (its refresh request on the writer
    // is done once a later request there is).
    await a.toolkit.checkWal();
    await a.exec('SELECT 1');

    expect((await b.checkpoint('passive')).checkpointedFrames).toBe(frames);
    // Everything copied back and no reader in the log: B's next write starts the log over, at
    // its start, and the -wal file keeps its size.
    await b.run("INSERT INTO t (v) VALUES ('from b')");
    expect(statSync(`${path}-wal`).size).toBe(bytes);
    expect(a.stats().wal.frames).toBe(frames); // what A's writer last read

    await a.toolkit.checkWal();
    await until(() => a.stats().wal.frames < frames, 5000);
    expect(a.stats().wal.frames).toBeGreaterThan(0);
  });
});

describe("replication: 'litestream'", () => {
  it('refuses checkpoints that restart the WAL, and the monitor runs none of its own', async () => {
    const db = await pools.fresh({ readers: 1, replication: 'litestream', walMonitor: { checkpointBytes: 10_000, warnBytes: 150_000, intervalMs: 20 } });
    const seen = events(db);
    expect(await rejection(db.checkpoint('truncate'))).toBeInstanceOf(RangeError);
    expect(await rejection(db.checkpoint('restart'))).toBeInstanceOf(RangeError);
    await writeBytes(db, 200_000);
    await until(() => seen.wal.some((e) => e.kind === 'warn'));
    expect(seen.checkpoints).toEqual([]);
    expect((await db.checkpoint('passive')).busy).toBe(false);
    expect(seen.checkpoints.map((e) => [e.mode, e.source])).toEqual([['passive', 'manual']]);
  });
});

describe('checkpointOnClose', () => {
  async function walAfterClose(checkpointOnClose: 'truncate' | 'passive' | false | undefined): Promise<number> {
    const path = pools.file();
    const db = await open(path, { readers: 1, walMonitor: false, ...(checkpointOnClose === undefined ? {} : { checkpointOnClose }) });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    await writeBytes(db, 100_000);
    // Another connection keeps the WAL file in place when the pool's connections close.
    const other = await open(path, { readers: 1, walMonitor: false, checkpointOnClose: false });
    await other.get('SELECT 1');
    await db.close();
    const size = statSync(`${path}-wal`).size;
    await other.close();
    return size;
  }

  it("is an onCheckpoint event with source 'close' (none with false), after the pool's last write", async () => {
    for (const checkpointOnClose of ['truncate', 'passive', false] as const) {
      const seen: CheckpointEvent[] = [];
      const closed: string[] = [];
      const db = await open(pools.file(), { readers: 1, walMonitor: false, checkpointOnClose });
      db.observe({
        onCheckpoint: (event) => seen.push(event),
        onConnection: (event) => void (event.event === 'close' && closed.push(`${event.role} closed after ${seen.length} checkpoints`)),
      });
      await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
      await writeBytes(db, 100_000);
      await db.close();
      if (checkpointOnClose === false) {
        expect(seen).toEqual([]);
        continue;
      }
      expect(seen).toHaveLength(1);
      const [event] = seen;
      expect(event).toMatchObject({ mode: checkpointOnClose, source: 'close', busy: false });
      expect(event!.durationMs).toBeGreaterThanOrEqual(0);
      // truncate: the WAL emptied (0 frames left); passive: every frame copied back.
      if (checkpointOnClose === 'truncate') expect(event).toMatchObject({ walFrames: 0, checkpointedFrames: 0 });
      else expect(event!.checkpointedFrames).toBe(event!.walFrames);
      if (checkpointOnClose === 'passive') expect(event!.walFrames).toBeGreaterThan(20);
      // Observers hear it before the connections' close events.
      expect(closed).toEqual(['reader closed after 1 checkpoints', 'writer closed after 1 checkpoints']);
    }
  });

  it("'truncate' by default empties the -wal file; 'passive' and false leave it", async () => {
    expect(await walAfterClose(undefined)).toBe(0);
    expect(await walAfterClose('truncate')).toBe(0);
    expect(await walAfterClose('passive')).toBeGreaterThan(100_000);
    expect(await walAfterClose(false)).toBeGreaterThan(100_000);
    expect(await rejection(open(pools.file(), { checkpointOnClose: 'full' as never }))).toBeInstanceOf(RangeError);
  });
});

describe('maxReadDuration bounds a read lease transaction', () => {
  it('a read lease whose BEGIN is older than maxReadDuration is ended with TransactionTimeoutError and rolled back', async () => {
    const db = await pools.fresh({ readers: 2, maxReadDuration: 300, walMonitor: false });
    const lease = await db.acquire();
    // Without a transaction the lease is not bounded.
    await sleep(450);
    expect(lease.ended).toBe(false);
    expect(await lease.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    await lease.exec('BEGIN');
    await lease.get('SELECT count(*) AS n FROM t');
    await until(() => lease.ended, 5000);
    const error = await rejection(lease.get('SELECT 1'));
    expect(error.code).toBe('LITEPOOL_SCOPE_ENDED');
    await lease.release();
    // The reader came back without a transaction: the truncate checkpoint completes.
    await db.run("INSERT INTO t (v) VALUES ('x')");
    expect((await db.checkpoint('truncate')).busy).toBe(false);
  });

  it('an operation running when the bound passes rejects with TransactionTimeoutError', async () => {
    const db = await pools.fresh({ readers: 2, maxReadDuration: 200, walMonitor: false });
    const lease = await db.acquire();
    await lease.exec('BEGIN');
    // A long statement on the lease: the bound passes while it runs.
    const slow = lease.get('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000000) SELECT count(*) FROM c');
    const error = await rejection(slow);
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect(error.message).toMatch(/read lease transaction/);
    await lease.release();
  });
});

describe('maxReadDuration bounds an iteration that holds a reader', () => {
  it('past the bound the reader is let go, the WAL can be checkpointed, and the next chunk rejects with TransactionTimeoutError', async () => {
    const db = await pools.fresh({ readers: 2, maxReadDuration: 300, walMonitor: false });
    await db.exec("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100) INSERT INTO t (v) SELECT 'row ' || x FROM c");
    const seen: number[] = [];
    const consume = (async () => {
      for await (const row of db.iterate<{ id: number }>('SELECT id FROM t ORDER BY id', [], { chunkSize: 10 })) {
        seen.push(row.id);
        // The consumer stalls after its fifth row, well past maxReadDuration.
        if (seen.length === 5) await sleep(900);
      }
    })();
    await until(() => seen.length === 5, 5000);
    expect(db.stats().readers.pinned).toBe(1);
    // The bound passes while the consumer stalls: the reader is let go at once, its read
    // transaction ended, so a truncate checkpoint is no longer held back by it.
    await until(() => db.stats().readers.pinned === 0, 5000);
    await db.run("INSERT INTO t (v) VALUES ('after')");
    expect((await db.checkpoint('truncate')).busy).toBe(false);
    const error = await rejection(consume);
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect(error.code).toBe('LITEPOOL_TRANSACTION_TIMEOUT');
    expect(error.message).toMatch(/iteration's read transaction did not finish within 300 ms/);
    // The rows of the chunks taken before the bound were handed out, nothing after the chunk that
    // ran into it; the pool reads on, on both readers.
    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect(seen.length).toBeLessThanOrEqual(20);
    expect(seen).toEqual(seen.map((_, i) => i + 1));
    const counts = await Promise.all(Array.from({ length: 20 }, () => db.get<{ n: number }>('SELECT count(*) AS n FROM t')));
    expect(counts.every((row) => row?.n === 101)).toBe(true);
  });

  it('an iteration that keeps up, or whose result fits its first chunk, is not ended', async () => {
    const db = await pools.fresh({ readers: 2, maxReadDuration: 300, walMonitor: false });
    await db.exec("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50) INSERT INTO t (v) SELECT 'row ' || x FROM c");
    let rows = 0;
    for await (const _ of db.iterate('SELECT id FROM t', [], { chunkSize: 10 })) rows++;
    expect(rows).toBe(50);
    // Done in its first chunk: nothing held, so nothing to bound however slow the consumer.
    rows = 0;
    for await (const _ of db.iterate('SELECT id FROM t')) {
      if (rows++ === 0) await sleep(450);
    }
    expect(rows).toBe(50);
    // An iteration ended before the bound leaves no timer behind that could end a later one.
    const later: number[] = [];
    for await (const row of db.iterate<{ id: number }>('SELECT id FROM t ORDER BY id', [], { chunkSize: 10 })) {
      later.push(row.id);
      if (later.length === 3) break;
    }
    expect(later).toEqual([1, 2, 3]);
    expect(db.stats().readers.pinned).toBe(0);
  });
});
