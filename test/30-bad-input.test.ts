// Covers bad input: every wrong parameter, SQL text, pool option or operation option rejects with
// a typed error (TypeError, RangeError, SqliteError or PoolClosedError, with its `code`), and the
// pool keeps answering afterwards; misuse of the pool after close(); files that cannot be opened
// (a directory, a missing file with create: false, a file that is not a database); and the
// brand-based `instanceof` of the error classes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LitepoolError, OperationTimeoutError, PoolClosedError, SqliteError, open, type Pool } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection } from './helpers/waits.ts';

const pools = tempPools('bad-input');
let db: Pool;

beforeAll(async () => {
  db = await pools.openAt(join(pools.dir, 'bad.db'), { readers: 2 });
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)');
  await db.run("INSERT INTO t (name) VALUES ('taken')");
});

// After every test the shared pool must still answer, on a reader and on the writer.
afterEach(async () => {
  expect(await db.get('SELECT 1 AS x')).toEqual({ x: 1 });
  expect(await db.run('UPDATE t SET name = name WHERE id = 1')).toMatchObject({ changes: 1 });
});

/** The error thrown or rejected by `call`; fails the test when it succeeds. */
async function failure(call: () => unknown): Promise<any> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return error;
  }
  return rejection(result as Promise<unknown>);
}

