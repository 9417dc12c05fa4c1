// Covers how the operations toolkit is observed and guarded: onCheckpoint for every source
// (db.checkpoint(), the WAL monitor, vacuum(), close()) with its fields, and MetricsCollector's
// checkpoint figures; the litepool:checkpoint and litepool:backup channels (one start and exactly
// one asyncEnd per operation, failed, refused and aborted ones included, error before asyncEnd,
// the documented context fields, nothing for an operation that began before the subscription); an
// observer that throws in every hook leaves a backup's outcome unchanged and is warned once; and
// replication: 'litefs' on a replica node refusing the maintenance that writes with
// ReadOnlyReplicaError while copies and checks go on, and the WAL monitor running no checkpoint
// there; a pool iteration counts as a holder of the WAL only while it holds a reader. Counts and
// orderings only.

import { tracingChannel } from 'node:diagnostics_channel';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OperationBlockedError, ReadOnlyReplicaError, open, type CheckpointEvent, type Pool, type WalEvent } from '../lib/index.ts';
import { MetricsCollector } from '../lib/observers/index.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection, sleep } from './helpers/waits.ts';

const pools = tempPools('ops-observed');
/** A copy's destination in a directory where no file can be created: the copy fails once it runs. */
const UNWRITABLE = '/proc/self/x.db';

type Phase = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';
const PHASES: Phase[] = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'];

