// Covers the pool under injected I/O faults, through the fault-injection VFS of the test build of
// the addon (scripts/build-fault-addon.sh; loaded through LITEPOOL_TEST_FAULT_ADDON, selected per
// pool with the test-only option faultInjection). One case per fault class: xWrite failing with
// SQLITE_IOERR_WRITE and SQLITE_FULL (on the WAL, on the database file during a checkpoint, inside
// a transaction, a batch, insertMany and a group commit of queued writes), xSync with
// SQLITE_IOERR_FSYNC, xRead with SQLITE_IOERR_READ and short reads, xTruncate with
// SQLITE_IOERR_TRUNCATE, xShmLock and xLock with SQLITE_IOERR_LOCK. For each: the operation that
// meets the fault rejects with a SqliteError carrying the extended code; every write acknowledged
// before (or beside) the fault is still there afterwards, seen from a reader and from the writer;
// once the fault is cleared the pool serves reads and writes again (replacing connections where
// it must); PRAGMA integrity_check says ok; and a fresh pool on the file, without the fault VFS,
// finds the same rows. Skipped, with a message, when the fault-injection build is missing.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const addon = fileURLToPath(new URL('../build-fault/build/Release/litepool.node', import.meta.url));
const built = existsSync(addon);
if (built) process.env.LITEPOOL_TEST_FAULT_ADDON = addon;
else console.warn(`skipping the fault-injection tests: ${addon} is missing (run scripts/build-fault-addon.sh)`);

// Imported after the variable is set (the addon is loaded on first use, not at import).
const { open, SqliteError } = await import('../lib/index.ts');
const { binding } = await import('../lib/native/binding.ts');
type Pool = Awaited<ReturnType<typeof open>>;
type FaultPlan = Parameters<NonNullable<ReturnType<typeof binding>['faultVfs']>['arm']>[0];

const SQLITE = {
  FULL: 13,
  IOERR_READ: 266,
  IOERR_SHORT_READ: 522,
  IOERR_WRITE: 778,
  IOERR_FSYNC: 1034,
  IOERR_TRUNCATE: 1546,
  IOERR_LOCK: 3850,
} as const;
/** The errno each code the cases accept stands for. */
const ERRNO: Record<string, number> = {
  SQLITE_CORRUPT: 11,
  ...Object.fromEntries(Object.entries(SQLITE).map(([name, errno]) => [`SQLITE_${name}`, errno])),
};

let dir: string;
let counter = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'litepool-faults-'));
});

afterAll(() => {
  if (built) binding().faultVfs!.clear();
  rmSync(dir, { recursive: true, force: true });
});

function faultVfs() {
  return binding().faultVfs!;
}

/** What a case's trigger reports: the errors it met and the ids it saw acknowledged. */
interface Outcome {
  errors: unknown[];
  acked: number[];
  /** Ids of operations that failed as a whole: none of them may be in the table. */
  absent?: number[];
}

interface FaultCase {
  name: string;
  plan: FaultPlan;
  /** Extended codes the operation meeting the fault may reject with (the first is SQLite's usual answer). */
  codes: string[];
  options?: Record<string, unknown>;
  /** Runs the operations that meet the fault; `next` hands out fresh ids. */
  trigger: (db: Pool, file: string, next: () => number) => Promise<Outcome>;
}

const INSERT = 'INSERT INTO t (id, v) VALUES (?, ?)';
const pad = (id: number) => `value ${id} `.padEnd(120, '.');

/** Runs `operation`; an acknowledged id on success, the error otherwise. */
async function attempt(operation: () => Promise<unknown>, ids: number[], outcome: Outcome): Promise<void> {
  try {
    await operation();
    outcome.acked.push(...ids);
  } catch (error) {
    outcome.errors.push(error);
  }
}

