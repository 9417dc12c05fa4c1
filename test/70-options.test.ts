// Covers open()'s options as the connections see them: the presets ('minimal', 'default',
// 'production') and explicit options overriding them, cacheSize as PRAGMA cache_size on readers
// and the writer, the production preset's temp_store and mmap_size, the pragmas option
// (foreign_keys enforced); and bad input across open(), transaction(), acquire(), iterate() and
// per-operation options, each rejected with a TypeError or RangeError naming the option.
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { SqliteError, open, type Pool } from '../lib/index.ts';
import { resolveOptions } from '../lib/input/options.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('options');

/** Reads a PRAGMA on a reader (through a read lease) and on the writer (through a write lease). */
async function pragmaOnBoth(db: Pool, name: string): Promise<{ reader: unknown; writer: unknown }> {
  const reader = await db.acquire();
  const writer = await db.acquire({ write: true });
  try {
    return {
      reader: (await reader.get<Record<string, unknown>>(`PRAGMA ${name}`))?.[name],
      writer: (await writer.get<Record<string, unknown>>(`PRAGMA ${name}`))?.[name],
    };
  } finally {
    await reader.release();
    await writer.release();
  }
}

/** Asserts `attempt` rejects (or throws) with an error of class `kind` whose message matches `names`. */
async function expectBad(attempt: () => unknown, kind: 'TypeError' | 'RangeError' | 'either', names: RegExp): Promise<void> {
  let error: unknown;
  try {
    await attempt();
  } catch (caught) {
    error = caught;
  }
  expect(error, `expected a ${kind} matching ${names}`).toBeInstanceOf(Error);
  const actual = (error as Error).constructor.name;
  if (kind === 'either') expect(['TypeError', 'RangeError']).toContain(actual);
  else expect(actual).toBe(kind);
  expect((error as Error).message).toMatch(names);
}

describe('presets', () => {
  it("'minimal' runs one reader", async () => {
    const db = await pools.open({ preset: 'minimal' });
    expect(db.stats().readers.size).toBe(1);
    expect(await db.get('SELECT 1 AS one')).toEqual({ one: 1 });
  });

  // The rule for other core counts: test/71-default-readers.test.ts.
  it("'default' (and no preset) runs one reader per available core plus one, 2 to 8", async () => {
    const expected = Math.min(8, Math.max(2, availableParallelism() + 1));
    expect((await pools.open()).stats().readers.size).toBe(expected);
    expect((await pools.open({ preset: 'default' })).stats().readers.size).toBe(expected);
  });

  it("'production' runs one reader per available core plus one, 2 to 16", async () => {
    const db = await pools.open({ preset: 'production' });
    expect(db.stats().readers.size).toBe(Math.min(16, Math.max(2, availableParallelism() + 1)));
  });

  it('explicit readers override the preset', async () => {
    expect((await pools.open({ preset: 'production', readers: 2 })).stats().readers.size).toBe(2);
    expect((await pools.open({ preset: 'minimal', readers: 3 })).stats().readers.size).toBe(3);
  });

  it("the 'production' preset applies temp_store = MEMORY and mmap_size on every connection", async () => {
    const db = await pools.open({ preset: 'production' });
    expect(await pragmaOnBoth(db, 'temp_store')).toEqual({ reader: 2, writer: 2 });
    expect(await pragmaOnBoth(db, 'mmap_size')).toEqual({ reader: 268_435_456, writer: 268_435_456 });
    expect(await pragmaOnBoth(db, 'cache_size')).toEqual({ reader: -64_000, writer: -64_000 });
  });

  it("the 'default' preset leaves temp_store at its default", async () => {
    const db = await pools.open({ readers: 1 });
    expect(await pragmaOnBoth(db, 'temp_store')).toEqual({ reader: 0, writer: 0 });
  });

  it('explicit pragmas are merged over the preset pragmas', async () => {
    const db = await pools.open({ preset: 'production', readers: 2, pragmas: { mmap_size: 0 } });
    expect(await pragmaOnBoth(db, 'mmap_size')).toEqual({ reader: 0, writer: 0 });
    expect(await pragmaOnBoth(db, 'temp_store')).toEqual({ reader: 2, writer: 2 });
  });
});

