// Covers the arguments of the maintenance methods: an argument past those a method takes (an
// options object handed to a method without options) is refused with LITEPOOL_INVALID_ARGUMENT
// before anything runs; db.ping() takes `timeout` (default: queryTimeout) and `signal`, so a
// readiness probe cannot wait forever behind a held writer.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OperationTimeoutError, type Pool } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('maintenance-arguments');
const invalid = expect.objectContaining({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' });

/** Holds the writer in a transaction until the returned function is called. */
async function holdWriter(db: Pool): Promise<{ release: () => void; done: Promise<unknown> }> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let began!: () => void;
  const begun = new Promise<void>((resolve) => (began = resolve));
  const done = db.transaction(async (tx) => {
    await tx.run("INSERT INTO t (v) VALUES ('held')");
    began();
    await held;
  });
  await begun;
  return { release, done };
}

describe('maintenance methods refuse arguments they do not take', () => {
  it('each method, with one argument too many, rejects before it runs', async () => {
    const db = await pools.fresh({ readers: 1 });
    const dest = join(pools.dir, 'never-written.db');
    const started = db.stats().operations.started;
    const calls: [string, () => Promise<unknown>][] = [
      ['checkpoint', () => (db.checkpoint as (...a: unknown[]) => Promise<unknown>)('passive', {})],
      ['backup', () => (db.backup as (...a: unknown[]) => Promise<unknown>)(dest, {}, {})],
      ['vacuumInto', () => (db.vacuumInto as (...a: unknown[]) => Promise<unknown>)(dest, { signal: AbortSignal.timeout(1000) })],
      ['integrityCheck', () => (db.integrityCheck as (...a: unknown[]) => Promise<unknown>)({ quick: true }, {})],
      ['foreignKeyCheck', () => (db.foreignKeyCheck as (...a: unknown[]) => Promise<unknown>)({})],
      ['optimize', () => (db.optimize as (...a: unknown[]) => Promise<unknown>)({ signal: undefined })],
      ['analyze', () => (db.analyze as (...a: unknown[]) => Promise<unknown>)('t')],
      ['vacuum', () => (db.vacuum as (...a: unknown[]) => Promise<unknown>)({}, {})],
      ['ping', () => (db.ping as (...a: unknown[]) => Promise<unknown>)({}, {})],
    ];
    for (const [method, call] of calls) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, method).toEqual(invalid);
      expect((error as Error).message, method).toContain(`db.${method}()`);
    }
    // Nothing ran: no copy was written, the pool serves on.
    expect(existsSync(dest)).toBe(false);
    expect(db.stats().operations.started).toBe(started);
    await db.ping();
    expect(await db.integrityCheck()).toEqual({ ok: true, problems: [] });
  });
});

describe('db.ping({ timeout, signal })', () => {
  it('times out behind a held writer with OperationTimeoutError, then answers once it is free', async () => {
    const db = await pools.fresh({ readers: 1 });
    const { release, done } = await holdWriter(db);
    const error = await db.ping({ timeout: 50 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    release();
    await done;
    expect(error).toBeInstanceOf(OperationTimeoutError);
    await db.ping({ timeout: 5000 });
  });

  it('takes the pool queryTimeout by default', async () => {
    const db = await pools.fresh({ readers: 1, queryTimeout: 50 });
    const { release, done } = await holdWriter(db);
    const error = await db.ping().then(
      () => undefined,
      (e: unknown) => e,
    );
    release();
    await done;
    expect(error).toBeInstanceOf(OperationTimeoutError);
  });

  it('is cancelled by its signal, and refuses unknown or mistyped options', async () => {
    const db = await pools.fresh({ readers: 1 });
    const reason = new Error('probe no longer wanted');
    await expect(db.ping({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);

    const { release, done } = await holdWriter(db);
    const controller = new AbortController();
    const pending = db.ping({ signal: controller.signal });
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    release();
    await done;

    await expect(db.ping({ timeot: 5 } as never)).rejects.toThrow(invalid);
    await expect(db.ping({ timeout: '5' } as never)).rejects.toThrow(invalid);
    await expect(db.ping({ timeout: 0 })).rejects.toThrow(expect.objectContaining({ code: 'LITEPOOL_OUT_OF_RANGE' }));
    await expect(db.ping({ rowMode: 'array' } as never)).rejects.toThrow(invalid);
    await db.ping({});
  });
});