const cases: FaultCase[] = [
  {
    name: 'xWrite on the WAL fails with SQLITE_IOERR_WRITE: run()',
    plan: { call: 'write', code: SQLITE.IOERR_WRITE, files: ['wal'], sticky: true },
    codes: ['SQLITE_IOERR_WRITE'],
    trigger: async (db, _file, next) => {
      const outcome: Outcome = { errors: [], acked: [] };
      const id = next();
      await attempt(() => db.run(INSERT, [id, pad(id)]), [id], outcome);
      return outcome;
    },
  },
  {
    name: 'xWrite on the WAL fails with SQLITE_FULL: run()',
    plan: { call: 'write', code: SQLITE.FULL, files: ['wal'], sticky: true },
    codes: ['SQLITE_FULL'],
    trigger: async (db, _file, next) => {
      const outcome: Outcome = { errors: [], acked: [] };
      const id = next();
      await attempt(() => db.run(INSERT, [id, pad(id)]), [id], outcome);
      return outcome;
    },
  },
  {
    name: 'xWrite on the database file fails with SQLITE_FULL during a checkpoint',
    plan: { call: 'write', code: SQLITE.FULL, files: ['main'], sticky: true },
    codes: ['SQLITE_FULL'],
    trigger: async (db, _file, next) => {
      const outcome: Outcome = { errors: [], acked: [] };
      // Frames for the checkpoint to copy (the WAL writes go through).
      const ids = Array.from({ length: 200 }, next);
      await attempt(() => db.insertMany('t', ids.map((id) => ({ id, v: pad(id) }))), ids, outcome);
      await attempt(() => db.exec('PRAGMA wal_checkpoint(TRUNCATE)'), [], outcome);
      return outcome;
    },
  },
  {
    name: 'the 3rd xWrite of a transaction fails with SQLITE_FULL: the transaction rolls back whole',
    plan: { call: 'write', code: SQLITE.FULL, nth: 3, sticky: true },
    codes: ['SQLITE_FULL'],
    trigger: async (db, _file, next) => {
      const outcome: Outcome = { errors: [], acked: [] };
      const ids = Array.from({ length: 300 }, next);
      await attempt(
        () =>
          db.transaction(async (tx) => {
            for (const id of ids) await tx.run(INSERT, [id, pad(id)]);
          }),
        ids,
        outcome,
      );
      if (outcome.errors.length > 0) outcome.absent = ids;
      return outcome;
    },
  },
  {
    name: 'xWrite fails with SQLITE_IOERR_WRITE under a batch and an insertMany',
    plan: { call: 'write', code: SQLITE.IOERR_WRITE, sticky: true },
    codes: ['SQLITE_IOERR_WRITE'],
    trigger: async (db, _file, next) => {
      const outcome: Outcome = { errors: [], acked: [] };
      const batchIds = Array.from({ length: 20 }, next);
      await attempt(() => db.batch(batchIds.map((id) => ({ sql: INSERT, params: [id, pad(id)] }))), batchIds, outcome);
      const manyIds = Array.from({ length: 500 }, next);
      await attempt(() => db.insertMany('t', manyIds.map((id) => ({ id, v: pad(id) }))), manyIds, outcome);
      return outcome;
    },
  },
  {
    name: 'the 10th xWrite fails with SQLITE_IOERR_WRITE under 200 queued writes (group commit)',
    plan: { call: 'write', code: SQLITE.IOERR_WRITE, nth: 10 },
    codes: ['SQLITE_IOERR_WRITE'],
    trigger: async (db, _file, next) => {
      const outcome: Outcome = { errors: [], acked: [] };
      const queue = db.writeQueue({ capacity: 200 });
      const ids = Array.from({ length: 200 }, next);
      await Promise.all(ids.map((id) => attempt(() => queue.enqueue(INSERT, [id, pad(id)]), [id], outcome)));
      await queue.shutdown();
      return outcome;
    },
  },
  {
    name: 'xSync fails with SQLITE_IOERR_FSYNC at commit (synchronous: full)',
    plan: { call: 'sync', code: SQLITE.IOERR_FSYNC, sticky: true },
    codes: ['SQLITE_IOERR_FSYNC'],
    options: { synchronous: 'full' },
    trigger: async (db, _file, next) => {
      const outcome: Outcome = { errors: [], acked: [] };
      const id = next();
      await attempt(() => db.run(INSERT, [id, pad(id)]), [id], outcome);
      return outcome;
    },
  },
  {
    name: 'xRead fails with SQLITE_IOERR_READ: a scan on a reader with a cold cache',
    plan: { call: 'read', code: SQLITE.IOERR_READ, sticky: true },
    codes: ['SQLITE_IOERR_READ'],
    trigger: async (db) => {
      const outcome: Outcome = { errors: [], acked: [] };
      await attempt(() => db.all('SELECT sum(length(v)) AS n FROM t'), [], outcome);
      return outcome;
    },
  },
  {
    name: 'xRead returns a short read: a scan on a reader with a cold cache',
    plan: { call: 'read', shortRead: true, sticky: true },
    codes: ['SQLITE_IOERR_SHORT_READ', 'SQLITE_CORRUPT'],
    trigger: async (db) => {
      const outcome: Outcome = { errors: [], acked: [] };
      await attempt(() => db.all('SELECT sum(length(v)) AS n FROM t'), [], outcome);
      return outcome;
    },
  },
  {
    name: 'xTruncate fails with SQLITE_IOERR_TRUNCATE: wal_checkpoint(TRUNCATE)',
    plan: { call: 'truncate', code: SQLITE.IOERR_TRUNCATE, sticky: true },
    codes: ['SQLITE_IOERR_TRUNCATE'],
    trigger: async (db) => {
      const outcome: Outcome = { errors: [], acked: [] };
      await attempt(() => db.exec('PRAGMA wal_checkpoint(TRUNCATE)'), [], outcome);
      return outcome;
    },
  },
  {
    name: 'xShmLock fails with SQLITE_IOERR_LOCK: run()',
    plan: { call: 'shmLock', code: SQLITE.IOERR_LOCK, sticky: true },
    codes: ['SQLITE_IOERR_LOCK'],
    trigger: async (db, _file, next) => {
      const outcome: Outcome = { errors: [], acked: [] };
      const id = next();
      await attempt(() => db.run(INSERT, [id, pad(id)]), [id], outcome);
      return outcome;
    },
  },
  {
    name: 'xLock fails with SQLITE_IOERR_LOCK: opening a second pool on the file',
    plan: { call: 'lock', code: SQLITE.IOERR_LOCK, sticky: true },
    codes: ['SQLITE_IOERR_LOCK'],
    trigger: async (_db, file) => {
      const outcome: Outcome = { errors: [], acked: [] };
      await attempt(async () => {
        const other = await open(file, { readers: 1, faultInjection: true } as never);
        await other.close();
      }, [], outcome);
      return outcome;
    },
  },
];

