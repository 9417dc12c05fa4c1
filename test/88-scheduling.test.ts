// Covers how the pool shares the machine with the event loop: completions reach JS in bounded
// batches spread over turns of the event loop (so timers and I/O run between them), and
// a worker that runs a long statement gives up its core once per `timeslice` (counted in
// stats().yields), never when `timeslice` is 0.
import { describe, expect, it } from 'vitest';
import { tempPools } from './helpers/pools.ts';

/** The most completions one batch hands to JS (PoolWrap::kMaxDrain in the addon). */
const MAX_BATCH = 256;
/** A statement that keeps one connection busy for well over 50 ms. */
const LONG_QUERY = 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT count(*) AS c FROM n';

const pools = tempPools('scheduling');

/** A CTE `n(i)` counting from 1 to `count`. */
const series = (count: number): string =>
  `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count})`;

describe('completions and the event loop', () => {
  it('6,000 concurrent reads resolve over several turns, each turn taking a bounded share', async () => {
    const db = await pools.open();
    await db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await db.run(`${series(6000)} INSERT INTO t SELECT i, 'v' || i FROM n`);

    // A turn counter that advances once per turn of the event loop (check phase).
    let turn = 0;
    let ticking = true;
    const tick = (): void => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);

    const perTurn = new Map<number, number>();
    const reads = Array.from({ length: 6000 }, (_, i) =>
      db.get<{ v: string }>('SELECT v FROM t WHERE id = ?', [i + 1]).then((row) => {
        perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
        return row?.v;
      }),
    );
    const values = await Promise.all(reads);
    ticking = false;

    expect(values).toEqual(Array.from({ length: 6000 }, (_, i) => `v${i + 1}`));
    // A turn takes batches back to back for at most TURN_BUDGET_COMPLETIONS (1,024) completions,
    // plus the batch that crossed the line; the announcement of the next turn can fall in the
    // same check-phase interval. Never the whole burst at once.
    const mostInOneTurn = Math.max(...perTurn.values());
    expect(mostInOneTurn).toBeLessThanOrEqual(2 * (1024 + MAX_BATCH));
    expect(perTurn.size).toBeGreaterThanOrEqual(3);
  });
});

describe('timeslice', () => {
  it('a reader running a long statement yields about once per timeslice', async () => {
    const db = await pools.open({ timeslice: 1 });
    const before = db.stats().yields;
    const started = performance.now();
    expect(await db.get(LONG_QUERY)).toEqual({ c: 3_000_000 });
    const elapsed = performance.now() - started;
    const yields = db.stats().yields - before;
    expect(elapsed).toBeGreaterThan(20);
    // At most one yield per elapsed millisecond; at least one per few (the progress handler
    // checks every 1,000 instructions, microseconds apart).
    expect(yields).toBeLessThanOrEqual(Math.ceil(elapsed));
    expect(yields).toBeGreaterThanOrEqual(Math.floor(elapsed / 4));
  });

  it('the writer yields too, and timeslice 0 never yields', async () => {
    const writer = await pools.open({ readers: 1, timeslice: 2 });
    const before = writer.stats().yields;
    await writer.run(`CREATE TABLE big AS ${LONG_QUERY.replace('SELECT count(*) AS c FROM n', 'SELECT i FROM n')}`);
    expect(writer.stats().yields - before).toBeGreaterThan(0);

    const never = await pools.open({ timeslice: 0 });
    expect(await never.get(LONG_QUERY)).toEqual({ c: 3_000_000 });
    await never.run(`CREATE TABLE big AS ${LONG_QUERY.replace('SELECT count(*) AS c FROM n', 'SELECT i FROM n')}`);
    expect(never.stats().yields).toBe(0);
  });
});
