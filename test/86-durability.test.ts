// Covers durability of acknowledged writes across process death: 50 rounds, each running a child
// process (test/fixtures/durability-writer.mjs) that writes through a write queue with group
// commit on and synchronous 'normal', 64 INSERTs in flight, printing each id once its promise
// resolved. The child is killed with SIGKILL at a random moment (20–200 ms after its first
// acknowledgement); then a fresh pool on the file must find every acknowledged id, and
// PRAGMA integrity_check must say ok. (SIGKILL ends the process, not the machine: committed WAL
// frames are in the operating system's hands, so synchronous 'normal' loses nothing here.)
// The fixture imports the compiled dist/, which beforeAll builds.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../lib/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/durability-writer.mjs', import.meta.url));
const ROUNDS = 50;
/** A child that has not acknowledged anything after this long is a failure, not a slow start. */
const FIRST_ACK_BOUND_MS = 15_000;

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'litepool-durability-'));
  // The fixture runs outside vitest, so it imports the compiled library.
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  expect(existsSync(join(root, 'dist', 'index.js'))).toBe(true);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A small seeded generator, so that a failing run can be described by its seed. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RoundResult {
  acked: number[];
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
  sawFirstAck: boolean;
}

/** Runs the writer on `database`, kills it `delay` ms after its first acknowledgement. */
function runRound(database: string, delay: number): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, database], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sawFirstAck = false;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const bound = setTimeout(() => child.kill('SIGKILL'), FIRST_ACK_BOUND_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!sawFirstAck && stdout.includes('\n')) {
        sawFirstAck = true;
        clearTimeout(bound);
        killTimer = setTimeout(() => child.kill('SIGKILL'), delay);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(bound);
      if (killTimer) clearTimeout(killTimer);
      // Only complete lines count: the last segment is empty or a line cut off by the kill.
      const lines = stdout.split('\n');
      lines.pop();
      resolve({ acked: lines.map((line) => Number(line)), signal, code, stderr, sawFirstAck });
    });
  });
}

describe('durability under SIGKILL', () => {
  it(`every acknowledged write survives ${ROUNDS} kills and the database stays intact`, async () => {
    const seed = Date.now() >>> 0;
    const random = generator(seed);
    const database = join(dir, 'durability.db');
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
