// Covers the two calls between lib/ and the addon that every request makes, as the addon now
// shapes them (native/addon/pool_submit.cc, pool_wrap.cc, batch_encoder.h):
// - submit is each pool object's own function, bound to its pool through the function's data:
//   after join() it throws the addon's "closed" error, and a submit function kept after its pool
//   was closed and collected throws the same instead of reaching freed memory;
// - a completion batch passes its strings, blobs and arrays as onBatch's trailing arguments, or,
//   past 1,024 of them, as one array; rows read the same either way.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { binding } from '../lib/native/binding.ts';
import { runNode } from './helpers/child.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('native-calls');
const fixture = fileURLToPath(new URL('./fixtures/detached-submit.mjs', import.meta.url));

type Submit = (...args: unknown[]) => number;
type NativeLike = { submit: Submit; join(): void };
type Addon = { NativePool: new (...args: never[]) => NativeLike };
const addon = binding() as unknown as Addon;
const OriginalPool = addon.NativePool;

/** What each onBatch call of the pools opened in a test received: the array, or the trailing objects. */
interface BatchShape {
  array: number | undefined;
  inline: number;
}
let shapes: BatchShape[] = [];
let natives: NativeLike[] = [];

beforeEach(() => {
  shapes = [];
  natives = [];
  addon.NativePool = class RecordingPool extends OriginalPool {
    constructor(...args: never[]) {
      const [config, onBatch] = args as unknown as [unknown, (...batch: unknown[]) => void];
      const recording = (...batch: unknown[]): void => {
        const objects = batch[2] as unknown[] | undefined;
        shapes.push({ array: objects?.length, inline: batch.length - 4 });
        onBatch(...batch);
      };
      super(...([config, recording] as unknown as never[]));
      natives.push(this);
    }
  };
});
afterEach(() => {
  addon.NativePool = OriginalPool;
});

/** `n` rows of one text column: 'v1', 'v2', ... */
const TEXT_ROWS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT 'v' || i AS s FROM n";
const expected = (n: number) => Array.from({ length: n }, (_, i) => ({ s: `v${i + 1}` }));

describe('completion batches carry their objects as trailing arguments', () => {
  it('passes a small batch\'s strings after the four fixed arguments', async () => {
    const db = await pools.fresh({ readers: 1 });
    shapes = [];
    expect(await db.all(TEXT_ROWS, [10])).toEqual(expected(10));
    const withRows = shapes.filter((shape) => shape.inline > 0);
    expect(withRows.length).toBeGreaterThan(0);
    // Ten strings, plus the column names the first run of a statement brings.
    expect(withRows.every((shape) => shape.array === undefined)).toBe(true);
    expect(withRows.reduce((sum, shape) => sum + shape.inline, 0)).toBeGreaterThanOrEqual(10);
  });

  it('passes more than 1,024 objects as one array, and the rows read the same', async () => {
    const db = await pools.fresh({ readers: 1 });
    shapes = [];
    expect(await db.all(TEXT_ROWS, [3000])).toEqual(expected(3000));
    const big = shapes.filter((shape) => shape.array !== undefined);
    expect(big).toHaveLength(1);
    expect(big[0]!.array).toBeGreaterThanOrEqual(3000);
    expect(big[0]!.inline).toBe(0);
    // Exactly at the bound: still trailing arguments (1,024 strings; the names came before).
    shapes = [];
    expect(await db.all(TEXT_ROWS, [1024])).toEqual(expected(1024));
    expect(shapes.some((shape) => shape.inline === 1024 && shape.array === undefined)).toBe(true);
  });

  it('mixes both shapes across concurrent requests without mixing up their rows', async () => {
    const db = await pools.fresh({ readers: 2 });
    const sizes = [1, 5, 700, 1200, 2, 3000, 40];
    const results = await Promise.all(sizes.map((n) => db.all(TEXT_ROWS, [n])));
    results.forEach((rows, i) => expect(rows).toEqual(expected(sizes[i]!)));
  });
});

describe('submit, bound to its pool', () => {
  it('is the pool object\'s own function, and throws once the native pool is closed', async () => {
    const db = await pools.fresh({ readers: 1 });
    const native = natives.at(-1)!;
    expect(Object.hasOwn(native, 'submit')).toBe(true);
    expect(await db.get('SELECT 1 AS one')).toEqual({ one: 1 });
    await db.close();
    expect(() => native.submit(0, 0, 0, 'SELECT 1', [], undefined, -1, 0)).toThrow(/native pool is closed/);
  });

  it('throws, without touching freed memory, when kept after its pool was collected', async () => {
    const result = await runNode(['--expose-gc', fixture, join(pools.dir, 'detached.db')]);
    expect(result.code).toBe(0);
    const line = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { collected: boolean; error: string | null };
    // The native object really was collected: otherwise this would test nothing.
    expect(line.collected).toBe(true);
    expect(line.error).toMatch(/native pool is closed/);
  });
});
