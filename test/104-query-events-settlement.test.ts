// Covers when an observed operation ends: exactly one onQuery per operation, delivered before the
// caller's continuation runs, whichever way it settles (done, failed in SQLite, vetoed, aborted
// before it started or while it ran, timed out, parked behind a transaction, refused by a reader
// as writing and run on the writer) and whichever path finishes it (the dispatcher settling its
// one request; the operation's own promise under a retry policy, a plan lookup or a channel
// subscriber); the JS-side wait of a write parked behind a transaction is in its queuedMs.
// Counts, orderings and lower bounds only.

import { tracingChannel } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import type { Observer, Pool, QueryEvent } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { sleep } from './helpers/waits.ts';

const pools = tempPools('query-settlement');

/** A read that keeps its reader busy for a while (counting to a few million). */
const SLOW = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) AS n FROM c';

function recorder(): { observer: Observer; queries: QueryEvent[] } {
  const queries: QueryEvent[] = [];
  return {
    observer: {
      onQuery: (e) => void queries.push(e),
      beforeQuery(q) {
        if (q.sql.includes('vetoed')) throw new Error('no');
      },
    },
    queries,
  };
}

/** The code an event names for a rejection: its string `code`, ABORT_ERR for an AbortError. */
const codeOf = (reason: unknown): string => {
  const { code, name } = reason as { code?: unknown; name?: unknown };
  if (typeof code === 'string') return code;
  return name === 'AbortError' ? 'ABORT_ERR' : String(name);
};

/**
 * Starts 500 operations of every kind and way of ending at once; checks one event per operation,
 * one error per failure, and the failures' codes.
 */
async function mixed(db: Pool, queries: QueryEvent[]): Promise<void> {
  await db.exec("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')");
  queries.length = 0;
  const preAborted = new AbortController();
  preAborted.abort();
  const ops: Promise<unknown>[] = [];
  const later: AbortController[] = [];
  for (let i = 0; i < 500; i++) {
    switch (i % 12) {
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
        ops.push(db.get('SELECT * FROM no_such_table'));
        break;
      case 4:
        ops.push(db.get('SELECT 1', [], { signal: preAborted.signal }));
        break;
      case 5:
        ops.push(db.run("INSERT INTO t (v) VALUES ('vetoed')"));
        break;
      case 6:
        ops.push(db.batch([{ sql: 'INSERT INTO t (v) VALUES (?)', params: [`b${i}`] }]));
        break;
      case 7: {
        // Aborted once on its way (queued or running).
        const controller = new AbortController();
        later.push(controller);
        ops.push(db.run('INSERT INTO t (v) VALUES (?)', [`x${i}`], { signal: controller.signal }));
        break;
      }
      case 8:
        // Counts as one operation: the transaction itself is not a query-level operation.
        ops.push(db.transaction((tx) => tx.get('SELECT count(*) AS n FROM t')));
        break;
      case 9:
        // A reader refuses it as writing; the writer runs it.
        ops.push(db.get('INSERT INTO t (v) VALUES (?) RETURNING id', [`g${i}`]));
        break;
      case 10:
        ops.push(db.exec("UPDATE t SET v = v WHERE id = 1"));
        break;
      default:
        ops.push(db.run('INSERT INTO t (id, v) VALUES (1, ?)', ['duplicate']));
    }
  }
  for (const controller of later) controller.abort();
  const settled = await Promise.allSettled(ops);
  const rejected = settled.flatMap((s) => (s.status === 'rejected' ? [codeOf(s.reason)] : []));
  // Cases 3, 4, 5 (42 each) and the duplicates (41) fail; some of the aborted writes may have committed first.
  expect(rejected.length).toBeGreaterThanOrEqual(3 * 42 + 41);
  expect(queries).toHaveLength(500);
  const errors = queries.flatMap((q) => (q.error ? [q.error.code] : []));
  expect(errors.sort()).toEqual(rejected.sort());
  expect(errors).toContain('ABORT_ERR');
  expect(errors).toContain('LITEPOOL_POLICY');
  expect(errors).toContain('SQLITE_ERROR');
  expect(errors.some((code) => code.startsWith('SQLITE_CONSTRAINT'))).toBe(true);
  const returning = queries.filter((q) => q.sql.includes('RETURNING'));
  expect(returning).toHaveLength(41);
  for (const q of returning) expect(q).toMatchObject({ role: 'writer', connectionId: -1, rows: 1 });
}

