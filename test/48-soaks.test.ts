// Covers the short versions of the soaks under scripts/soak/ (their long results are in
// docs/reliability.md): 15 SIGKILL rounds under mixed load with no acknowledged row lost
// and every group whole; 25 worker terminations with a busy pool, the process surviving with its
// threads and file descriptors back where they were; 15 s of the stall hunt without a stall or an
// unexpected failure. Each soak runs as its own process on the compiled library, which beforeAll
// builds, and must exit with code 0.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

beforeAll(() => {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  expect(existsSync(join(root, 'dist', 'index.js'))).toBe(true);
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  summary: Record<string, unknown>;
}

function soak(script: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'scripts', 'soak', script), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      // The summary is the last JSON object printed.
      const start = stdout.lastIndexOf('\n{');
      let summary: Record<string, unknown> = {};
      try {
        summary = JSON.parse(stdout.slice(start + 1).split('\n}')[0] + '\n}') as Record<string, unknown>;
      } catch {
        // Left empty: the assertions below then show stdout.
      }
      resolve({ code, stdout, stderr, summary });
    });
  });
}

describe('soaks (short versions)', () => {
  it('SIGKILL at random moments under mixed load, 15 rounds: nothing acknowledged is lost', async () => {
    const run = await soak('sigkill.mjs', ['--rounds', '15']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.summary).toMatchObject({ rounds: 15, lost: 0 });
    expect(run.summary.acknowledgedRows as number).toBeGreaterThan(0);
  }, 180_000);

  it('25 worker terminations with a busy pool: the process survives, threads and descriptors come back', async () => {
    const run = await soak('worker-terminate.mjs', ['--rounds', '25']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.summary).toMatchObject({ rounds: 25, problems: [] });
  }, 180_000);

  it('15 s of the stall hunt: no stall, no unexpected failure', async () => {
    const run = await soak('stall-hunt.mjs', ['--seconds', '15']);
    expect(run.code, run.stdout.slice(-4000) + run.stderr).toBe(0);
    expect(run.summary).toMatchObject({ stalls: 0, unexpectedFailures: 0 });
    expect(run.summary.operations as number).toBeGreaterThan(0);
  }, 180_000);
});
