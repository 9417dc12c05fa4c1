// Covers close() while the connection keeper waits to replace a connection that a lease holds:
// an I/O fault inside a reader lease or a writer lease makes the keeper schedule a replacement,
// which waits for the lease to let the connection go; the lease is never released by its owner,
// and close() must still finish (it releases held leases itself) instead of waiting forever on a
// keeper that waits on the lease. Runs against the fault-injection build of the addon
// (scripts/build-fault-addon.sh), like test 44; skipped with a message without it.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const addon = fileURLToPath(new URL('../build-fault/build/Release/litepool.node', import.meta.url));
const built = existsSync(addon);
if (built) process.env.LITEPOOL_TEST_FAULT_ADDON = addon;
else console.warn(`skipping the close-during-replacement tests: ${addon} is missing (run scripts/build-fault-addon.sh)`);

// Imported after the variable is set (the addon is loaded on first use, not at import).
const { open, SqliteError } = await import('../lib/index.ts');
const { binding } = await import('../lib/native/binding.ts');

const IOERR_READ = 266;
const IOERR_WRITE = 778;
const CLOSE_BOUND_MS = 10_000;

let dir: string;
let counter = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'litepool-close-replacing-'));
});

afterAll(() => {
  if (built) binding().faultVfs!.clear();
  rmSync(dir, { recursive: true, force: true });
});

/** A file with enough rows that a scan on a cold 64-page cache reads from the file. */
async function seededFile(): Promise<string> {
  const file = join(dir, `close-${++counter}.db`);
  const db = await open(file, { readers: 1 });
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  await db.insertMany('t', Array.from({ length: 3000 }, (_, i) => ({ id: i + 1, v: 'v'.repeat(100) })));
  await db.close();
  return file;
}

/** 'closed' when `closing` settles within the bound, 'still waiting' otherwise. */
async function settlesInTime(closing: Promise<unknown>): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('still waiting'), CLOSE_BOUND_MS);
  });
  try {
    return await Promise.race([closing.then(() => 'closed'), bound]);
  } finally {
    clearTimeout(timer);
  }
}

type Pool = Awaited<ReturnType<typeof open>>;
type Lease = Awaited<ReturnType<Pool['acquire']>>;
type FaultPlan = Parameters<NonNullable<ReturnType<typeof binding>['faultVfs']>['arm']>[0];

/**
 * Runs `operation` on `lease` with `plan` armed, expects it to fail with `code`, then closes the
 * pool without releasing the lease: close() must finish within the bound, and the owner's late
 * release must find the lease already given back.
 */
async function closeAfterFaultInLease(db: Pool, lease: Lease, plan: FaultPlan, operation: () => Promise<unknown>, code: string): Promise<void> {
  const vfs = binding().faultVfs!;
  vfs.arm(plan);
  const failed = await operation().then(
    () => undefined,
    (error: unknown) => error,
  );
  vfs.clear();
  expect(failed).toBeInstanceOf(SqliteError);
  expect((failed as InstanceType<typeof SqliteError>).code).toBe(code);
  expect(await settlesInTime(db.close())).toBe('closed');
  expect(db.closed).toBe(true);
  await expect(lease.release()).resolves.toBeUndefined();
}

describe.skipIf(!built)('close() while a held connection waits for its replacement', () => {
  it('a reader lease whose read met an I/O fault, never released: close() finishes', async () => {
    binding().faultVfs!.clear();
    const db = await open(await seededFile(), { readers: 1, cacheSize: 64, faultInjection: true } as never);
    const lease = await db.acquire();
    const scan = () => lease.all('SELECT sum(length(v)) AS n FROM t');
    await closeAfterFaultInLease(db, lease, { call: 'read', code: IOERR_READ, sticky: true }, scan, 'SQLITE_IOERR_READ');
  }, 30_000);

  it('a writer lease whose write met an I/O fault, never released: close() finishes', async () => {
    binding().faultVfs!.clear();
    const db = await open(await seededFile(), { readers: 1, faultInjection: true } as never);
    const lease = await db.acquire({ write: true });
    const insert = () => lease.run('INSERT INTO t (v) VALUES (?)', ['x']);
    await closeAfterFaultInLease(db, lease, { call: 'write', code: IOERR_WRITE, files: ['wal'], sticky: true }, insert, 'SQLITE_IOERR_WRITE');
  }, 30_000);
});
