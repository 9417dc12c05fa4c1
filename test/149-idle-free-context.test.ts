// Covers IdleFreeContext (lib/api/idle-free-context.ts), the context that tells close() which
// migration run the calling code runs inside: values reach what a run starts, nested runs see
// their own, and once every run has settled nothing is current (the storage is switched off
// then, so no promise hooks cost the process while no run is in progress).
import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it, vi } from 'vitest';
import { IdleFreeContext } from '../lib/api/idle-free-context.ts';

describe('IdleFreeContext', () => {
  it('gives each run its value, nested runs theirs, and nothing once all have settled', async () => {
    const storage = new AsyncLocalStorage<string>();
    const disable = vi.spyOn(storage, 'disable');
    const context = new IdleFreeContext<string>(storage);
    expect(context.current).toBeUndefined();
    const seen: (string | undefined)[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const outer = context.run('outer', async () => {
      await Promise.resolve();
      seen.push(context.current);
      await context.run('inner', async () => {
        await held;
        seen.push(context.current);
      });
      seen.push(context.current);
    });
    const other = context.run('other', async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen.push(context.current);
      release();
    });
    await other;
    expect(disable).not.toHaveBeenCalled(); // 'outer' and 'inner' still run
    await Promise.all([outer, other]);
    expect(seen).toEqual(['outer', 'other', 'inner', 'outer']);
    expect(context.current).toBeUndefined();
    await Promise.resolve();
    expect(disable).toHaveBeenCalledTimes(1); // switched off once the last run settled
    // Switched on again by the next run.
    expect(await context.run('again', async () => { await Promise.resolve(); return context.current; })).toBe('again');
    expect(context.current).toBeUndefined();
    await Promise.resolve();
    expect(disable).toHaveBeenCalledTimes(2);
  });

  it('settles a run that throws synchronously or rejects', async () => {
    const context = new IdleFreeContext<number>();
    expect(() => context.run(1, () => { throw new Error('sync'); })).toThrow('sync');
    expect(context.current).toBeUndefined();
    await expect(context.run(2, async () => { throw new Error('async'); })).rejects.toThrow('async');
    expect(context.current).toBeUndefined();
    expect(context.run(3, () => context.current)).toBe(3);
  });
});