/** Subscribes to a tracing channel and records every message with its phase (the context as it was then). */
function listen(name: string) {
  const log: { phase: Phase; ctx: Record<string, unknown>; seen: Record<string, unknown> }[] = [];
  const handlers = Object.fromEntries(
    PHASES.map((phase) => [phase, (ctx: unknown) => void log.push({ phase, ctx: ctx as Record<string, unknown>, seen: { ...(ctx as object) } })]),
  );
  const channel = tracingChannel(name);
  channel.subscribe(handlers as never);
  const count = (phase: Phase) => log.filter((e) => e.phase === phase).length;
  const stop = () => channel.unsubscribe(handlers as never);
  stops.push(stop);
  return { log, count, stop };
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

/** For every context: its phases in order. Each must be start, end, [error], asyncStart, asyncEnd. */
function sequences(log: { phase: Phase; ctx: object }[]): Phase[][] {
  const byContext = new Map<object, Phase[]>();
  for (const { phase, ctx } of log) {
    if (!byContext.has(ctx)) byContext.set(ctx, []);
    byContext.get(ctx)!.push(phase);
  }
  return [...byContext.values()];
}

/** Inserts about `bytes` bytes into t, in transactions of 50 rows of 2000 bytes. */
async function writeBytes(db: Pool, bytes: number): Promise<void> {
  const rows = Math.ceil(bytes / 2000);
  for (let done = 0; done < rows; done += 50) {
    await db.transaction(async (tx) => {
      for (let i = done; i < Math.min(rows, done + 50); i++) await tx.run('INSERT INTO t (v) VALUES (?)', ['x'.repeat(2000)]);
    });
  }
}

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('onCheckpoint', () => {
  it('every source: the WAL monitor, db.checkpoint(), vacuum(), close(), with their fields; MetricsCollector counts them', async () => {
    const seen: CheckpointEvent[] = [];
    const metrics = new MetricsCollector();
    const db = await open(pools.file(), {
      readers: 1,
      walMonitor: { checkpointBytes: 50_000, warnBytes: 1e9, intervalMs: 20 },
      observers: [metrics, { onCheckpoint: (e) => seen.push(e) }],
    });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    await writeBytes(db, 200_000);
    await until(() => seen.some((e) => e.source === 'monitor'));
    const full = await db.checkpoint('full');
    await db.vacuum();
    await db.close();

    for (const event of seen) {
      expect(Object.keys(event).sort()).toEqual(['busy', 'checkpointedFrames', 'durationMs', 'mode', 'source', 'walFrames']);
      expect(typeof event.busy).toBe('boolean');
      expect(event.walFrames).toBeGreaterThanOrEqual(0);
      expect(event.checkpointedFrames).toBeGreaterThanOrEqual(0);
      expect(event.durationMs).toBeGreaterThanOrEqual(0);
    }
    const monitor = seen.filter((e) => e.source === 'monitor');
    expect(monitor.every((e) => e.mode === 'passive')).toBe(true);
    expect(monitor[0]!.checkpointedFrames).toBeGreaterThan(0);
    // The monitor's checkpoints may come at any time; the others come in the order they ran.
    const others = seen.filter((e) => e.source !== 'monitor');
    expect(others.map((e) => [e.source, e.mode])).toEqual([
      ['manual', 'full'],
      ['vacuum', 'truncate'],
      ['close', 'truncate'],
    ]);
    expect(others[0]).toMatchObject(full);
    expect(others[1]).toMatchObject({ busy: false, walFrames: 0, checkpointedFrames: 0 });

    const { checkpoints } = metrics.snapshot();
    expect(checkpoints.count).toBe(seen.length);
    expect(checkpoints.bySource).toEqual({ manual: 1, monitor: monitor.length, vacuum: 1, close: 1 });
    expect(checkpoints.duration.count).toBe(seen.length);
    const text = metrics.toPrometheus();
    expect(text).toContain('litepool_checkpoints_total{source="manual"} 1');
    expect(text).toContain(`litepool_checkpoints_total{source="monitor"} ${monitor.length}`);
    expect(text).toContain('litepool_checkpoints_total{source="close"} 1');
    expect(text).toContain(`litepool_checkpoint_seconds_count ${seen.length}`);
  });

  it('with safeIntegers: true, checkpoint results, backup progress and the close event are numbers', async () => {
    const seen: CheckpointEvent[] = [];
    const db = await open(pools.file(), { readers: 1, walMonitor: false, safeIntegers: true, observers: [{ onCheckpoint: (e) => seen.push(e) }] });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    await writeBytes(db, 50_000);
    const result = await db.checkpoint('passive');
    expect(typeof result.walFrames).toBe('number');
    expect(result.checkpointedFrames).toBe(result.walFrames);
    const progress: number[] = [];
    const copy = await db.backup(join(pools.dir, 'safe-integers.db'), { pagesPerStep: 4, onProgress: (p) => progress.push(p.remainingPages, p.totalPages) });
    expect(typeof copy.pages).toBe('number');
    expect(progress.every((n) => typeof n === 'number')).toBe(true);
    await db.close();
    expect(seen.map((e) => e.source)).toEqual(['manual', 'close']);
    for (const event of seen) expect([event.walFrames, event.checkpointedFrames, event.durationMs].every((n) => typeof n === 'number')).toBe(true);
  });

  it('a :memory: pool reports its (empty) checkpoints too, and none at close', async () => {
    const seen: CheckpointEvent[] = [];
    const db = await open(':memory:', { observers: [{ onCheckpoint: (e) => seen.push(e) }] });
    await db.checkpoint('truncate');
    await db.close();
    expect(seen).toEqual([{ busy: false, walFrames: 0, checkpointedFrames: 0, mode: 'truncate', source: 'manual', durationMs: seen[0]!.durationMs }]);
  });
});

describe('litepool:checkpoint', () => {
  it('one start and exactly one asyncEnd per checkpoint, refused ones included; error before asyncEnd; context fields', async () => {
    const db = await pools.fresh({ readers: 2, walMonitor: false, replication: 'litestream' });
    const channel = listen('litepool:checkpoint');
    const modes = ['passive', 'full', 'restart', 'truncate'] as const;
    const calls: Promise<unknown>[] = [];
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const mode = modes[i % 4]!;
      // Under Litestream, 'restart' and 'truncate' are refused (inside the tracing, as a failure).
      if (mode === 'restart' || mode === 'truncate') refused++;
      calls.push(db.run('INSERT INTO t (v) VALUES (?)', [`v${i}`]), db.checkpoint(mode));
    }
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(refused);
    // A bad mode is a bad argument: refused before anything is traced.
    expect(await rejection(db.checkpoint('hard' as never))).toBeInstanceOf(RangeError);

    expect(channel.count('start')).toBe(40);
    expect(channel.count('end')).toBe(40);
    expect(channel.count('asyncStart')).toBe(40);
    expect(channel.count('asyncEnd')).toBe(40);
    expect(channel.count('error')).toBe(refused);
    for (const phases of sequences(channel.log)) {
      expect([
        ['start', 'end', 'asyncStart', 'asyncEnd'],
        ['start', 'end', 'error', 'asyncStart', 'asyncEnd'],
      ]).toContainEqual(phases);
    }
    const starts = channel.log.filter((e) => e.phase === 'start');
    expect(starts.map((e) => e.seen.mode)).toEqual(Array.from({ length: 40 }, (_, i) => modes[i % 4]));
    for (const { seen } of starts) {
      expect(seen).toEqual({ database: db.path, pool: db, mode: seen.mode, source: 'manual' });
    }
    for (const { seen } of channel.log.filter((e) => e.phase === 'asyncEnd')) {
      expect(seen.durationMs).toBeGreaterThanOrEqual(0);
      if (seen.error === undefined) expect(seen.result).toEqual({ busy: false, walFrames: expect.any(Number), checkpointedFrames: expect.any(Number) });
      else expect(seen.error).toBeInstanceOf(RangeError);
    }
  });

  it('traces the checkpoints the WAL monitor and vacuum() run, with their source', async () => {
    const db = await pools.fresh({ readers: 1, walMonitor: { checkpointBytes: 50_000, warnBytes: 1e9, intervalMs: 20 } });
    const channel = listen('litepool:checkpoint');
    await writeBytes(db, 200_000);
    await until(() => channel.count('asyncEnd') > 0);
    await db.vacuum();
    // Every start gets its asyncEnd (a monitor checkpoint may still be running: wait for it; with
    // the WAL emptied by vacuum() the monitor starts no more).
    await until(() => channel.count('asyncEnd') === channel.count('start'));
    const sources = channel.log.filter((e) => e.phase === 'start').map((e) => e.seen.source);
    expect(sources[0]).toBe('monitor');
    expect(sources).toContain('vacuum');
    expect(new Set(sources)).toEqual(new Set(['monitor', 'vacuum']));
    expect(channel.count('error')).toBe(0);
    for (const phases of sequences(channel.log)) expect(phases).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
  });
});

