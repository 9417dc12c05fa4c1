// Covers what a request slot keeps once a huge request is done: a 64 MiB script run once must not
// stay resident in its slot while the pool serves small queries afterwards (slots are reused last
// in, first out, so the slot is handed out again at once and sheds the text then:
// native/core/request.h, resetForReuse). Measured in a child process (node --expose-gc): resident
// memory after the small queries may exceed what it was before the script by at most
// RSS_BOUND_MIB, against 64 MiB or more when the slot keeps the text.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/slot-memory.mjs', import.meta.url));
const RSS_BOUND_MIB = 32;

beforeAll(() => {
  // The fixture runs outside vitest, so it imports the compiled library.
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
});

describe('a request slot after a huge script', () => {
  it('does not keep the script text resident', () => {
    const out = execFileSync(process.execPath, ['--expose-gc', fixture], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    const { before, after } = JSON.parse(out) as { before: number; after: number };
    expect(after - before, `resident memory ${before.toFixed(1)} -> ${after.toFixed(1)} MiB`).toBeLessThan(RSS_BOUND_MIB);
  }, 90_000);
});