/** Retries a read on every path and a write until both work (connections being replaced). */
async function waitUntilServing(db: Pool, next: () => number, acked: number[]): Promise<number> {
  const started = Date.now();
  for (;;) {
    const id = next();
    try {
      await db.run(INSERT, [id, pad(id)]);
      acked.push(id);
      await db.get('SELECT count(*) AS n FROM t');
      return Date.now() - started;
    } catch (error) {
      if (Date.now() - started > 20_000) throw new Error('the pool did not serve again within 20 s of the fault clearing', { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function expectRows(db: Pool, acked: number[], where: string): Promise<void> {
  const expected = [...acked].sort((a, b) => a - b);
  // From the readers (a plain query) and from the writer (inside a transaction).
  const fromReader = (await db.all<{ id: number; v: string }>('SELECT id, v FROM t ORDER BY id')).filter((row) => expected.includes(row.id));
  expect(fromReader.map((row) => row.id), `${where}: acknowledged rows seen by a reader`).toEqual(expected);
  for (const row of fromReader) expect(row.v, where).toBe(pad(row.id));
  const fromWriter = await db.transaction(async (tx) => (await tx.all<{ id: number }>('SELECT id FROM t ORDER BY id')).map((row) => row.id));
  expect(fromWriter.filter((id) => expected.includes(id)), `${where}: acknowledged rows seen by the writer`).toEqual(expected);
  expect(await db.all('PRAGMA integrity_check'), where).toEqual([{ integrity_check: 'ok' }]);
}

/** None of `ids` is in the table, seen from a reader and from the writer. */
async function expectAbsent(db: Pool, ids: number[], where: string): Promise<void> {
  const fromReader = (await db.all<{ id: number }>('SELECT id FROM t')).map((row) => row.id);
  expect(fromReader.filter((id) => ids.includes(id)), `${where}: rows of a failed transaction seen by a reader`).toEqual([]);
  const fromWriter = await db.transaction(async (tx) => (await tx.all<{ id: number }>('SELECT id FROM t')).map((row) => row.id));
  expect(fromWriter.filter((id) => ids.includes(id)), `${where}: rows of a failed transaction seen by the writer`).toEqual([]);
}

describe.skipIf(!built)('injected I/O faults', () => {
  for (const fault of cases) {
    it(fault.name, async () => {
      const vfs = faultVfs();
      vfs.clear();
      const file = join(dir, `fault-${++counter}.db`);
      let id = 0;
      const next = () => ++id;
      const acked: number[] = [];
      const absent: number[] = [];
      // A small page cache, so that scans read from the files (where read faults are).
      const db = await open(file, { readers: 2, cacheSize: 64, faultInjection: true, ...fault.options } as never);
      try {
        await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
        // Acknowledged before the fault: single writes, a bulk insert, queued writes.
        for (let i = 0; i < 20; i++) {
          const row = next();
          await db.run(INSERT, [row, pad(row)]);
          acked.push(row);
        }
        const bulk = Array.from({ length: 2000 }, next);
        await db.insertMany('t', bulk.map((row) => ({ id: row, v: pad(row) })));
        acked.push(...bulk);
        const queued = Array.from({ length: 50 }, next);
        const queue = db.writeQueue();
        await Promise.all(queued.map((row) => queue.enqueue(INSERT, [row, pad(row)])));
        acked.push(...queued);
        // Fresh readers: nothing of the table in their caches.
        await db.close();
        const faulty = await open(file, { readers: 2, cacheSize: 64, faultInjection: true, ...fault.options } as never);
        try {
          const firedBefore = vfs.stats().faults;
          vfs.arm(fault.plan);
          const outcome = await fault.trigger(faulty, file, next);
          vfs.clear();
          expect(vfs.stats().faults - firedBefore, 'the fault fired').toBeGreaterThan(0);
          expect(outcome.errors.length, 'an operation met the fault').toBeGreaterThan(0);
          const [first] = outcome.errors;
          expect(first).toBeInstanceOf(SqliteError);
          const error = first as InstanceType<typeof SqliteError>;
          expect(fault.codes, `${error.code}: ${error.message}`).toContain(error.code);
          expect(error.errno).toBe(ERRNO[error.code]);
          for (const other of outcome.errors) expect(other).toBeInstanceOf(SqliteError);
          acked.push(...outcome.acked);

          absent.push(...(outcome.absent ?? []));

          const recoveredMs = await waitUntilServing(faulty, next, acked);
          await expectRows(faulty, acked, 'after the fault cleared');
          await expectAbsent(faulty, absent, 'after the fault cleared');
          const { replaced } = faulty.stats().connections;
          console.info(`${fault.name}: ${error.code} (${outcome.errors.length} failed, ${outcome.acked.length} acknowledged beside the fault); serving again after ${recoveredMs} ms; connections replaced: ${replaced}`);
        } finally {
          await faulty.close();
        }
      } finally {
        vfs.clear();
        if (!db.closed) await db.close();
      }
      // A fresh pool on the default VFS finds the same rows.
      const again = await open(file, { readers: 1 });
      try {
        const present = new Set((await again.all<{ id: number }>('SELECT id FROM t')).map((row) => row.id));
        expect(acked.filter((row) => !present.has(row)), 'acknowledged rows missing after reopening').toEqual([]);
        expect(absent.filter((row) => present.has(row)), 'rows of a failed transaction present after reopening').toEqual([]);
        expect(await again.all('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      } finally {
        await again.close();
      }
    }, 60_000);
  }
});
