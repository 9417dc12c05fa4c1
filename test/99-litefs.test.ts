// Covers replication: 'litefs' against LiteFS's documented file layout, reproduced in a temporary
// directory (LiteFS itself is a FUSE file system and does not run here): the mount's `.primary`
// file (present on a replica, holding the primary's hostname and a newline; absent on the
// primary) and the database's `-pos` file ("<txid: 16 hex>/<checksum: 16 hex>\n").
// - on the primary every write path works; on a replica run, exec, batch, insertMany,
//   transaction, write leases and write queues are refused with ReadOnlyReplicaError naming the
//   primary, before anything reaches SQLite (operations started stay the same), while reads go on;
// - the verdict follows the file: refresh(), the background refresh, and a write refused only
//   after a fresh look; a node that becomes primary takes writes again;
// - an I/O or read-only error from SQLite on a node whose `.primary` appeared is reported as
//   ReadOnlyReplicaError (through the pool, and by the translation itself);
// - position() and waitForPosition(): hex, number and bigint TXIDs, waiting for a later position,
//   timeouts (ReplicaTimeoutError), a torn or missing file, abort, bad arguments.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  LitepoolError,
  ReadOnlyReplicaError,
  ReplicaTimeoutError,
  SqliteError,
  open,
  type Pool,
} from '../lib/index.ts';
import { LiteFsReplica, parsePosition, toTxid } from '../lib/replication/litefs.ts';

const PRIMARY = 'primary-1.app.internal';
let root: string;
let mount: string;
let database: string;
let counter = 0;
let db: Pool;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'litepool-litefs-'));
});

beforeEach(async () => {
  mount = join(root, `mount-${++counter}`);
  mkdirSync(mount);
  database = join(mount, 'app.db');
  db = await open(database, { replication: 'litefs', readers: 2 });
  await db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
});