describe('litepool:backup', () => {
  it.runIf(process.platform === 'linux')('backups and vacuumInto(), done, aborted and failed: one start and one asyncEnd each, error before asyncEnd', async () => {
    const db = await pools.fresh({ readers: 1 }, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    await db.transaction(async (tx) => {
      for (let i = 0; i < 200; i++) await tx.run('INSERT INTO t (v) VALUES (randomblob(4000))');
    });
    const channel = listen('litepool:backup');
    const dest = (name: string) => join(pools.dir, name);
    const controller = new AbortController();
    let steps = 0;
    // One after the other: a pool runs one backup at a time. UNWRITABLE: a directory where no
    // file can be created (Linux /proc), so the copy fails once traced.
    const copies = [
      () => db.backup(dest('ok.db')),
      () =>
        db.backup(dest('aborted.db'), {
          pagesPerStep: 5,
          signal: controller.signal,
          onProgress: () => void (++steps === 3 && controller.abort(new Error('stop'))),
        }),
      () => db.backup(dest('pre-aborted.db'), { signal: AbortSignal.abort() }),
      () => db.backup(UNWRITABLE),
      () => db.vacuumInto(dest('compact.db')),
    ];
    const outcomes: PromiseSettledResult<unknown>[] = [];
    for (const copy of copies) outcomes.push(...(await Promise.allSettled([copy()])));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled']);
    // Bad arguments are refused before anything is traced.
    expect(await rejection(db.backup(42 as never))).toBeInstanceOf(TypeError);
    expect(await rejection(db.vacuumInto(''))).toBeInstanceOf(RangeError);

    expect(channel.count('start')).toBe(5);
    expect(channel.count('asyncEnd')).toBe(5);
    expect(channel.count('error')).toBe(3);
    for (const phases of sequences(channel.log)) {
      expect([
        ['start', 'end', 'asyncStart', 'asyncEnd'],
        ['start', 'end', 'error', 'asyncStart', 'asyncEnd'],
      ]).toContainEqual(phases);
    }
    const starts = channel.log.filter((e) => e.phase === 'start').map((e) => e.seen);
    expect(starts.map((c) => [c.operation, c.destination])).toEqual([
      ['backup', dest('ok.db')],
      ['backup', dest('aborted.db')],
      ['backup', dest('pre-aborted.db')],
      ['backup', UNWRITABLE],
      ['vacuumInto', dest('compact.db')],
    ]);
    for (const context of starts) expect(Object.keys(context).sort()).toEqual(['database', 'destination', 'operation', 'pool']);
    const ends = new Map(channel.log.filter((e) => e.phase === 'asyncEnd').map((e) => [e.seen.destination, e.seen]));
    expect(ends.get(dest('ok.db'))!.result).toEqual((outcomes[0] as PromiseFulfilledResult<unknown>).value);
    expect((ends.get(dest('aborted.db'))!.error as Error).message).toBe('stop');
    expect(ends.get(dest('pre-aborted.db'))!.error).toMatchObject({ name: 'AbortError' });
    expect((ends.get(UNWRITABLE)!.error as { code: string }).code).toMatch(/^SQLITE_CANTOPEN/);
    expect(ends.get(dest('compact.db'))!.result).toEqual((outcomes[4] as PromiseFulfilledResult<unknown>).value);
    for (const context of ends.values()) expect(context.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('a backup that began before the subscription publishes nothing (no asyncEnd without its start)', async () => {
    const db = await pools.fresh({ readers: 1 }, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    await db.transaction(async (tx) => {
      for (let i = 0; i < 300; i++) await tx.run('INSERT INTO t (v) VALUES (randomblob(4000))');
    });
    let steps = 0;
    let channel: ReturnType<typeof listen> | undefined;
    const result = await db.backup(join(pools.dir, 'late.db'), {
      pagesPerStep: 10,
      onProgress: () => {
        if (++steps === 2) channel = listen('litepool:backup');
      },
    });
    expect(result.pages).toBeGreaterThan(100);
    expect(channel!.log).toEqual([]);
    await db.backup(join(pools.dir, 'later.db'));
    expect(channel!.log.map((e) => e.phase)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
  });
});

describe('an observer that throws', () => {
  it('in every hook leaves a backup taken under writes and WAL monitor checkpoints unchanged, and is warned once', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => void ((warning as { code?: string }).code === 'LITEPOOL_OBSERVER' && warnings.push(warning));
    process.on('warning', onWarning);
    try {
      const db = await pools.fresh({ readers: 2, walMonitor: { checkpointBytes: 30_000, warnBytes: 60_000, intervalMs: 10 } });
      await writeBytes(db, 400_000);
      const committed = (await db.get<{ n: number }>('SELECT count(*) AS n FROM t'))!.n;
      const thrower = {
        onQuery: () => {
          throw new Error('onQuery broke');
        },
        onCheckpoint: () => {
          throw new Error('onCheckpoint broke');
        },
        onWal: () => {
          throw new Error('onWal broke');
        },
      };
      const calm: { checkpoints: CheckpointEvent[]; wal: WalEvent[] } = { checkpoints: [], wal: [] };
      db.observe(thrower);
      db.observe({ onCheckpoint: (e) => calm.checkpoints.push(e), onWal: (e) => calm.wal.push(e) });
      let stop = false;
      const writer = (async () => {
        while (!stop) await db.run('INSERT INTO t (v) VALUES (?)', ['y'.repeat(2000)]);
      })();
      const dest = join(pools.dir, 'under-fire.db');
      const progress: number[] = [];
      const result = await db.backup(dest, { pagesPerStep: 8, onProgress: (p) => progress.push(p.remainingPages) });
      stop = true;
      await writer;
      const manual = await db.checkpoint('passive');
      // The monitor may or may not have checkpointed during the backup (a short backup leaves
      // less than checkpointBytes behind it, and the manual checkpoint takes the rest): writes
      // past its threshold now make it checkpoint in any case.
      await writeBytes(db, 100_000);
      await until(() => calm.checkpoints.some((e) => e.source === 'monitor'));
      await sleep(20);

      expect(calm.checkpoints.filter((e) => e.source === 'manual')).toEqual([{ ...manual, mode: 'passive', source: 'manual', durationMs: expect.any(Number) }]);
      expect(progress.at(-1)).toBe(0);
      expect(result.pages).toBeGreaterThan(100);
      expect(result.durationMs).toBeGreaterThan(0);
      expect(existsSync(dest)).toBe(true);
      const copy = await pools.openAt(dest, { readers: 1, walMonitor: false });
      expect(await copy.integrityCheck()).toEqual({ ok: true, problems: [] });
      expect((await copy.get<{ n: number }>('SELECT count(*) AS n FROM t'))!.n).toBeGreaterThanOrEqual(committed);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.message).toMatch(/threw in on(Query|Checkpoint|Wal)/);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe("replication: 'litefs' on a replica", () => {
  const PRIMARY = 'primary-1.app.internal';

  async function litefsPool(options: Parameters<typeof open>[1] = {}) {
    const mount = join(pools.dir, `mount-${Math.random().toString(36).slice(2)}`);
    mkdirSync(mount);
    const database = join(mount, 'app.db');
    const db = await pools.openAt(database, { replication: 'litefs', readers: 2, ...options });
    await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL); CREATE TABLE p (id INTEGER PRIMARY KEY)');
    await db.run("INSERT INTO t (v) VALUES ('a'), ('b')");
    const becomeReplica = async () => {
      writeFileSync(join(mount, '.primary'), `${PRIMARY}\n`);
      await db.replica.refresh();
      expect(db.replica.isPrimary).toBe(false);
    };
    const becomePrimary = async () => {
      rmSync(join(mount, '.primary'), { force: true });
      await db.replica.refresh();
    };
    return { db, database, becomeReplica, becomePrimary };
  }

  async function refused(attempt: Promise<unknown>): Promise<void> {
    const error = await rejection(attempt);
    expect(error).toBeInstanceOf(ReadOnlyReplicaError);
    expect(error.code).toBe('LITEPOOL_READONLY_REPLICA');
    expect(error.primary).toBe(PRIMARY);
  }

  it('refuses checkpoints, optimize, analyze, vacuum and the schema DDL helpers; copies, checks and reads go on', async () => {
    const { db, becomeReplica, becomePrimary } = await litefsPool({ walMonitor: false });
    await becomeReplica();
    const checkpoints = listen('litepool:checkpoint');
    for (const mode of ['passive', 'full', 'restart', 'truncate'] as const) await refused(db.checkpoint(mode));
    await refused(db.checkpoint());
    await refused(db.optimize());
    await refused(db.analyze());
    await refused(db.vacuum());
    await refused(db.vacuum({ incremental: 0 }));
    await refused(db.schema.createIndex('t', ['v']));
    await refused(db.schema.addColumn('t', 'w', 'TEXT', { ifNotExists: true }));
    // A refused checkpoint is traced as a failure: start, error, asyncEnd.
    expect(checkpoints.count('start')).toBe(5);
    expect(checkpoints.count('error')).toBe(5);
    expect(checkpoints.count('asyncEnd')).toBe(5);
    expect(checkpoints.log.filter((e) => e.phase === 'error').every((e) => e.seen.error instanceof ReadOnlyReplicaError)).toBe(true);

    // Reads of the database: copies, checks, the schema, ping.
    const copy = join(pools.dir, `replica-copy-${Math.random().toString(36).slice(2)}.db`);
    expect((await db.backup(copy)).pages).toBeGreaterThan(0);
    expect((await db.vacuumInto(`${copy}.compact`)).pages).toBeGreaterThan(0);
    expect(await db.integrityCheck()).toEqual({ ok: true, problems: [] });
    expect(await db.foreignKeyCheck()).toEqual([]);
    await db.ping();
    expect((await db.schema.tables()).map((t) => t.name)).toEqual(expect.arrayContaining(['p', 't']));
    expect((await db.schema.columns('t')).map((c) => c.name)).toEqual(['id', 'v']);
    expect(await db.schema.indexes('t')).toEqual([]);
    expect(db.stats().wal.checkpoints).toBe(0);

    // Primary again: everything runs.
    await becomePrimary();
    expect((await db.checkpoint('truncate')).busy).toBe(false);
    await db.optimize();
    await db.analyze();
    await db.vacuum();
    expect(await db.schema.createIndex('t', ['v'])).toBeTypeOf('string');
    expect(await db.schema.addColumn('t', 'w', 'TEXT', { ifNotExists: true })).toBe(true);
  });

  it('the WAL monitor runs no checkpoint while this node is a replica (it still warns), and resumes on the primary', async () => {
    const seen: { checkpoints: CheckpointEvent[]; wal: WalEvent[] } = { checkpoints: [], wal: [] };
    const { db, database, becomeReplica, becomePrimary } = await litefsPool({
      walMonitor: { checkpointBytes: 20_000, warnBytes: 100_000, intervalMs: 20 },
      observers: [{ onCheckpoint: (e) => seen.checkpoints.push(e), onWal: (e) => seen.wal.push(e) }],
    });
    await becomeReplica();
    // Let a check that began before stay out of the count.
    await sleep(100);
    seen.checkpoints.length = 0;
    // Another connection to the file (standing in for LiteFS applying the primary's transactions)
    // grows the WAL.
    const other = await open(database, { readers: 1, walMonitor: false, checkpointOnClose: false });
    try {
      await writeBytes(other, 300_000);
      await until(() => seen.wal.some((e) => e.kind === 'warn'));
      await sleep(100);
      expect(seen.checkpoints).toEqual([]);
      expect(db.stats().wal.frames).toBeGreaterThan(20);

      await becomePrimary();
      await until(() => seen.checkpoints.some((e) => e.source === 'monitor'));
      expect(seen.checkpoints.every((e) => e.source === 'monitor' && e.mode === 'passive')).toBe(true);
    } finally {
      await other.close();
    }
  });
});

describe('pool iterations as holders of the WAL', () => {
  it('one whose result came back in its first chunk holds nothing; one with rows left blocks vacuum() until it ends', async () => {
    const db = await pools.fresh({ readers: 2, walMonitor: false });
    await db.transaction(async (tx) => {
      for (let i = 0; i < 20; i++) await tx.run('INSERT INTO t (v) VALUES (?)', [`r${i}`]);
    });
    const whole = db.iterate('SELECT id FROM t ORDER BY id');
    expect((await whole.next()).value).toEqual({ id: 1 });
    await db.vacuum();
    await whole.return();

    const chunked = db.iterate('SELECT id FROM t ORDER BY id', [], { chunkSize: 5 });
    expect((await chunked.next()).value).toEqual({ id: 1 });
    const blocked = await rejection(db.vacuum());
    expect(blocked).toBeInstanceOf(OperationBlockedError);
    expect(blocked.heldBy).toEqual(['iteration (SELECT id FROM t ORDER BY id)']);
    let rows = 1;
    for await (const _ of chunked) rows++;
    expect(rows).toBe(20);
    await db.vacuum();
  });
});
