// Covers litepool's diagnostics_channel tracing channels on a real pool: litepool:query publishes
// start (in the caller's async context), end, error before asyncEnd, and exactly one asyncEnd per
// operation, failed, vetoed and aborted ones included; its context carries the documented fields,
// filled with the native timings before asyncEnd; litepool:transaction and litepool:acquire trace
// transactions, leases and snapshots. Counts and orderings only.

import { AsyncLocalStorage } from 'node:async_hooks';
import { tracingChannel } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueryChannelContext } from '../lib/observers/channels.ts';
import { policies } from '../lib/observers/index.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('channels');

type Phase = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';
const PHASES: Phase[] = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'];

/** Subscribes to a tracing channel and records every message with its phase. */
function listen(name: string) {
  const log: { phase: Phase; ctx: Record<string, unknown> }[] = [];
  const handlers = Object.fromEntries(PHASES.map((phase) => [phase, (ctx: unknown) => void log.push({ phase, ctx: ctx as Record<string, unknown> })]));
  const channel = tracingChannel(name);
  channel.subscribe(handlers as never);
  const count = (phase: Phase) => log.filter((e) => e.phase === phase).length;
  return { log, count, stop: () => channel.unsubscribe(handlers as never) };
}

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

describe('litepool:query', () => {
  it('500 mixed operations: exactly 500 start and 500 asyncEnd, one error per failure, error before asyncEnd', async () => {
    const db = await pools.fresh({ readers: 2 });
    await db.exec("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')");
    const veto = db.observe({
      beforeQuery(q) {
        if (q.sql.includes('vetoed')) throw new Error('no');
      },
    });
    const q = listen('litepool:query');
    stops.push(q.stop);
    const aborted = new AbortController();
    aborted.abort();
    const ops: Promise<unknown>[] = [];
    let failures = 0;
    for (let i = 0; i < 500; i++) {
      switch (i % 10) {
        case 0:
          ops.push(db.get('SELECT * FROM t WHERE id = ?', [(i % 3) + 1]));
          break;
        case 1:
          ops.push(db.all('SELECT * FROM t'));
          break;
        case 2:
          ops.push(db.run('INSERT INTO t (v) VALUES (?)', [`r${i}`]));
          break;
        case 3:
          failures++;
          ops.push(db.get('SELECT * FROM no_such_table'));
          break;
        case 4:
          failures++;
          ops.push(db.get('SELECT 1', [], { signal: aborted.signal }));
          break;
        case 5:
          failures++;
          ops.push(db.run("INSERT INTO t (v) VALUES ('vetoed')"));
          break;
        case 6:
          ops.push(db.batch([{ sql: 'INSERT INTO t (v) VALUES (?)', params: [`b${i}`] }]));
          break;
        case 7:
          ops.push(
            (async () => {
              const rows = [];
              for await (const row of db.iterate('SELECT * FROM t LIMIT 5')) rows.push(row);
              return rows;
            })(),
          );
          break;
        case 8:
          ops.push(db.transaction((tx) => tx.get('SELECT count(*) AS n FROM t')));
          break;
        default:
          failures++;
          ops.push(db.run('INSERT INTO t (id, v) VALUES (1, ?)', ['duplicate']));
      }
    }
    const settled = await Promise.allSettled(ops);
    expect(settled.filter((s) => s.status === 'rejected')).toHaveLength(failures);
    expect(q.count('start')).toBe(500);
    expect(q.count('end')).toBe(500);
    expect(q.count('asyncStart')).toBe(500);
    expect(q.count('asyncEnd')).toBe(500);
    expect(q.count('error')).toBe(failures);
    // Per context: start first, error (when any) right before asyncStart, asyncEnd last.
    const phases = new Map<Record<string, unknown>, Phase[]>();
    for (const { phase, ctx } of q.log) phases.set(ctx, [...(phases.get(ctx) ?? []), phase]);
    expect(phases.size).toBe(500);
    for (const [ctx, seen] of phases) {
      const expected: Phase[] = ctx['error'] === undefined ? ['start', 'end', 'asyncStart', 'asyncEnd'] : ['start', 'end', 'error', 'asyncStart', 'asyncEnd'];
      expect(seen).toEqual(expected);
    }
    veto();
  });

  it('the context names the operation and is filled with the native timings before asyncEnd', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('x')");
    const atEnd: QueryChannelContext[] = [];
    const handlers = { asyncEnd: (ctx: unknown) => void atEnd.push({ ...(ctx as QueryChannelContext) }) };
    tracingChannel('litepool:query').subscribe(handlers as never);
    stops.push(() => tracingChannel('litepool:query').unsubscribe(handlers as never));
    await db.get('SELECT * FROM t WHERE id = ?', [1]);
    await db.run('UPDATE t SET v = ?', ['y']);
    await db.read((conn) => conn.all('SELECT * FROM t'));
    expect(atEnd).toHaveLength(3);
    const [get, run, all] = atEnd as [QueryChannelContext, QueryChannelContext, QueryChannelContext];
    expect(get).toMatchObject({ operation: 'get', sql: 'SELECT * FROM t WHERE id = ?', database: db.path, pool: db, role: 'reader', inTransaction: false, rows: 1, changes: 0, connectionId: 0 });
    expect(get.result).toEqual({ id: 1, v: 'x' });
    expect(run).toMatchObject({ operation: 'run', role: 'writer', rows: 0, changes: 1, connectionId: -1 });
    expect(all).toMatchObject({ operation: 'all', inTransaction: true, rows: 1 });
    for (const ctx of atEnd) {
      expect(ctx.queuedMs).toBeGreaterThanOrEqual(0);
      expect(ctx.execMs).toBeGreaterThanOrEqual(0);
      expect(JSON.stringify(Object.keys(ctx))).not.toMatch(/params/);
    }
  });

  it('publishes start in the caller’s async context', async () => {
    const db = await pools.fresh();
    const als = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    const handlers = { start: () => void seen.push(als.getStore()) };
    tracingChannel('litepool:query').subscribe(handlers as never);
    stops.push(() => tracingChannel('litepool:query').unsubscribe(handlers as never));
    await als.run('request-1', () => db.get('SELECT 1'));
    await als.run('request-2', async () => {
      for await (const _ of db.iterate('SELECT 1')) void _;
    });
    expect(seen).toEqual(['request-1', 'request-2']);
  });

  it('publishes nothing once the subscriber left, and a vetoed operation never reaches SQLite', async () => {
    const db = await pools.fresh();
    db.observe(policies.readOnly());
    const q = listen('litepool:query');
    await expect(db.run("INSERT INTO t (v) VALUES ('no')")).rejects.toMatchObject({ code: 'LITEPOOL_POLICY' });
    q.stop();
    await db.get('SELECT count(*) AS n FROM t');
    expect(q.count('start')).toBe(1);
    expect(q.count('asyncEnd')).toBe(1);
    expect(q.count('error')).toBe(1);
    expect(q.log.find((e) => e.phase === 'asyncEnd')!.ctx['execMs']).toBeUndefined();
  });
});