afterEach(async () => {
  await db.close();
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const becomeReplica = (primary = PRIMARY) => writeFileSync(join(mount, '.primary'), `${primary}\n`);
const becomePrimary = () => rmSync(join(mount, '.primary'), { force: true });
const writePosition = (text: string) => writeFileSync(`${database}-pos`, text);
const count = async () => ((await db.get<{ n: number }>('SELECT count(*) AS n FROM t'))!).n;

/** Asserts that `attempt` fails with ReadOnlyReplicaError naming the primary. */
async function refused(attempt: () => Promise<unknown>): Promise<void> {
  const error = await attempt().then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ReadOnlyReplicaError);
  expect(error).toBeInstanceOf(LitepoolError);
  expect((error as ReadOnlyReplicaError).code).toBe('LITEPOOL_READONLY_REPLICA');
  expect((error as ReadOnlyReplicaError).primary).toBe(PRIMARY);
  expect((error as Error).message).toContain(PRIMARY);
}

describe('primary detection', () => {
  it('is the primary when the mount has no .primary file: every write path works', async () => {
    expect(db.replica.isPrimary).toBe(true);
    expect(db.replica.primary).toBeUndefined();
    await db.run('INSERT INTO t (v) VALUES (?)', ['run']);
    await db.exec("INSERT INTO t (v) VALUES ('exec')");
    await db.batch([{ sql: 'INSERT INTO t (v) VALUES (?)', params: ['batch'] }]);
    await db.insertMany('t', [{ v: 'many' }]);
    await db.transaction(async (tx) => void (await tx.run('INSERT INTO t (v) VALUES (?)', ['tx'])));
    const lease = await db.acquire({ write: true });
    await lease.run('INSERT INTO t (v) VALUES (?)', ['lease']);
    await lease.release();
    const queue = db.writeQueue();
    await queue.enqueue('INSERT INTO t (v) VALUES (?)', ['queue']);
    await queue.shutdown();
    expect(await count()).toBe(7);
  });

  it('refuses every write path on a replica up front, naming the primary; reads go on', async () => {
    await db.run('INSERT INTO t (v) VALUES (?)', ['before']);
    becomeReplica();
    expect(await db.replica.refresh()).toBe(false);
    expect(db.replica.isPrimary).toBe(false);
    expect(db.replica.primary).toBe(PRIMARY);

    const started = db.stats().operations.started;
    const queueErrors: unknown[] = [];
    const queue = db.writeQueue({ onError: (error) => queueErrors.push(error) });
    let ranTransaction = false;
    await refused(() => db.run('INSERT INTO t (v) VALUES (?)', ['run']));
    await refused(() => db.exec("INSERT INTO t (v) VALUES ('exec')"));
    await refused(() => db.batch([{ sql: 'INSERT INTO t (v) VALUES (?)', params: ['batch'] }]));
    await refused(() => db.insertMany('t', [{ v: 'many' }]));
    await refused(() => db.transaction(() => void (ranTransaction = true)));
    await refused(() => db.acquire({ write: true }));
    await refused(() => queue.enqueue('INSERT INTO t (v) VALUES (?)', ['enqueue']));
    expect(queue.push('INSERT INTO t (v) VALUES (?)', ['push'])).toBe(true);
    await queue.shutdown();
    expect(queueErrors).toHaveLength(1);
    await refused(() => Promise.reject(queueErrors[0]));
    expect(ranTransaction).toBe(false);
    // Nothing reached the native threads.
    expect(db.stats().operations.started).toBe(started);

    expect(await count()).toBe(1);
    expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'before' }]);
    expect(await db.read(async (conn) => (await conn.get<{ v: string }>('SELECT v FROM t'))!.v)).toBe('before');
    const reader = await db.acquire();
    expect(await reader.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
    await reader.release();
    const rows: unknown[] = [];
    for await (const row of db.iterate('SELECT v FROM t')) rows.push(row);
    expect(rows).toEqual([{ v: 'before' }]);
  });

  it('finds the mount beside the database file when the pool opens it through a symbolic link', async () => {
    const elsewhere = join(root, `links-${counter}`);
    mkdirSync(elsewhere);
    const link = join(elsewhere, 'app.db');
    symlinkSync(database, link);
    becomeReplica();
    writePosition('0000000000000010/ce552e44f23fbbdd\n');
    const linked = await open(link, { replication: 'litefs', readers: 1 });
    try {
      expect(linked.replica.isPrimary).toBe(false);
      expect(linked.replica.primary).toBe(PRIMARY);
      expect(await linked.replica.position()).toEqual({ txid: 16n, checksum: 'ce552e44f23fbbdd' });
      await expect(linked.run('INSERT INTO t (v) VALUES (?)', ['through the link'])).rejects.toBeInstanceOf(ReadOnlyReplicaError);
    } finally {
      await linked.close();
    }
  });

  it('follows the file: the background refresh sees a new primary, and a node that became primary writes again', async () => {
    becomeReplica();
    // No refresh() call: the pool looks again by itself about once a second.
    const deadline = Date.now() + 5000;
    while (db.replica.isPrimary && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(db.replica.isPrimary).toBe(false);
    await refused(() => db.run('INSERT INTO t (v) VALUES (?)', ['refused']));

    becomePrimary();
    // A replica verdict older than 100 ms is read again before a write is refused.
    await new Promise((resolve) => setTimeout(resolve, 150));
    await db.run('INSERT INTO t (v) VALUES (?)', ['accepted']);
    expect(db.replica.isPrimary).toBe(true);
    expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'accepted' }]);
  });

  it('reports the I/O error of a write that reached SQLite on a node that just became a replica as ReadOnlyReplicaError', () => {
    const replica = new LiteFsReplica(database);
    try {
      const ioError = new SqliteError(10 | (4 << 8), 'disk I/O error');
      const constraint = new SqliteError(2067, 'UNIQUE constraint failed: t.id');
      expect(replica.translate(ioError)).toBe(ioError); // still the primary: a real I/O error
      becomeReplica();
      const translated = replica.translate(ioError);
      expect(translated).toBeInstanceOf(ReadOnlyReplicaError);
      expect((translated as ReadOnlyReplicaError).primary).toBe(PRIMARY);
      expect((translated as Error).cause).toBe(ioError);
      expect(replica.translate(new SqliteError(8, 'attempt to write a readonly database'))).toBeInstanceOf(ReadOnlyReplicaError);
      expect(replica.translate(constraint)).toBe(constraint);
      const other = new Error('not from SQLite');
      expect(replica.translate(other)).toBe(other);
    } finally {
      replica.stop();
    }
  });

  it('reports a write that reached SQLite just as the node became a replica as ReadOnlyReplicaError', async () => {
    // The writer refuses writes the way SQLite does on a read-only database.
    await db.exec('PRAGMA query_only = ON');
    becomeReplica();
    expect(db.replica.isPrimary).toBe(true); // not seen yet: the write goes through to SQLite
    const error = await db.run('INSERT INTO t (v) VALUES (?)', ['late']).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(ReadOnlyReplicaError);
    expect((error as ReadOnlyReplicaError).primary).toBe(PRIMARY);
    expect((error as Error).cause).toBeInstanceOf(SqliteError);
    expect(((error as Error).cause as SqliteError).primaryCode).toBe('SQLITE_READONLY');
    expect(db.replica.isPrimary).toBe(false);
    becomePrimary();
  });

  it('offers db.replica only under replication: litefs', async () => {
    const plain = await open(join(mount, 'plain.db'), { readers: 1 });
    try {
      expect(() => plain.replica).toThrow(TypeError);
      expect(() => plain.replica).toThrow(/only available with replication: 'litefs'/);
    } finally {
      await plain.close();
    }
  });
});