/** Operations one at a time: the event of each is there when its caller resumes. */
async function oneByOne(db: Pool, queries: QueryEvent[]): Promise<void> {
  queries.length = 0;
  const preAborted = new AbortController();
  preAborted.abort();
  const steps: (() => Promise<unknown>)[] = [
    () => db.get('SELECT * FROM t WHERE id = 1'),
    () => db.run('INSERT INTO t (v) VALUES (?)', ['one']),
    () => db.get('SELECT * FROM no_such_table'),
    () => db.get('SELECT 1', [], { signal: preAborted.signal }),
    () => db.run("INSERT INTO t (v) VALUES ('vetoed')"),
    () => db.get('INSERT INTO t (v) VALUES (?) RETURNING id', ['two']),
    () => db.get(SLOW, [], { timeout: 5 }),
    () => db.batch([{ sql: 'INSERT INTO t (v) VALUES (?)', params: ['three'] }]),
    () => db.exec('SELECT 1'),
  ];
  for (const [i, step] of steps.entries()) {
    await step().catch(() => undefined);
    expect(queries, `step ${i}`).toHaveLength(i + 1);
  }
  expect(queries.map((q) => q.error?.code)).toEqual([
    undefined,
    undefined,
    'SQLITE_ERROR',
    'ABORT_ERR',
    'LITEPOOL_POLICY',
    undefined,
    'LITEPOOL_OPERATION_TIMEOUT',
    undefined,
    undefined,
  ]);
}

describe('one onQuery per operation', () => {
  it('finished where its request settles: 500 mixed operations, and one at a time', async () => {
    const r = recorder();
    const db = await pools.fresh({ readers: 2 });
    db.observe(r.observer);
    await mixed(db, r.queries);
    await oneByOne(db, r.queries);
  });

  it('finished by the operation’s own promise: under a retry policy', async () => {
    const r = recorder();
    const db = await pools.fresh({ readers: 2, retry: { attempts: 3, baseDelay: 1, maxDelay: 2 } });
    db.observe(r.observer);
    await mixed(db, r.queries);
    await oneByOne(db, r.queries);
  });

  it('finished by the operation’s own promise: with a plan lookup first', async () => {
    const r = recorder();
    const db = await pools.fresh({ readers: 2 });
    db.observe({ ...r.observer, wantsQueryPlan: true });
    await mixed(db, r.queries);
    await oneByOne(db, r.queries);
  });

  it('finished by the operation’s own promise: with a litepool:query subscriber, one asyncEnd per event', async () => {
    const r = recorder();
    const db = await pools.fresh({ readers: 2 });
    db.observe(r.observer);
    let ends = 0;
    const handlers = { start() {}, end() {}, asyncStart() {}, asyncEnd: () => void ends++, error() {} };
    tracingChannel('litepool:query').subscribe(handlers);
    try {
      await mixed(db, r.queries);
      // The exec that seeds the table, then the 500.
      expect(ends).toBe(1 + 500);
      await oneByOne(db, r.queries);
      expect(ends).toBe(1 + 500 + 9);
    } finally {
      tracingChannel('litepool:query').unsubscribe(handlers);
    }
  });
});

describe('queue wait on the JS side', () => {
  it('a write parked behind a transaction counts its wait in queuedMs', async () => {
    const r = recorder();
    const db = await pools.fresh({ readers: 1 });
    db.observe(r.observer);
    let write: Promise<unknown> | undefined;
    await db.transaction(async () => {
      // Called while the transaction holds the writer; it waits at least the sleep below.
      write = db.run('INSERT INTO t (v) VALUES (?)', ['parked']);
      await sleep(50);
    });
    await write;
    const parked = r.queries.find((q) => q.sql === 'INSERT INTO t (v) VALUES (?)')!;
    expect(parked.queuedMs).toBeGreaterThanOrEqual(40);
    expect(parked.totalMs).toBeGreaterThanOrEqual(parked.queuedMs);
    // One handed over at once waits only in the native ring.
    await db.get('SELECT * FROM t WHERE id = 1');
    const direct = r.queries.at(-1)!;
    // (Both native timings are whole microseconds: allow for their rounding.)
    expect(direct.totalMs).toBeGreaterThanOrEqual(direct.queuedMs + direct.execMs - 0.002);
  });
});
