// Covers edges of the public API: stats() of a closed pool (the final counters, never a crash); a
// nested transaction the caller did not wait for ends with its parent when that rolls back (its
// later statements are refused, none lands in a later transaction); batch() refuses holes and unreadable arrays
// instead of shifting results; acquire(), read() and transaction() refuse an aborted signal at
// once even when a connection is free; exec() refuses SQL with a placeholder (it would bind NULL);
// a caller's BEGIN / COMMIT / END / ROLLBACK inside db.transaction() is refused (all or nothing).
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { LitepoolError, ScopeEndedError, open } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';

const pools = tempPools('api-boundaries');
const invalid = expect.objectContaining({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' });

describe('stats() of a closed pool', () => {
  it('reports the final counters, for a file, with no readers and in memory', async () => {
    for (const start of [() => pools.open({ readers: 2 }), () => pools.open({ readers: 0 }), () => open(':memory:')]) {
      const db = await start();
      await db.get('SELECT 1');
      await db.run('CREATE TABLE IF NOT EXISTS x (v)');
      await db.close();
      const stats = db.stats();
      expect(stats.readers).toMatchObject({ busy: 0, pinned: 0 });
      expect(stats.writer.busy).toBe(false);
      expect(stats.operations.completed).toBeGreaterThanOrEqual(2);
      // Again, later: the same answer, no native state behind it.
      await sleep(20);
      expect(db.stats().operations).toEqual(stats.operations);
    }
  });
});

describe('a nested transaction the caller did not wait for', () => {
  it('ends with its parent: its later statements are refused and none lands in the next transaction', async () => {
    const db = await pools.fresh({ readers: 1 });
    let strayWrite: Promise<unknown> | undefined;
    let nested: Promise<unknown> | undefined;
    let release!: () => void;
    const wait = new Promise<void>((resolve) => (release = resolve));
    const failure = new Error('the parent fails');
    const parent = db.transaction(async (tx) => {
      await tx.run("INSERT INTO t (v) VALUES ('outer')");
      nested = tx.transaction(async (n) => {
        await wait;
        strayWrite = n.run("INSERT INTO t (v) VALUES ('stray')");
        await strayWrite;
      });
      nested.catch(() => undefined);
      // The callback throws without awaiting `nested`: the transaction rolls back now.
      throw failure;
    });
    await expect(parent).rejects.toBe(failure);
    // A second transaction holds the writer while the stray nested one wakes up.
    const second = db.transaction(async (tx) => {
      release();
      await sleep(50);
      return tx.all<{ v: string }>('SELECT v FROM t ORDER BY id');
    });
    expect((await second).map((r) => r.v)).toEqual([]);
    await expect(nested).rejects.toBeInstanceOf(ScopeEndedError);
    if (strayWrite) await expect(strayWrite).rejects.toBeInstanceOf(ScopeEndedError);
    expect((await db.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((r) => r.v)).toEqual([]);
  });

  it('one that has not begun yet when its parent ends never begins', async () => {
    const db = await pools.fresh({ readers: 1 });
    let second: Promise<unknown> | undefined;
    const failure = new Error('the parent fails');
    await expect(
      db.transaction(async (tx) => {
        // Nested transactions of one transaction run one after another: the second waits for the first.
        const first = tx.transaction(() => sleep(30));
        second = tx.transaction((n) => n.run("INSERT INTO t (v) VALUES ('never')"));
        second.catch(() => undefined);
        first.catch(() => undefined);
        throw failure;
      }),
    ).rejects.toBe(failure);
    await expect(second).rejects.toBeInstanceOf(ScopeEndedError);
    expect(await db.all('SELECT v FROM t')).toEqual([]);
  });
});

describe('batch() reads every entry once, by index', () => {
  it('refuses holes: results would no longer line up with the statements', async () => {
    const db = await pools.fresh({ readers: 1 });
    // eslint-disable-next-line no-sparse-arrays
    const holed = [{ sql: "INSERT INTO t (v) VALUES ('a')" }, , { sql: "INSERT INTO t (v) VALUES ('b')" }];
    await expect(db.batch(holed as never)).rejects.toThrow(invalid);
    await expect(db.batch(holed as never)).rejects.toThrow(/statements\[1\] is missing/);
    await expect(db.batch(new Array(4) as never)).rejects.toThrow(invalid);
    await expect(db.batch([null] as never)).rejects.toThrow(invalid);
    await db.transaction(async (tx) => {
      await expect(tx.batch(holed as never)).rejects.toThrow(invalid);
    });
    expect(await db.all('SELECT v FROM t')).toEqual([]);
  });

  it('turns an array that throws when read into a TypeError with the error as cause', async () => {
    const db = await pools.fresh({ readers: 1 });
    const boom = new Error('no reading');
    const hostile = new Proxy([{ sql: 'SELECT 1' }], {
      get(target, key) {
        if (key === '0') throw boom;
        return Reflect.get(target, key);
      },
    });
    const error = await db.batch(hostile as never).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toEqual(invalid);
    expect(error).toBeInstanceOf(LitepoolError);
    expect((error as Error).cause).toBe(boom);
  });
});

describe('an aborted signal', () => {
  it('refuses acquire(), read() and transaction() at once, with a connection free', async () => {
    const db = await pools.fresh({ readers: 2 });
    const reason = new Error('not wanted any more');
    const signal = AbortSignal.abort(reason);
    await expect(db.acquire({ signal })).rejects.toBe(reason);
    await expect(db.acquire({ write: true, signal })).rejects.toBe(reason);
    let ran = false;
    await expect(
      db.read(
        async () => {
          ran = true;
        },
        { signal },
      ),
    ).rejects.toBe(reason);
    await expect(
      db.transaction(
        async () => {
          ran = true;
        },
        { signal },
      ),
    ).rejects.toBe(reason);
    expect(ran).toBe(false);
    // Nothing stayed held: a lease of each kind is still granted.
    const readLease = await db.acquire();
    const writeLease = await db.acquire({ write: true });
    await readLease.release();
    await writeLease.release();
    expect(db.stats().readers.pinned).toBe(0);
  });
});

describe('exec() takes no parameters', () => {
  it('refuses SQL with a placeholder with LITEPOOL_BIND instead of binding NULL', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.run("INSERT INTO t (v) VALUES ('kept')");
    const bind = expect.objectContaining({ name: 'RangeError', code: 'LITEPOOL_BIND' });
    await expect(db.exec('DELETE FROM t WHERE v IS ?')).rejects.toThrow(bind);
    await expect(db.exec('DELETE FROM t WHERE v IS :v')).rejects.toThrow(bind);
    await expect(db.exec('DELETE FROM t WHERE v IS ?1')).rejects.toThrow(/\?1/);
    await db.transaction(async (tx) => {
      await expect(tx.exec("INSERT INTO t (v) VALUES (?)")).rejects.toThrow(bind);
    });
    expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'kept' }]);
    // Without placeholders, a script runs as before.
    await db.exec("INSERT INTO t (v) VALUES ('a'); INSERT INTO t (v) VALUES ('b')");
    expect(await db.get('SELECT COUNT(*) AS n FROM t')).toEqual({ n: 3 });
  });
});