describe('replication position', () => {
  it("parses LiteFS's -pos format", () => {
    expect(parsePosition('00000000002df417/ce552e44f23fbbdd\n')).toEqual({ txid: 0x2df417n, checksum: 'ce552e44f23fbbdd' });
    expect(parsePosition('ffffffffffffffff/0000000000000000')).toEqual({ txid: 2n ** 64n - 1n, checksum: '0000000000000000' });
    for (const torn of ['', '00000000002df4', '00000000002df417/', '00000000002df417/ce55', 'not a position\n', '00000000002df417-ce552e44f23fbbdd\n']) {
      expect(parsePosition(torn)).toBeUndefined();
    }
  });

  it('reads the position, and resolves waitForPosition at or past a TXID given as hex, number or bigint', async () => {
    expect(await db.replica.position()).toBeUndefined();
    writePosition('0000000000000010/ce552e44f23fbbdd\n');
    const at = { txid: 16n, checksum: 'ce552e44f23fbbdd' };
    expect(await db.replica.position()).toEqual(at);
    expect(await db.replica.waitForPosition(16)).toEqual(at);
    expect(await db.replica.waitForPosition('10')).toEqual(at);
    expect(await db.replica.waitForPosition('0000000000000009')).toEqual(at);
    expect(await db.replica.waitForPosition(3n, 0)).toEqual(at);
  });

  it('waits for a later position', async () => {
    writePosition('0000000000000010/ce552e44f23fbbdd\n');
    const waiting = db.replica.waitForPosition(0x20, 10_000);
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false);
    writePosition('0000000000000018/1111111111111111\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false);
    writePosition('0000000000000021/83b05248774ce767\n');
    expect(await waiting).toEqual({ txid: 0x21n, checksum: '83b05248774ce767' });
  });

  it('times out with ReplicaTimeoutError, saying where the replica is', async () => {
    writePosition('0000000000000010/ce552e44f23fbbdd\n');
    const error = await db.replica.waitForPosition(0x11, 150).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(ReplicaTimeoutError);
    expect(error).toMatchObject({ code: 'LITEPOOL_REPLICA_TIMEOUT', timeout: 150, txid: 17n, reached: 16n });
    expect((error as Error).message).toMatch(/did not reach TXID 17 within 150 ms \(it is at TXID 16\)/);

    rmSync(`${database}-pos`);
    const missing = await db.replica.waitForPosition(1, 100).catch((reason: unknown) => reason);
    expect(missing).toMatchObject({ code: 'LITEPOOL_REPLICA_TIMEOUT', reached: undefined });
    expect((missing as Error).message).toContain('app.db-pos is missing or unreadable');

    writePosition('00000000000000'); // torn: not a position yet
    expect(await db.replica.position()).toBeUndefined();
    await expect(db.replica.waitForPosition(1, 100)).rejects.toBeInstanceOf(ReplicaTimeoutError);
  });

  it('stops waiting when aborted', async () => {
    writePosition('0000000000000001/ce552e44f23fbbdd\n');
    const controller = new AbortController();
    const waiting = db.replica.waitForPosition(5, 10_000, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('client went away')), 50);
    await expect(waiting).rejects.toThrow('client went away');
    const aborted = AbortSignal.abort(new Error('already'));
    await expect(db.replica.waitForPosition(5, 10_000, { signal: aborted })).rejects.toThrow('already');
  });

  it('rejects bad arguments with typed errors', async () => {
    for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, 'xyz', '', '1'.repeat(17), -1n, 2n ** 64n]) {
      await expect(db.replica.waitForPosition(bad as never)).rejects.toMatchObject({ code: 'LITEPOOL_OUT_OF_RANGE' });
    }
    await expect(db.replica.waitForPosition({} as never)).rejects.toBeInstanceOf(TypeError);
    await expect(db.replica.waitForPosition(1, -5)).rejects.toBeInstanceOf(RangeError);
    await expect(db.replica.waitForPosition(1, 10, { signal: 'no' } as never)).rejects.toBeInstanceOf(TypeError);
    await expect(db.replica.waitForPosition(1, 10, { other: 1 } as never)).rejects.toBeInstanceOf(TypeError);
    expect(toTxid('00000000002DF417')).toBe(0x2df417n);
  });
});