describe('litepool:transaction and litepool:acquire', () => {
  it('trace transactions (committed and rolled back) and lease and snapshot acquisitions', async () => {
    const db = await pools.fresh({ readers: 2 });
    const tx = listen('litepool:transaction');
    const acquire = listen('litepool:acquire');
    stops.push(tx.stop, acquire.stop);
    await db.transaction((t) => t.run("INSERT INTO t (v) VALUES ('a')"), { behavior: 'deferred' });
    await expect(db.transaction(() => Promise.reject(new Error('undo')))).rejects.toThrow('undo');
    const lease = await db.acquire({ write: true });
    await lease.release();
    await db.read((conn) => conn.get('SELECT 1'));
    expect(tx.count('start')).toBe(2);
    expect(tx.count('asyncEnd')).toBe(2);
    expect(tx.count('error')).toBe(1);
    expect(tx.log[0]!.ctx).toMatchObject({ database: db.path, pool: db, behavior: 'deferred' });
    expect(acquire.count('start')).toBe(2);
    expect(acquire.count('asyncEnd')).toBe(2);
    const ends = acquire.log.filter((e) => e.phase === 'asyncEnd').map((e) => e.ctx);
    expect(ends.map((c) => c['write'])).toEqual([true, false]);
    for (const ctx of ends) expect(ctx['waitedMs']).toBeGreaterThanOrEqual(0);
  });
});
