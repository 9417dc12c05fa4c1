// Owns the temporary databases of one test file: a directory of its own (created before the first
// test, removed after the last), database files numbered in it, and the pools opened through it,
// each closed when the scope that opened it ends: a pool opened in beforeAll stays open for the
// whole file, one opened in beforeEach or in a test is closed when that test ends. Also holds
// the scenario most writer tests start from: a transaction that holds the writer until released.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { open, type Pool, type PoolOptions } from '../../lib/index.ts';
import { latch } from './waits.ts';

/** The table t most test files start from. */
export const TABLE_T = 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)';

export interface TempPools {
  /** This file's directory (from beforeAll on). */
  readonly dir: string;
  /** The path of a new database file in `dir`: `<name>-<n>.db`, or `<file>.db` when named. */
  file(name?: string): string;
  /** Opens a pool on a new database file; it is closed when the scope that opened it ends. */
  open(options?: PoolOptions): Promise<Pool>;
  /** Opens a pool on `path`; it is closed when the scope that opened it ends. */
  openAt(path: string, options?: PoolOptions): Promise<Pool>;
  /** Opens a pool on a new database file and runs `schema` on it (default: the table t). */
  fresh(options?: PoolOptions, schema?: string): Promise<Pool>;
}

/**
 * Registers this file's temporary databases under the name `name` (directory
 * `litepool-<name>-XXXXXX`). Call it once, at the top of the file, before any other hook.
 *
 * @example
 * const pools = tempPools('leases');
 * it('reads', async () => {
 *   const db = await pools.fresh({ readers: 2 }); // closed after this test
 *   expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
 * });
 */
export function tempPools(name: string): TempPools {
  let dir: string | undefined;
  let counter = 0;
  let inTest = false;
  const forTest: Pool[] = [];
  const forFile: Pool[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `litepool-${name}-`));
  });
  beforeEach(() => {
    inTest = true;
  });
  afterEach(async () => {
    inTest = false;
    await Promise.all(forTest.splice(0).map((pool) => pool.close()));
  });
  afterAll(async () => {
    await Promise.all(forFile.splice(0).map((pool) => pool.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const directory = (): string => {
    if (dir === undefined) throw new Error(`tempPools('${name}'): the directory exists from beforeAll on`);
    return dir;
  };
  const file = (fileName?: string): string => join(directory(), fileName === undefined ? `${name}-${++counter}.db` : `${fileName}.db`);
  const openAt = async (path: string, options?: PoolOptions): Promise<Pool> => {
    const pool = await open(path, options);
    (inTest ? forTest : forFile).push(pool);
    return pool;
  };
  return {
    get dir() {
      return directory();
    },
    file,
    open: (options) => openAt(file(), options),
    openAt,
    async fresh(options, schema = TABLE_T) {
      const pool = await openAt(file(), options);
      await pool.exec(schema);
      return pool;
    },
  };
}

/** A transaction holding the writer; see holdWriter. */
export interface HeldWriter {
  /** Lets the transaction commit. */
  release(): void;
  /** Settles with the transaction. */
  readonly done: Promise<void>;
}

/**
 * Starts a transaction on `db` that inserts `v` into t (nothing without `v`) and then holds the
 * writer until release(); resolves once the row is inserted (the writer is held from then on).
 *
 * @example
 * const held = await holdWriter(db, 'first');
 * const outside = db.run("INSERT INTO t (v) VALUES ('outside')"); // waits for the writer
 * held.release();
 * await Promise.all([held.done, outside]);
 */
export async function holdWriter(db: Pool, v?: string): Promise<HeldWriter> {
  const begun = latch();
  const gate = latch();
  const done = db.transaction(async (tx) => {
    if (v !== undefined) await tx.run('INSERT INTO t (v) VALUES (?)', [v]);
    begun.open();
    await gate.promise;
  });
  // A failure before the row was inserted would leave `begun` closed: surface it instead.
  await Promise.race([begun.promise, done]);
  return { release: gate.open, done };
}