describe('transaction control inside db.transaction()', () => {
  const misuse = expect.objectContaining({ name: 'RangeError', code: 'LITEPOOL_MISUSE' });

  it('refuses COMMIT, END, ROLLBACK and BEGIN in run, exec, get and iterate, so a throw still undoes everything', async () => {
    const db = await pools.fresh({ readers: 1 });
    const refused: unknown[] = [];
    const failure = await db
      .transaction(async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('one')");
        for (const attempt of [
          () => tx.exec('COMMIT; BEGIN'),
          () => tx.exec('COMMIT'),
          () => tx.exec('END'),
          () => tx.run('ROLLBACK'),
          () => tx.exec("INSERT INTO t (v) VALUES ('half'); COMMIT"),
          () => tx.get('COMMIT'),
          () => tx.run('BEGIN IMMEDIATE'),
          async () => {
            for await (const row of tx.iterate('COMMIT')) void row;
          },
        ]) {
          refused.push(await attempt().then(() => 'ran', (e: unknown) => e));
        }
        await tx.run("INSERT INTO t (v) VALUES ('two')");
        throw new Error('undo all of it');
      })
      .then(() => undefined, (e: unknown) => e);
    expect((failure as Error).message).toBe('undo all of it');
    expect(refused).toHaveLength(8);
    for (const outcome of refused) expect(outcome).toEqual(misuse);
    // Nothing survived the rollback: no statement ended the transaction early.
    expect(await db.all('SELECT v FROM t')).toEqual([]);
  });

  it('keeps savepoints, ROLLBACK TO and RELEASE, and transaction control outside transactions and on write leases', async () => {
    const db = await pools.fresh({ readers: 1 });
    await db.transaction(async (tx) => {
      await tx.exec('SAVEPOINT mine');
      await tx.run("INSERT INTO t (v) VALUES ('undone')");
      await tx.exec('ROLLBACK TO mine; RELEASE mine');
      await tx.run("INSERT INTO t (v) VALUES ('kept')");
    });
    expect(await db.all('SELECT v FROM t')).toEqual([{ v: 'kept' }]);
    const lease = await db.acquire({ write: true });
    await lease.exec('BEGIN');
    await lease.run("INSERT INTO t (v) VALUES ('leased')");
    await lease.exec('COMMIT');
    await lease.release();
    expect(await db.get('SELECT COUNT(*) AS n FROM t')).toEqual({ n: 2 });
  });
});
