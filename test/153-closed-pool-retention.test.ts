// Covers what a closed pool leaves behind: a MetricsCollector lets a pool go once its close()
// settled, without being read first; instrument() on a pool closed without stop() unsubscribes
// from every channel; a closed pool's SQL registry forgets its texts; the process-wide record of
// interrupted no-transaction migration runs keeps the 256 most recent. Counts only.

import { channel } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsCollector } from '../lib/observers/index.ts';
import { instrument } from '../lib/otel/index.ts';
import { interruptedCount, noteInterrupted, withInterrupted } from '../lib/migrations/interrupted.ts';
import type { LedgerRow } from '../lib/migrations/ledger.ts';
import { SqlRegistry } from '../lib/request/sql-registry.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('closed-pool-retention');

const CHANNELS = ['query', 'transaction', 'acquire', 'checkpoint', 'backup'];

/** The litepool tracing channel events someone subscribes to now. */
function subscribed(): string[] {
  const names = CHANNELS.flatMap((name) => ['start', 'asyncEnd'].map((event) => `tracing:litepool:${name}:${event}`));
  return names.filter((name) => channel(name).hasSubscribers);
}

describe('MetricsCollector and closed pools', () => {
  it('lets a closed pool go without being read', async () => {
    const metrics = new MetricsCollector();
    for (let i = 0; i < 3; i++) {
      const db = await pools.fresh({ readers: 1, observers: [metrics] });
      await db.get('SELECT 1 AS one');
      expect(metrics.trackedPools).toBe(1);
      await db.close();
      expect(metrics.trackedPools).toBe(0);
    }
    // What was counted from them stays.
    const snapshot = metrics.snapshot();
    expect(snapshot.operations.get?.count).toBe(3);
    expect(snapshot.connections.closed).toBe(6);
    expect(snapshot.pools).toEqual([]);
  });

  it('lets go of a pool it was attached to with observe()', async () => {
    const metrics = new MetricsCollector();
    const live = await pools.fresh({ readers: 0, observers: [metrics] });
    const db = await pools.fresh({ readers: 0 });
    db.observe(metrics);
    expect(metrics.trackedPools).toBe(2);
    await db.close();
    expect(metrics.trackedPools).toBe(1);
    expect(metrics.snapshot().pools.map((p) => p.path)).toEqual([live.path]);
    // Attached to a pool once it has closed: not kept.
    const closed = await pools.fresh({ readers: 0 });
    await closed.close();
    closed.observe(metrics);
    expect(metrics.trackedPools).toBe(1);
  });
});

describe('instrument() on a pool closed without stop()', () => {
  afterEach(() => expect(subscribed()).toEqual([]));

  it('unsubscribes from every channel once the pool has closed', async () => {
    expect(subscribed()).toEqual([]);
    const db = await pools.fresh({ readers: 1 });
    const stop = instrument(db);
    await db.get('SELECT 1 AS one');
    expect(subscribed().length).toBe(CHANNELS.length * 2);
    await db.close();
    expect(subscribed()).toEqual([]);
    stop(); // still does nothing harmful
  });

  it('stops at once on a pool that has closed already; stop() leaves nothing behind on a live pool', async () => {
    const closed = await pools.fresh({ readers: 0 });
    await closed.close();
    instrument(closed);
    expect(subscribed()).toEqual([]);
    const db = await pools.fresh({ readers: 0 });
    instrument(db)();
    expect(subscribed()).toEqual([]);
    await db.close();
  });
});

describe('the SQL registry of a closed pool', () => {
  it('forgets every SQL text once close() settled', async () => {
    const seen = new Set<SqlRegistry>();
    const argument = Object.getOwnPropertyDescriptor(SqlRegistry.prototype, 'argument')!.value as SqlRegistry['argument'];
    SqlRegistry.prototype.argument = function (this: SqlRegistry, sql) {
      seen.add(this);
      return argument.call(this, sql);
    };
    try {
      const db = await pools.fresh({ readers: 1 });
      for (let i = 0; i < 50; i++) await db.get(`SELECT ${i} AS n, '${'x'.repeat(200)}' AS pad`);
      const [registry] = [...seen].filter((r) => r.sizes.ids >= 50);
      expect(registry).toBeDefined();
      expect(registry!.sizes.statements).toBeGreaterThanOrEqual(50);
      await db.close();
      expect(registry!.sizes).toEqual({ ids: 0, statements: 0 });
    } finally {
      SqlRegistry.prototype.argument = argument;
    }
  });
});

describe('interrupted no-transaction runs', () => {
  it('are remembered up to the 256 most recent, the oldest forgotten first', async () => {
    const start = interruptedCount();
    for (let i = 0; i < 300; i++) noteInterrupted({ file: '/retention/db', version: `v${i}`, since: '2026-01-01' }, `error ${i}`);
    expect(interruptedCount()).toBe(256);
    expect(start).toBe(0);
    const conn = { all: async () => [{ name: 'main', file: '/retention/db' }] };
    const row = (version: string) => ({ version, state: 'running', appliedAt: '2026-01-01' }) as unknown as LedgerRow;
    const { changed } = await withInterrupted(conn as never, [row('v0'), row('v43'), row('v44'), row('v299')]);
    expect(changed.map((r) => [r.version, r.error])).toEqual([
      ['v44', 'error 44'],
      ['v299', 'error 299'],
    ]);
  });
});
