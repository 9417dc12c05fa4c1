// Owns what the test files need built before any of them runs: the compiled library in dist/,
// which the worker and child-process fixtures (test/fixtures/*.mjs) and the child-process
// scenarios import, since they run outside vitest. Built once per test run, never by a test file.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { distEntry, root } from './helpers/paths.ts';

export default function setup(): void {
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`compiling lib/ into dist/ failed (npx tsc -p tsconfig.build.json):\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
  }
  if (!existsSync(distEntry)) throw new Error(`compiling lib/ did not produce ${distEntry}`);
}