describe('parameter values of unsupported types', () => {
  const cases: [string, unknown][] = [
    ['a plain object', { a: 1 }],
    ['a Symbol', Symbol('s')],
    ['a function', () => 1],
    ['a Date', new Date(0)],
    ['a Map', new Map([[1, 2]])],
    ['an array', [1, 2]],
    ['a Uint16Array', new Uint16Array(2)],
  ];
  for (const [label, value] of cases) {
    it(`rejects ${label} inside the params array with a TypeError naming the parameter`, async () => {
      for (const call of [
        () => db.get('SELECT ?, ? AS x', [1, value as never]),
        () => db.all('SELECT ?, ? AS x', [1, value as never]),
        () => db.run('UPDATE t SET name = name WHERE id = ? AND ? IS NULL', [1, value as never]),
      ]) {
        const error = await failure(call);
        expect(error).toBeInstanceOf(TypeError);
        expect(error.code).toBe('LITEPOOL_INVALID_ARGUMENT');
        expect(error.message).toMatch(/parameter 2\b/);
      }
    });
  }

  it('rejects a bad value among named parameters with a TypeError naming the key', async () => {
    const error = await failure(() => db.get('SELECT :good AS a, :bad AS b', { good: 1, bad: new Date() as never }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain("'bad'");
  });

  it('rejects params that are neither an array nor a plain object with a TypeError', async () => {
    for (const params of ['text', 42, new Map(), new Date(), Buffer.from('x')]) {
      const error = await failure(() => db.get('SELECT ? AS x', params as never));
      expect(error).toBeInstanceOf(TypeError);
    }
  });

  it('rejects a bigint outside 64 bits with a RangeError', async () => {
    for (const value of [2n ** 63n, -(2n ** 63n) - 1n, 2n ** 100n]) {
      const error = await failure(() => db.get('SELECT ? AS x', [value]));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.code).toBe('LITEPOOL_OUT_OF_RANGE');
      expect(error.message).toMatch(/parameter 1\b/);
    }
    const named = await failure(() => db.run('UPDATE t SET name = name WHERE id = :id', { id: 2n ** 64n }));
    expect(named).toBeInstanceOf(RangeError);
  });
});

describe('parameter counts and names', () => {
  it('rejects too few positional parameters with RangeError LITEPOOL_BIND', async () => {
    for (const [sql, params] of [
      ['SELECT ? AS a, ? AS b', [1]],
      ['SELECT ? AS a', []],
      ['SELECT ?2 AS a', [1]],
    ] as const) {
      const error = await rejection(db.get(sql, params as never));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.code).toBe('LITEPOOL_BIND');
    }
    const error = await rejection(db.run('UPDATE t SET name = ? WHERE id = ?', ['x']));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('LITEPOOL_BIND');
  });

  it('rejects a statement with parameters but no params given with RangeError LITEPOOL_BIND', async () => {
    const error = await rejection(db.get('SELECT ? AS a'));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('LITEPOOL_BIND');
  });

  it('rejects too many positional parameters with RangeError LITEPOOL_BIND', async () => {
    for (const [sql, params] of [
      ['SELECT ? AS a', [1, 2]],
      ['SELECT 1 AS a', [1]],
    ] as const) {
      const error = await rejection(db.all(sql, params as never));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.code).toBe('LITEPOOL_BIND');
    }
    const error = await rejection(db.run('UPDATE t SET name = name WHERE id = ?', [1, 2]));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('LITEPOOL_BIND');
  });

  it('rejects a missing named parameter with RangeError LITEPOOL_BIND', async () => {
    const error = await rejection(db.get('SELECT :a AS a, :b AS b', { a: 1 }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('LITEPOOL_BIND');
    expect(error.message).toContain('b');
    const write = await rejection(db.run('UPDATE t SET name = $name WHERE id = $id', { id: 1 }));
    expect(write).toBeInstanceOf(RangeError);
    expect(write.code).toBe('LITEPOOL_BIND');
  });

  it('rejects an unknown extra named parameter with RangeError LITEPOOL_BIND', async () => {
    const error = await rejection(db.get('SELECT :a AS a', { a: 1, extra: 2 }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('LITEPOOL_BIND');
    expect(error.message).toContain('extra');
    const none = await rejection(db.get('SELECT 1 AS a', { extra: 2 }));
    expect(none).toBeInstanceOf(RangeError);
    expect(none.code).toBe('LITEPOOL_BIND');
  });

  it('rejects an object passed to a statement with ? parameters with a RangeError', async () => {
    for (const sql of ['SELECT ? AS a', 'SELECT ?1 AS a']) {
      const error = await rejection(db.get(sql, { a: 1 }));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.code).toBe('LITEPOOL_BIND');
    }
  });
});

describe('SQL text', () => {
  it('rejects invalid SQL with SqliteError SQLITE_ERROR carrying the sql', async () => {
    const sql = 'SELEC 1 AS x';
    for (const call of [() => db.get(sql), () => db.all(sql), () => db.run(sql), () => db.exec(sql)]) {
      const error = await failure(call);
      expect(error).toBeInstanceOf(SqliteError);
      expect(error).toBeInstanceOf(LitepoolError);
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toBe('SQLITE_ERROR');
      expect(error.errno).toBe(1);
      expect(error.primaryCode).toBe('SQLITE_ERROR');
      expect(error.sql).toBe(sql);
      expect(error.message).toMatch(/syntax error/);
    }
  });

  it('rejects a query on a missing table with SqliteError SQLITE_ERROR', async () => {
    const error = await rejection(db.get('SELECT * FROM no_such_table'));
    expect(error).toBeInstanceOf(SqliteError);
    expect(error.code).toBe('SQLITE_ERROR');
    expect(error.message).toContain('no_such_table');
  });

  it("rejects empty SQL ('' and '   ') with a RangeError, LITEPOOL_OUT_OF_RANGE", async () => {
    for (const sql of ['', '   ', '\n\t ']) {
      for (const call of [() => db.get(sql), () => db.all(sql), () => db.run(sql), () => db.exec(sql)]) {
        const error = await failure(call);
        expect(error).toBeInstanceOf(RangeError);
        expect(error).toMatchObject({ code: 'LITEPOOL_OUT_OF_RANGE' });
      }
    }
  });

  it('rejects SQL with no statement in it (a comment, a lone semicolon) with LITEPOOL_MISUSE', async () => {
    for (const sql of ['-- nothing', '/* nothing */', ' ; ']) {
      for (const call of [() => db.get(sql), () => db.all(sql), () => db.run(sql)]) {
        const error = await failure(call);
        expect(error).toBeInstanceOf(RangeError);
        expect(error).toMatchObject({ code: 'LITEPOOL_MISUSE' });
      }
    }
  });

  it('rejects SQL that is only a comment with RangeError LITEPOOL_MISUSE', async () => {
    for (const sql of ['-- just a comment', '/* a block comment */', ' ; ']) {
      for (const call of [() => db.get(sql), () => db.all(sql), () => db.run(sql)]) {
        const error = await failure(call);
        expect(error).toBeInstanceOf(RangeError);
        expect(error.code).toBe('LITEPOOL_MISUSE');
      }
    }
  });

  it('accepts one statement followed by a comment or semicolons', async () => {
    expect(await db.get('SELECT 2 AS x; -- trailing comment')).toEqual({ x: 2 });
    expect(await db.get('SELECT 3 AS x;;  ')).toEqual({ x: 3 });
  });

  it('rejects two statements in get (and all, run) with RangeError LITEPOOL_MISUSE', async () => {
    for (const call of [() => db.get('SELECT 1; SELECT 2'), () => db.all('SELECT 1; SELECT 2'), () => db.run('UPDATE t SET name = name; SELECT 1')]) {
      const error = await failure(call);
      expect(error).toBeInstanceOf(RangeError);
      expect(error.code).toBe('LITEPOOL_MISUSE');
    }
    // The first statement of a rejected run did not run.
    await rejection(db.run("INSERT INTO t (name) VALUES ('two-statements'); SELECT 1"));
    expect(await db.get("SELECT COUNT(*) AS n FROM t WHERE name = 'two-statements'")).toEqual({ n: 0 });
  });

  it('rejects a non-string sql with a TypeError', async () => {
    for (const sql of [42, null, undefined, { sql: 'SELECT 1' }, Buffer.from('SELECT 1')]) {
      for (const call of [() => db.get(sql as never), () => db.all(sql as never), () => db.run(sql as never), () => db.exec(sql as never)]) {
        const error = await failure(call);
        expect(error).toBeInstanceOf(TypeError);
        expect(error.code).toBe('LITEPOOL_INVALID_ARGUMENT');
      }
    }
  });

  it('rejects a UNIQUE violation with SqliteError SQLITE_CONSTRAINT_UNIQUE, errno 2067', async () => {
    const sql = 'INSERT INTO t (name) VALUES (?)';
    const error = await rejection(db.run(sql, ['taken']));
    expect(error).toBeInstanceOf(SqliteError);
    expect(error.code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(error.errno).toBe(2067);
    expect(error.primaryCode).toBe('SQLITE_CONSTRAINT');
    expect(error.sql).toBe(sql);
    expect(error.name).toBe('SqliteError');
    expect(await db.get("SELECT COUNT(*) AS n FROM t WHERE name = 'taken'")).toEqual({ n: 1 });
  });

  it('rejects other constraint violations with their extended codes', async () => {
    await db.exec('CREATE TABLE IF NOT EXISTS nn (x NOT NULL, y CHECK (y > 0))');
    const notNull = await rejection(db.run('INSERT INTO nn (x, y) VALUES (NULL, 1)'));
    expect(notNull.code).toBe('SQLITE_CONSTRAINT_NOTNULL');
    expect(notNull.primaryCode).toBe('SQLITE_CONSTRAINT');
    const check = await rejection(db.run('INSERT INTO nn (x, y) VALUES (1, 0)'));
    expect(check.code).toBe('SQLITE_CONSTRAINT_CHECK');
  });

  it("rejects run('BEGIN') with LITEPOOL_MISUSE, rolls the transaction back, and later writes still work", async () => {
    const error = await rejection(db.run('BEGIN'));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('LITEPOOL_MISUSE');
    const immediate = await rejection(db.run('BEGIN IMMEDIATE'));
    expect(immediate.code).toBe('LITEPOOL_MISUSE');
    const viaExec = await rejection(db.exec("BEGIN; INSERT INTO t (name) VALUES ('in-open-txn')"));
    expect(viaExec.code).toBe('LITEPOOL_MISUSE');
    // The exec's insert was rolled back with its transaction.
    expect(await db.get("SELECT COUNT(*) AS n FROM t WHERE name = 'in-open-txn'")).toEqual({ n: 0 });
    // Later writes commit, and other connections see them.
    const { changes, lastInsertRowid } = await db.run("INSERT INTO t (name) VALUES ('after-begin')");
    expect(changes).toBe(1);
    expect(await db.get('SELECT name FROM t WHERE id = ?', [lastInsertRowid])).toEqual({ name: 'after-begin' });
    // A COMMIT with no transaction is a plain SQLite error.
    const commit = await rejection(db.run('COMMIT'));
    expect(commit).toBeInstanceOf(SqliteError);
    expect(commit.code).toBe('SQLITE_ERROR');
  });

  it('rejects a write routed through get() that fails, with the SQLite error', async () => {
    const error = await rejection(db.get("INSERT INTO t (name) VALUES ('taken') RETURNING id"));
    expect(error).toBeInstanceOf(SqliteError);
    expect(error.code).toBe('SQLITE_CONSTRAINT_UNIQUE');
  });
});

describe('open() options', () => {
  const path = () => join(pools.dir, 'options.db');

  it('rejects an unknown option name with a TypeError', async () => {
    for (const options of [{ reader: 2 }, { readers: 1, busytimeout: 5 }]) {
      const error = await rejection(open(path(), options as never));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.code).toBe('LITEPOOL_INVALID_ARGUMENT');
      expect(error.message).toContain(Object.keys(options).at(-1));
    }
  });

  it('rejects readers -1, 1.5, NaN (and too many) with a RangeError', async () => {
    for (const readers of [-1, 1.5, NaN, Infinity, 1000]) {
      const error = await rejection(open(path(), { readers }));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.code).toBe('LITEPOOL_OUT_OF_RANGE');
      expect(error.message).toContain('readers');
    }
  });

  it("rejects readers: '2' with a TypeError", async () => {
    const error = await rejection(open(path(), { readers: '2' as never }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain('readers');
  });

  it("rejects synchronous: 'sometimes' with a RangeError", async () => {
    const error = await rejection(open(path(), { synchronous: 'sometimes' as never }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain('synchronous');
  });

  it('rejects busyTimeout: -5 with a RangeError', async () => {
    const error = await rejection(open(path(), { busyTimeout: -5 }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain('busyTimeout');
  });

  it('rejects other mistyped options', async () => {
    expect(await rejection(open(path(), { safeIntegers: 1 as never }))).toBeInstanceOf(TypeError);
    expect(await rejection(open(path(), { create: 'yes' as never }))).toBeInstanceOf(TypeError);
    expect(await rejection(open(path(), { cacheSize: 0 }))).toBeInstanceOf(RangeError);
    expect(await rejection(open(path(), { queryTimeout: 0 }))).toBeInstanceOf(RangeError);
    expect(await rejection(open(path(), { pragmas: 'foreign_keys' as never }))).toBeInstanceOf(TypeError);
    expect(await rejection(open(path(), { pragmas: { 'x; DROP TABLE t': 1 } }))).toBeInstanceOf(RangeError);
    expect(await rejection(open(path(), 'readers' as never))).toBeInstanceOf(TypeError);
    expect(await rejection(open(42 as never))).toBeInstanceOf(TypeError);
  });
});

describe('operation options', () => {
  it('rejects an unknown key with a TypeError', async () => {
    for (const call of [
      () => db.get('SELECT 1 AS x', [], { timout: 5 } as never),
      () => db.all('SELECT 1 AS x', [], { mode: 'array' } as never),
      () => db.run('UPDATE t SET name = name WHERE id = 1', [], { rowMode: 'array' } as never),
      () => db.exec('SELECT 1', { foo: 1 } as never),
    ]) {
      const error = await failure(call);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.code).toBe('LITEPOOL_INVALID_ARGUMENT');
    }
  });

  it('rejects timeout: 0 (and other bad timeouts) with a RangeError', async () => {
    for (const timeout of [0, -1, 1.5, NaN]) {
      const error = await failure(() => db.get('SELECT 1 AS x', [], { timeout }));
      expect(error).toBeInstanceOf(RangeError);
    }
    expect(await failure(() => db.run('SELECT 1', [], { timeout: 0 }))).toBeInstanceOf(RangeError);
    expect(await failure(() => db.get('SELECT 1 AS x', [], { timeout: '5' as never }))).toBeInstanceOf(TypeError);
  });

  it('rejects signal: {} with a TypeError', async () => {
    const error = await failure(() => db.get('SELECT 1 AS x', [], { signal: {} as never }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain('signal');
    expect(await failure(() => db.run('SELECT 1', [], { signal: {} as never }))).toBeInstanceOf(TypeError);
  });

  it("rejects rowMode: 'table' with a RangeError", async () => {
    const error = await failure(() => db.get('SELECT 1 AS x', [], { rowMode: 'table' as never }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toContain('rowMode');
    expect(await failure(() => db.all('SELECT 1 AS x', [], { rowMode: 'table' as never }))).toBeInstanceOf(RangeError);
  });

  it('rejects options that are not an object with a TypeError', async () => {
    expect(await failure(() => db.get('SELECT 1 AS x', [], 'array' as never))).toBeInstanceOf(TypeError);
    expect(await failure(() => db.get('SELECT 1 AS x', [], null as never))).toBeInstanceOf(TypeError);
  });

  it('rejects with the signal reason when the signal is already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    controller.abort(reason);
    expect(await rejection(db.get('SELECT 1 AS x', [], { signal: controller.signal }))).toBe(reason);
    expect(await rejection(db.run('UPDATE t SET name = name', [], { signal: controller.signal }))).toBe(reason);
  });

  it('the timeout error class carries its code', () => {
    const error = new OperationTimeoutError(5, 'SELECT 1');
    expect(error).toBeInstanceOf(OperationTimeoutError);
    expect(error).toBeInstanceOf(LitepoolError);
    expect(error).not.toBeInstanceOf(SqliteError);
    expect(error.code).toBe('LITEPOOL_OPERATION_TIMEOUT');
  });
});

describe('a closed pool', () => {
  it('rejects calls after close() with PoolClosedError LITEPOOL_POOL_CLOSED', async () => {
    const pool = await open(join(pools.dir, 'closed.db'), { readers: 1 });
    await pool.exec('CREATE TABLE IF NOT EXISTS c (x)');
    expect(pool.closed).toBe(false);
    const closing = pool.close();
    expect(pool.closed).toBe(true);
    // Rejected at once, even while the close is still running.
    for (const call of [() => pool.get('SELECT 1'), () => pool.all('SELECT 1'), () => pool.run('INSERT INTO c VALUES (1)'), () => pool.exec('SELECT 1')]) {
      const error = await failure(call);
      expect(error).toBeInstanceOf(PoolClosedError);
      expect(error).toBeInstanceOf(LitepoolError);
      expect(error).not.toBeInstanceOf(SqliteError);
      expect(error.code).toBe('LITEPOOL_POOL_CLOSED');
    }
    await closing;
    for (const call of [() => pool.get('SELECT 1'), () => pool.all('SELECT 1'), () => pool.run('INSERT INTO c VALUES (1)'), () => pool.exec('SELECT 1')]) {
      const error = await failure(call);
      expect(error).toBeInstanceOf(PoolClosedError);
      expect(error.code).toBe('LITEPOOL_POOL_CLOSED');
    }
    // PoolClosedError takes precedence over argument errors.
    expect(await failure(() => pool.get(42 as never))).toBeInstanceOf(PoolClosedError);
  });

  it('resolves close() twice, both times', async () => {
    const pool = await open(join(pools.dir, 'closed-twice.db'), { readers: 1 });
    const first = pool.close();
    const second = pool.close();
    await expect(first).resolves.toBeUndefined();
    await expect(second).resolves.toBeUndefined();
    await expect(pool.close()).resolves.toBeUndefined();
  });
});

describe('files that cannot be opened', () => {
  it('rejects opening a directory with SqliteError SQLITE_CANTOPEN*', async () => {
    const directory = join(pools.dir, 'a-directory');
    mkdirSync(directory);
    const error = await rejection(open(directory, { readers: 1 }));
    expect(error).toBeInstanceOf(SqliteError);
    expect(error.code.startsWith('SQLITE_CANTOPEN')).toBe(true);
    expect(error.primaryCode).toBe('SQLITE_CANTOPEN');
  });

  it('rejects a missing file with create: false with SqliteError SQLITE_CANTOPEN', async () => {
    const error = await rejection(open(join(pools.dir, 'does-not-exist.db'), { create: false }));
    expect(error).toBeInstanceOf(SqliteError);
    expect(error.code).toBe('SQLITE_CANTOPEN');
    expect(error.message).toContain('does-not-exist.db');
  });

  it('opens an existing file with create: false', async () => {
    const pool = await open(join(pools.dir, 'bad.db'), { create: false, readers: 1 });
    expect(await pool.get('SELECT COUNT(*) > 0 AS some FROM t')).toEqual({ some: 1 });
    await pool.close();
  });

  it('rejects a file that is not a database with SqliteError SQLITE_NOTADB', async () => {
    const file = join(pools.dir, 'not-a-database.db');
    const line = 'This is a text file, not an SQLite database. '; // 46 bytes
    writeFileSync(file, line.repeat(Math.ceil(4096 / line.length)).slice(0, 4096));
    const error = await rejection(open(file, { readers: 2 }));
    expect(error).toBeInstanceOf(SqliteError);
    expect(error.code).toBe('SQLITE_NOTADB');
    expect(error.errno).toBe(26);
  });
});

describe('instanceof across copies of the package', () => {
  const brands = Symbol.for('litepool.error.brands');

  it('recognizes an error whose prototype chain was replaced, by its brand', async () => {
    const error = await rejection(db.run("INSERT INTO t (name) VALUES ('taken')"));
    expect(error).toBeInstanceOf(SqliteError);
    Object.setPrototypeOf(error, Error.prototype);
    expect(Object.getPrototypeOf(error)).toBe(Error.prototype);
    expect(error instanceof SqliteError).toBe(true);
    expect(error instanceof LitepoolError).toBe(true);
    expect(error instanceof PoolClosedError).toBe(false);
  });

  it('recognizes an object from another copy that only carries the brand', () => {
    // What a duplicate copy of the package would create: its own classes, the same registry symbol.
    const foreign = Object.defineProperty(new Error('from another copy'), brands, { value: ['SqliteError', 'LitepoolError'] });
    expect(foreign instanceof SqliteError).toBe(true);
    expect(foreign instanceof LitepoolError).toBe(true);
    expect(foreign instanceof PoolClosedError).toBe(false);
    const closed = Object.defineProperty({}, brands, { value: ['PoolClosedError', 'LitepoolError'] });
    expect(closed instanceof PoolClosedError).toBe(true);
    expect(closed instanceof SqliteError).toBe(false);
  });

  it('does not recognize a plain Error or look-alikes', () => {
    expect(new Error('plain') instanceof SqliteError).toBe(false);
    expect(new Error('plain') instanceof LitepoolError).toBe(false);
    expect(Object.assign(new Error('x'), { code: 'SQLITE_ERROR', errno: 1 }) instanceof SqliteError).toBe(false);
    expect(Object.defineProperty(new Error('x'), brands, { value: 'SqliteError' }) instanceof SqliteError).toBe(false);
    expect((null as unknown) instanceof SqliteError).toBe(false);
    expect(('SqliteError' as unknown) instanceof SqliteError).toBe(false);
  });

  it('brands every class instance with its own name and its ancestors', () => {
    const sqlite = new SqliteError(2067, 'UNIQUE constraint failed', 'INSERT');
    expect((sqlite as unknown as Record<symbol, unknown>)[brands]).toEqual(['SqliteError', 'LitepoolError']);
    expect(sqlite.code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect(sqlite.primaryCode).toBe('SQLITE_CONSTRAINT');
    const closed = new PoolClosedError();
    expect((closed as unknown as Record<symbol, unknown>)[brands]).toEqual(['PoolClosedError', 'LitepoolError']);
    expect(closed).toBeInstanceOf(Error);
  });
});
