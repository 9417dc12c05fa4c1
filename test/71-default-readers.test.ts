// Covers the number of readers a pool runs when `readers` is not given: one per CPU core available
// to the process plus one, 2 to 8 under the 'default' preset, 2 to 16 under 'production', one under
// 'minimal', none for ':memory:'; the core count is passed to resolveOptions (no mock of node:os),
// an explicit `readers` wins whatever the cores, and its validation does not depend on them.
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../lib/input/options.ts';
import type { PoolOptions } from '../lib/options-types.ts';

const readersOn = (cores: number, options: PoolOptions = {}, path = 'app.db'): number => resolveOptions(path, options, cores).readers;

describe('the default number of readers follows the cores', () => {
  // cores available → readers, from the documented rule (docs/tuning.md).
  const table: [cores: number, byDefault: number, production: number][] = [
    [1, 2, 2],
    [2, 3, 3],
    [3, 4, 4],
    [4, 5, 5],
    [6, 7, 7],
    [7, 8, 8],
    [8, 8, 9],
    [12, 8, 13],
    [14, 8, 15],
    [15, 8, 16],
    [16, 8, 16],
    [64, 8, 16],
  ];

  it.each(table)('%i cores: %i readers by default, %i under production', (cores, byDefault, production) => {
    expect(readersOn(cores)).toBe(byDefault);
    expect(readersOn(cores, { preset: 'default' })).toBe(byDefault);
    expect(readersOn(cores, { preset: 'production' })).toBe(production);
    expect(readersOn(cores, { preset: 'minimal' })).toBe(1);
  });

  it('a core count below one (an odd platform report) still gives the minimum', () => {
    expect(readersOn(0)).toBe(2);
    expect(readersOn(0.5, { preset: 'production' })).toBe(2);
  });

  it('a fractional core count is rounded down before the extra reader is added', () => {
    expect(readersOn(2.9)).toBe(3);
    expect(readersOn(4.5, { preset: 'production' })).toBe(5);
  });

  it(':memory: runs no readers whatever the cores', () => {
    for (const cores of [1, 2, 16]) {
      expect(readersOn(cores, {}, ':memory:')).toBe(0);
      expect(readersOn(cores, { preset: 'production' }, ':memory:')).toBe(0);
      expect(readersOn(cores, { readers: 4 }, ':memory:')).toBe(0);
    }
  });

  it('without a core count, resolveOptions uses the cores available to this process', () => {
    expect(resolveOptions('app.db', {}).readers).toBe(readersOn(availableParallelism()));
  });
});

describe('an explicit readers wins', () => {
  it.each([1, 2, 16])('on %i cores', (cores) => {
    expect(readersOn(cores, { readers: 3 })).toBe(3);
    expect(readersOn(cores, { readers: 0 })).toBe(0);
    expect(readersOn(cores, { readers: 64 })).toBe(64);
    expect(readersOn(cores, { preset: 'production', readers: 1 })).toBe(1);
    expect(readersOn(cores, { preset: 'minimal', readers: 5 })).toBe(5);
  });
});

describe('readers is validated as before, whatever the cores', () => {
  const OUT = 'LITEPOOL_OUT_OF_RANGE';
  const INVALID = 'LITEPOOL_INVALID_ARGUMENT';
  const bad: [value: unknown, kind: typeof TypeError | typeof RangeError, code: string, message: RegExp][] = [
    [-1, RangeError, OUT, /readers must be between 0 and 64, got -1/],
    [65, RangeError, OUT, /readers must be between 0 and 64, got 65/],
    [1.5, RangeError, OUT, /readers must be an integer, got 1.5/],
    ['4', TypeError, INVALID, /readers must be a number, got string/],
    [null, TypeError, INVALID, /readers must be a number/],
  ];
  it.each(bad)('readers: %o is refused', (value, kind, code, message) => {
    for (const cores of [1, 8]) {
      let error: unknown;
      try {
        resolveOptions('app.db', { readers: value as number }, cores);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(kind);
      expect((error as { code?: string }).code).toBe(code);
      expect((error as Error).message).toMatch(message);
    }
  });
});
