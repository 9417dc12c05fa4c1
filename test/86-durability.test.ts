// Covers durability of acknowledged writes across process death: 50 rounds, each running a child
// process (test/fixtures/durability-writer.mjs) that writes through a write queue with group
// commit on and synchronous 'normal', 64 INSERTs in flight, printing each id once its promise
// resolved. The child is killed with SIGKILL at a random moment (20–200 ms after its first
// acknowledgement); then a fresh pool on the file must find every acknowledged id, and
// PRAGMA integrity_check must say ok. (SIGKILL ends the process, not the machine: committed WAL
// frames are in the operating system's hands, so synchronous 'normal' loses nothing here.)
// The fixture imports the compiled dist/, which the global setup (test/global-setup.ts) builds.
import { describe, expect, it } from 'vitest';
import { open } from '../lib/index.ts';
import { startNode } from './helpers/child.ts';
import { fixture } from './helpers/paths.ts';
import { tempPools } from './helpers/pools.ts';
import { seeded } from './helpers/prng.ts';

const ROUNDS = 50;
/** A child that has not acknowledged anything after this long is a failure, not a slow start. */
const FIRST_ACK_BOUND_MS = 15_000;

const pools = tempPools('durability');

interface RoundResult {
  acked: number[];
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
  sawFirstAck: boolean;
}

/** Runs the writer on `database`, kills it `delay` ms after its first acknowledgement. */
async function runRound(database: string, delay: number): Promise<RoundResult> {
  const child = startNode([fixture('durability-writer.mjs'), database], { bound: FIRST_ACK_BOUND_MS });
  let sawFirstAck = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  child.onStdout(() => {
    if (!sawFirstAck && child.stdout.includes('\n')) {
      sawFirstAck = true;
      child.disarm();
      killTimer = setTimeout(() => child.kill(), delay);
    }
  });
  try {
    const { stdout, signal, code, stderr } = await child.closed;
    // Only complete lines count: the last segment is empty or a line cut off by the kill.
    const lines = stdout.split('\n');
    lines.pop();
    return { acked: lines.map((line) => Number(line)), signal, code, stderr, sawFirstAck };
  } finally {
    clearTimeout(killTimer);
  }
}

describe('durability under SIGKILL', () => {
  it(`every acknowledged write survives ${ROUNDS} kills and the database stays intact`, async () => {
    const seed = Date.now() >>> 0;
    const random = seeded(seed);
    const database = pools.file('durability');
    let previousMax = 0;
    let total = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const delay = 20 + Math.floor(random() * 181);
      const where = `round ${round} (seed ${seed}, kill ${delay} ms after the first acknowledgement)`;
      const result = await runRound(database, delay);
      expect(result.stderr, where).toBe('');
      expect(result.sawFirstAck, `${where}: no acknowledgement within ${FIRST_ACK_BOUND_MS} ms`).toBe(true);
      expect({ signal: result.signal, code: result.code }, where).toEqual({ signal: 'SIGKILL', code: null });
      const acked = result.acked;
      expect(acked.length, where).toBeGreaterThan(0);
      for (const id of acked) expect(Number.isSafeInteger(id) && id > previousMax, `${where}: acknowledged id ${id}`).toBe(true);
      expect(new Set(acked).size, `${where}: an id acknowledged twice`).toBe(acked.length);

      const min = Math.min(...acked);
      const max = Math.max(...acked);
      const pool = await open(database, { readers: 1 });
      try {
        expect(await pool.all('PRAGMA integrity_check'), where).toEqual([{ integrity_check: 'ok' }]);
        const rows = await pool.all<{ id: number; pad: string }>('SELECT id, pad FROM acks WHERE id BETWEEN ? AND ?', [min, max]);
        const present = new Map(rows.map((row) => [row.id, row.pad]));
        const missing = acked.filter((id) => present.get(id) !== `p${id}`);
        expect(missing, `${where}: acknowledged ids missing after the kill`).toEqual([]);
      } finally {
        await pool.close();
      }
      previousMax = max;
      total += acked.length;
    }
    expect(total).toBeGreaterThanOrEqual(ROUNDS);
  }, 120_000);
});
