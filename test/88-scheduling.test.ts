// Covers how the pool shares the machine with the event loop: completions reach JS in bounded
// batches spread over turns of the event loop (so timers and I/O run between them), and
// a worker that runs a long statement gives up its core once per `timeslice` (counted in
// stats().yields), never when `timeslice` is 0.
//
// No assertion here depends on how fast the machine is or how loaded it is: the turn counts are
// bounded by the pacer's completion budget, and the yields of a statement are compared with the
// time it took, measured around it. A time slice counts the worker's CPU time (native/core/
// timeslice.h; the time on the wall where there is no per-thread CPU clock), so a statement
// yields at most once per `timeslice` on the wall, and at least about once per `timeslice` of
// CPU time: the process's CPU time (the worker's, plus a little of the other threads') bounds
// that from above. The statements are made long enough by calibration, not assumed to be.
import { describe, expect, it } from 'vitest';
import type { Pool } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';

/** The most completions one batch hands to JS (PoolWrap::kMaxDrain in the addon). */
const MAX_BATCH = 256;
/** How many time slices of CPU a calibrated statement runs for at least. */
const SLICES = 200;
/** Rows the calibration starts from, and the most it tries before giving up. */
const FIRST_ROWS = 250_000;
const MOST_ROWS = 256_000_000;

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

/** A statement timed: its value, the yields it added, the process's CPU time and the wall time it took (ms). */
interface Timed<T> {
  value: T;
  yields: number;
  cpuMs: number;
  wallMs: number;
}

async function timed<T>(db: Pool, run: () => Promise<T>): Promise<Timed<T>> {
  const yieldsBefore = db.stats().yields;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const value = await run();
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { value, yields: db.stats().yields - yieldsBefore, cpuMs: (cpu.user + cpu.system) / 1000, wallMs };
}

/**
 * Runs `statement(rows)` with twice as many rows each time until one run used at least SLICES time
 * slices of CPU (of `timeslice` ms; 1 ms for timeslice 0); returns that run and its row count.
 */
async function calibrated<T>(db: Pool, timeslice: number, statement: (rows: number) => Promise<T>): Promise<Timed<T> & { rows: number }> {
  const needMs = SLICES * Math.max(timeslice, 1);
  for (let rows = FIRST_ROWS; rows <= MOST_ROWS; rows *= 2) {
    const run = await timed(db, () => statement(rows));
    if (run.cpuMs >= needMs) return { ...run, rows };
  }
  throw new Error(`no statement of up to ${MOST_ROWS} rows used ${needMs} ms of CPU`);
}

/**
 * The yields of a statement that ran `run.wallMs` on the wall with `run.cpuMs` of the process's
 * CPU time, on a pool of `workers` threads with `timeslice` ms slices: at most one per slice on
 * the wall (plus one per worker, for a slice begun before the statement), and at least one per
 * four slices of CPU time (a slice overruns by at most one progress-handler interval, a few
 * microseconds; the rest of the process's CPU time is small next to SLICES slices).
 */
function expectYieldsPerSlice(run: Timed<unknown>, timeslice: number, workers: number): void {
  const detail = `${run.yields} yields, ${run.cpuMs.toFixed(1)} ms CPU, ${run.wallMs.toFixed(1)} ms wall`;
  expect(run.yields, detail).toBeLessThanOrEqual(Math.floor(run.wallMs / timeslice) + workers);
  expect(run.yields, detail).toBeGreaterThanOrEqual(Math.floor(run.cpuMs / (4 * timeslice)));
}

const countRows = (db: Pool, rows: number) => db.get<{ c: number }>(`${series(rows)} SELECT count(*) AS c FROM n`);
const createTable = (db: Pool, name: string) => (rows: number) => db.run(`CREATE TABLE ${name}_${rows} AS ${series(rows)} SELECT i FROM n`);

describe('timeslice', () => {
  it('a reader running a long statement yields about once per timeslice', async () => {
    const readers = 2;
    const db = await pools.open({ readers, timeslice: 1 });
    const run = await calibrated(db, 1, (rows) => countRows(db, rows));
    expect(run.value).toEqual({ c: run.rows });
    expectYieldsPerSlice(run, 1, readers + 1);
  });

  it('the writer yields too, and timeslice 0 never yields', async () => {
    const writer = await pools.open({ readers: 1, timeslice: 2 });
    const run = await calibrated(writer, 2, createTable(writer, 'big'));
    expect(await writer.get(`SELECT count(*) AS c FROM big_${run.rows}`)).toEqual({ c: run.rows });
    expect(run.yields).toBeGreaterThan(0);
    expectYieldsPerSlice(run, 2, 2);

    // The same statements, as long as the calibration made them, on a pool that never yields.
    const never = await pools.open({ timeslice: 0 });
    const read = await calibrated(never, 0, (rows) => countRows(never, rows));
    expect(read.value).toEqual({ c: read.rows });
    await createTable(never, 'big')(read.rows);
    expect(never.stats().yields).toBe(0);
  });
});
