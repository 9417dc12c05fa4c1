// Covers the memory a closed pool leaves behind: a child process (node --expose-gc, fixture
// test/fixtures/open-close-rss.mjs) opens and closes 1,000 pools one after another (readers 0..4
// and ':memory:', each used for reads, writes, a transaction, a batch, a lease, a write queue and
// iterations, with queries in flight and an iteration open when close() starts). After GC, its
// resident memory may grow by at most RSS_BOUND_MIB over the 1,000 pools, and its threads and file
// descriptors come back to where they started.
//
// A closed pool that kept its native side alive (the request slab and rings: about 1.8 MiB a
// pool) would grow by some 1,800 MiB here; 1,000 pools that free everything leave a few MiB.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/open-close-rss.mjs', import.meta.url));
const CYCLES = 1000;
const WARM_UP = 50;
const RSS_BOUND_MIB = 64;

interface Sample {
  label: string;
  rssMiB: number;
  heapUsedMiB: number;
  threads: number;
  fds: number;
}

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'litepool-open-close-'));
  // The fixture runs outside vitest, so it imports the compiled library.
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  expect(existsSync(join(root, 'dist', 'index.js'))).toBe(true);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function runFixture(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', fixture, dir, String(CYCLES), String(WARM_UP)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.runIf(process.platform === 'linux')('memory after close', () => {
  it(`1,000 pools opened, used and closed grow RSS by less than ${RSS_BOUND_MIB} MiB; threads and fds return`, { timeout: 300_000 }, async () => {
    const { code, stdout, stderr } = await runFixture();
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as { cycles: number; seconds: number; samples: Sample[] };
    const first = result.samples[0]!;
    const last = result.samples.at(-1)!;
    expect(last.label).toBe(`after ${CYCLES}`);
    const growth = last.rssMiB - first.rssMiB;
    console.log(
      `${CYCLES} pools in ${result.seconds.toFixed(1)} s; RSS after GC: ` +
        result.samples.map((s) => `${s.label} ${s.rssMiB.toFixed(1)} MiB`).join(', ') +
        ` (growth ${growth.toFixed(1)} MiB, ${((growth * 1024) / CYCLES).toFixed(1)} KiB a pool)`,
    );
    expect(growth).toBeLessThan(RSS_BOUND_MIB);
    for (const sample of result.samples) {
      expect(sample.threads, sample.label).toBe(first.threads);
      expect(sample.fds, sample.label).toBe(first.fds);
    }
  });
});