describe('connection settings', () => {
  it('cacheSize is PRAGMA cache_size in KiB (negative) on readers and the writer', async () => {
    const db = await pools.open({ readers: 2, cacheSize: 2000 });
    expect(await pragmaOnBoth(db, 'cache_size')).toEqual({ reader: -2000, writer: -2000 });
    const plain = await pools.open({ readers: 2 });
    expect(await pragmaOnBoth(plain, 'cache_size')).toEqual({ reader: -16_000, writer: -16_000 });
  });

  it('pragmas { foreign_keys: true } turns enforcement on: a violation is rejected', async () => {
    const db = await pools.open({ readers: 2, pragmas: { foreign_keys: true } });
    expect(await pragmaOnBoth(db, 'foreign_keys')).toEqual({ reader: 1, writer: 1 });
    await db.exec(
      'CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES parent (id))',
    );
    await db.run('INSERT INTO parent (id) VALUES (1)');
    await db.run('INSERT INTO child (parent) VALUES (1)');
    await expect(db.run('INSERT INTO child (parent) VALUES (2)')).rejects.toSatisfy(
      (error: unknown) => error instanceof SqliteError && error.code === 'SQLITE_CONSTRAINT_FOREIGNKEY',
    );
    await expect(
      db.transaction((tx) => tx.run('INSERT INTO child (parent) VALUES (3)')),
    ).rejects.toSatisfy((error: unknown) => error instanceof SqliteError && error.code === 'SQLITE_CONSTRAINT_FOREIGNKEY');
    expect(await db.get('SELECT count(*) AS n FROM child')).toEqual({ n: 1 });
  });

  it('foreign keys are enforced by default, on readers and the writer', async () => {
    const db = await pools.open({ readers: 2 });
    expect(await pragmaOnBoth(db, 'foreign_keys')).toEqual({ reader: 1, writer: 1 });
    await db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent INTEGER REFERENCES parent (id))');
    await expect(db.run('INSERT INTO child (parent) VALUES (2)')).rejects.toSatisfy(
      (error: unknown) => error instanceof SqliteError && error.code === 'SQLITE_CONSTRAINT_FOREIGNKEY',
    );
    expect(await db.get('SELECT count(*) AS n FROM child')).toEqual({ n: 0 });
  });

  it('foreignKeys: false opts out (SQLite default): a dangling reference is stored', async () => {
    const db = await pools.open({ readers: 1, foreignKeys: false });
    expect(await pragmaOnBoth(db, 'foreign_keys')).toEqual({ reader: 0, writer: 0 });
    await db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent INTEGER REFERENCES parent (id))');
    await db.run('INSERT INTO child (parent) VALUES (2)');
    expect(await db.get('SELECT count(*) AS n FROM child')).toEqual({ n: 1 });
  });

  it('pragmas.foreign_keys is applied after foreignKeys and wins', async () => {
    const db = await pools.open({ readers: 1, foreignKeys: true, pragmas: { foreign_keys: false } });
    expect(await pragmaOnBoth(db, 'foreign_keys')).toEqual({ reader: 0, writer: 0 });
  });
});

describe('bad options to open()', () => {
  it('an unknown preset is a RangeError naming preset', async () => {
    await expectBad(() => open(pools.file(), { preset: 'fast' as never }), 'RangeError', /preset/);
  });

  it('an unknown option is a TypeError naming it', async () => {
    await expectBad(() => open(pools.file(), { readerz: 2 } as never), 'TypeError', /readerz/);
  });

  it('acquireTimeout must be a positive integer', async () => {
    await expectBad(() => open(pools.file(), { acquireTimeout: -1 }), 'RangeError', /acquireTimeout/);
    await expectBad(() => open(pools.file(), { acquireTimeout: Number.NaN }), 'either', /acquireTimeout/);
    await expectBad(() => open(pools.file(), { acquireTimeout: 1.5 }), 'RangeError', /acquireTimeout/);
    await expectBad(() => open(pools.file(), { acquireTimeout: '100' as never }), 'TypeError', /acquireTimeout/);
  });

  it('maxReadDuration must be positive', async () => {
    await expectBad(() => open(pools.file(), { maxReadDuration: 0 }), 'RangeError', /maxReadDuration/);
  });

  it('timeslice must be a finite number of ms between 0 and 1000', async () => {
    await expectBad(() => open(pools.file(), { timeslice: -1 }), 'RangeError', /timeslice/);
    await expectBad(() => open(pools.file(), { timeslice: 1001 }), 'RangeError', /timeslice/);
    await expectBad(() => open(pools.file(), { timeslice: Number.NaN }), 'RangeError', /timeslice/);
    await expectBad(() => open(pools.file(), { timeslice: '1' as never }), 'TypeError', /timeslice/);
  });

  it('timeslice accepts 0 (never yield) and fractions of a millisecond', async () => {
    for (const timeslice of [0, 0.25, 5]) {
      const db = await pools.open({ timeslice });
      expect(await db.get<{ one: number }>('SELECT 1 AS one')).toEqual({ one: 1 });
    }
  });

  it('queryTimeout must be a positive integer', async () => {
    await expectBad(() => open(pools.file(), { queryTimeout: 0 }), 'RangeError', /queryTimeout/);
  });

  it('retry is checked: attempts, unknown keys, and maxDelay below baseDelay', async () => {
    await expectBad(() => open(pools.file(), { retry: { attempts: 0 } }), 'RangeError', /attempts/);
    await expectBad(() => open(pools.file(), { retry: { tries: 3 } as never }), 'TypeError', /tries/);
    await expectBad(() => open(pools.file(), { retry: { baseDelay: 100, maxDelay: 10 } }), 'RangeError', /maxDelay/);
    await expectBad(() => open(pools.file(), { retry: 3 as never }), 'TypeError', /retry/);
  });

  it("retry's missing fields come from the preset's retry, else from the defaults (3 attempts, 10 and 1000 ms)", () => {
    expect(resolveOptions('app.db', { retry: {} }).retry).toEqual({ attempts: 3, baseDelay: 10, maxDelay: 1000 });
    expect(resolveOptions('app.db', { retry: { attempts: 5 } }).retry).toEqual({ attempts: 5, baseDelay: 10, maxDelay: 1000 });
    expect(resolveOptions('app.db', { preset: 'production' }).retry).toEqual({ attempts: 3, baseDelay: 10, maxDelay: 250 });
    expect(resolveOptions('app.db', { preset: 'production', retry: { attempts: 5 } }).retry).toEqual({ attempts: 5, baseDelay: 10, maxDelay: 250 });
    expect(resolveOptions('app.db', { preset: 'production', retry: false }).retry).toBeUndefined();
    expect(() => resolveOptions('app.db', { preset: 'production', retry: { baseDelay: 500 } })).toThrow(/maxDelay \(250, the production preset's\)/);
  });

  it('pragmas are checked: names must be identifiers, values scalars', async () => {
    await expectBad(() => open(pools.file(), { pragmas: { 'bad name': 1 } }), 'RangeError', /bad name/);
    await expectBad(() => open(pools.file(), { pragmas: { x: {} as never } }), 'TypeError', /\bx\b/);
    await expectBad(() => open(pools.file(), { pragmas: 'foreign_keys' as never }), 'TypeError', /pragmas/);
    // One would replace the pool's busy handler, the others write to the file at every open.
    await expectBad(() => open(pools.file(), { pragmas: { busy_timeout: 0 } }), 'RangeError', /pragmas\.busy_timeout .*busyTimeout/);
    await expectBad(() => open(':memory:', { pragmas: { BUSY_TIMEOUT: 20_000 } }), 'RangeError', /busyTimeout/);
    await expectBad(() => open(pools.file(), { pragmas: { user_version: 5 } }), 'RangeError', /pragmas\.user_version .*migration/);
    await expectBad(() => open(pools.file(), { pragmas: { application_id: 7 } }), 'RangeError', /application_id/);
    await expectBad(() => open(pools.file(), { pragmas: { schema_version: 3 } }), 'RangeError', /schema_version/);
    const memory = await open(':memory:', { pragmas: { user_version: 5 } });
    expect(await memory.get('PRAGMA user_version')).toEqual({ user_version: 5 });
    await memory.close();
    await expectBad(() => open(pools.file(), { foreignKeys: 'yes' as never }), 'TypeError', /foreignKeys/);
    await expectBad(() => open(pools.file(), { walMonitor: { warnBytes: -1 } }), 'RangeError', /walMonitor\.warnBytes/);
    await expectBad(() => open(pools.file(), { walMonitor: 1 as never }), 'TypeError', /walMonitor must be true, false or an object, got number/);
    await expectBad(() => open(pools.file(), { healthCheck: 'on' as never }), 'TypeError', /healthCheck must be true, false or an object, got string/);
    await expectBad(() => open(pools.file(), { groupCommit: null as never }), 'TypeError', /groupCommit must be true, false or an object, got null/);
    await expectBad(() => open(pools.file(), { walMonitor: [] as never }), 'TypeError', /walMonitor must be true, false or an object, got an array/);
    await expectBad(() => open(pools.file(), { healthCheck: { intervalMs: 5 } }), 'RangeError', /healthCheck\.intervalMs/);
    await expectBad(() => open(pools.file(), { optimizeInterval: 10 }), 'RangeError', /optimizeInterval/);
    await expectBad(() => open(pools.file(), { checkpointOnClose: 'full' as never }), 'RangeError', /checkpointOnClose/);
    await expectBad(() => open(pools.file(), { checkpointOnClose: true as never }), 'TypeError', /checkpointOnClose/);
  });

  it('observers are checked: an array of objects whose hooks are functions and flags booleans', async () => {
    await expectBad(() => open(pools.file(), { observers: {} as never }), 'TypeError', /observers must be an array/);
    await expectBad(() => open(pools.file(), { observers: [42] as never }), 'TypeError', /observers\[0\]/);
    await expectBad(() => open(pools.file(), { observers: [{}, { onQuery: 'log' }] as never }), 'TypeError', /observers\[1\]\.onQuery/);
    await expectBad(() => open(pools.file(), { observers: [{ wantsParams: 1 }] as never }), 'TypeError', /wantsParams/);
  });
});

describe('bad options to operations', () => {
  it("transaction behavior 'sometimes' is a RangeError naming behavior", async () => {
    const db = await pools.open({ readers: 1 });
    await expectBad(() => db.transaction(() => 1, { behavior: 'sometimes' as never }), 'RangeError', /behavior/);
    expect(db.stats().writer.held).toBe(false);
  });

  it('transaction timeout -1 is a RangeError naming timeout', async () => {
    const db = await pools.open({ readers: 1 });
    await expectBad(() => db.transaction(() => 1, { timeout: -1 }), 'RangeError', /timeout/);
  });

  it('transaction with a non-function is a TypeError', async () => {
    const db = await pools.open({ readers: 1 });
    await expectBad(() => db.transaction('BEGIN' as never), 'TypeError', /function/);
    await expectBad(() => db.read(42 as never), 'TypeError', /function/);
  });

  it("acquire({ write: 'yes' }) is a TypeError and acquire({ timeout: 0 }) a RangeError", async () => {
    const db = await pools.open({ readers: 2 });
    await expectBad(() => db.acquire({ write: 'yes' as never }), 'TypeError', /write/);
    await expectBad(() => db.acquire({ timeout: 0 }), 'RangeError', /timeout/);
    await expectBad(() => db.acquire({ wait: 5 } as never), 'TypeError', /wait/);
    expect(db.stats().readers.pinned).toBe(0);
    expect(db.stats().writer.held).toBe(false);
  });

  it('iterate with chunkSize 0 rejects on the first next() and holds no reader', async () => {
    const db = await pools.open({ readers: 2 });
    const iterator = db.iterate('SELECT 1', [], { chunkSize: 0 });
    await expectBad(() => iterator.next(), 'RangeError', /chunkSize/);
    expect(db.stats().readers.pinned).toBe(0);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('a signal that is not an AbortSignal is a TypeError naming signal', async () => {
    const db = await pools.open({ readers: 2 });
    const fake = { aborted: false, addEventListener() {} } as never;
    await expectBad(() => db.get('SELECT 1', [], { signal: fake }), 'TypeError', /signal/);
    await expectBad(() => db.run('SELECT 1', [], { signal: fake }), 'TypeError', /signal/);
    await expectBad(() => db.transaction(() => 1, { signal: fake }), 'TypeError', /signal/);
    await expectBad(() => db.acquire({ signal: fake }), 'TypeError', /signal/);
    await expectBad(() => db.read(() => 1, { signal: fake }), 'TypeError', /signal/);
    await expectBad(() => db.iterate('SELECT 1', [], { signal: fake }).next(), 'TypeError', /signal/);
    expect(db.stats().readers.pinned).toBe(0);
    expect(db.stats().writer.held).toBe(false);
  });

  it('per-operation timeout and unknown keys are checked', async () => {
    const db = await pools.open({ readers: 1 });
    await expectBad(() => db.get('SELECT 1', [], { timeout: 0 }), 'RangeError', /timeout/);
    await expectBad(() => db.run('SELECT 1', [], { timeout: 2.5 }), 'RangeError', /timeout/);
    await expectBad(() => db.all('SELECT 1', [], { timout: 10 } as never), 'TypeError', /timout/);
  });

  it('bad options are reported as rejections, never as synchronous throws', async () => {
    const db = await pools.open({ readers: 2 });
    const calls: (() => Promise<unknown>)[] = [
      () => open(pools.file(), { preset: 'fast' as never }),
      () => db.transaction(() => 1, { behavior: 'sometimes' as never }),
      () => db.transaction(null as never),
      () => db.acquire({ timeout: 0 }),
      () => db.get('SELECT 1', [], { signal: {} as never }),
      () => db.read(() => 1, { timeout: -5 }),
    ];
    for (const call of calls) {
      let returned: Promise<unknown> | undefined;
      expect(() => (returned = call())).not.toThrow();
      expect(returned).toBeInstanceOf(Promise);
      await expect(returned).rejects.toBeInstanceOf(Error);
    }
  });
});
