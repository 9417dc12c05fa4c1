// Covers when parameter values are read. The bytes of a Uint8Array/Buffer parameter are those it
// held at the call, also when the request then waits on the JS side (behind a transaction or a
// write lease, in a write queue, for the writer in a pool without readers) before the addon reads
// it: changing, reusing or transferring the buffer after the call changes nothing, in run, get,
// all, iterate (from its first next()), batch, insertMany and write queues. insertMany reads which
// rows it inserts at the call (emptying the array afterwards changes nothing), packs blobs of
// every size across blocks exactly, and refuses rows that are not plain objects (a class
// instance, a Date) as every other API refuses such params, naming the row.
import { describe, expect, it } from 'vitest';
import type { Pool } from '../lib/index.ts';
import { holdWriter, tempPools } from './helpers/pools.ts';
import { rejection } from './helpers/waits.ts';

const pools = tempPools('parameter-values');
const BLOBS = 'CREATE TABLE b (id INTEGER PRIMARY KEY, x BLOB)';
const invalid = expect.objectContaining({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' });

const hexOf = async (db: Pool): Promise<string[]> => ((await db.all('SELECT hex(x) AS h FROM b ORDER BY id')) as { h: string }[]).map((row) => row.h);

describe('the bytes of a blob parameter are those at the call', () => {
  it('while the write waits behind a transaction: run, named run, batch, insertMany, a write queue', async () => {
    const db = await pools.fresh({ readers: 1 }, `${BLOBS}; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`);
    const held = await holdWriter(db);
    const buf = Buffer.from('AAAA');
    const calls: Promise<unknown>[] = [
      db.run('INSERT INTO b (id, x) VALUES (1, ?)', [buf]),
      db.run('INSERT INTO b (id, x) VALUES (2, :x)', { x: buf }),
      db.batch([{ sql: 'INSERT INTO b (id, x) VALUES (3, ?)', params: [buf] }]),
      db.insertMany('b', [{ id: 4, x: buf }]),
    ];
    buf.fill('B');
    // One buffer reused for every entry, the usual pattern with a fire-and-forget queue.
    const queue = db.writeQueue({ capacity: 100 });
    const reused = Buffer.alloc(4);
    for (let i = 0; i < 5; i++) {
      reused.writeUInt32BE(i);
      expect(queue.push('INSERT INTO b (id, x) VALUES (?, ?)', [10 + i, reused])).toBe(true);
    }
    reused.writeUInt32BE(99);
    calls.push(queue.enqueue('INSERT INTO b (id, x) VALUES (20, ?)', [reused]));
    reused.fill(0xff);
    held.release();
    await held.done;
    await Promise.all(calls);
    await queue.shutdown();
    expect(await hexOf(db)).toEqual(['41414141', '41414141', '41414141', '41414141', '00000000', '00000001', '00000002', '00000003', '00000004', '00000063']);
  });

  it('while it waits behind a write lease, and when its ArrayBuffer is transferred after the call', async () => {
    const db = await pools.fresh({ readers: 1 }, BLOBS);
    const lease = await db.acquire({ write: true });
    const bytes = new Uint8Array([1, 2, 3, 4]);
    const view = new Uint8Array(new ArrayBuffer(8), 2, 3);
    view.set([7, 8, 9]);
    const first = db.run('INSERT INTO b (id, x) VALUES (1, ?)', [bytes]);
    const second = db.run('INSERT INTO b (id, x) VALUES (2, ?)', [view]);
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
    expect(bytes.byteLength).toBe(0);
    view.fill(0);
    await lease.release();
    await Promise.all([first, second]);
    expect(await hexOf(db)).toEqual(['01020304', '070809']);
  });

  it('for get, all and iterate waiting for the writer of a pool without readers (iterate reads them at its first next())', async () => {
    const db = await pools.fresh({ readers: 0 }, BLOBS);
    const held = await holdWriter(db);
    const buf = Buffer.from('AAAA');
    const got = db.get('SELECT hex(?) AS h', [buf]);
    const all = db.all('SELECT hex(:x) AS h', { x: buf });
    const rows = db.iterate('SELECT hex(?) AS h', [buf]);
    const first = rows.next();
    buf.fill('B');
    held.release();
    await held.done;
    expect(await got).toEqual({ h: '41414141' });
    expect(await all).toEqual([{ h: '41414141' }]);
    expect((await first).value).toEqual({ h: '41414141' });
    await rows.return();
  });

  it('many waiting writes, small and large blobs, each keep their own bytes', async () => {
    const db = await pools.fresh({ readers: 1 }, BLOBS);
    const held = await holdWriter(db);
    // Enough small copies to fill several shared slabs, and blobs larger than a slab takes.
    const sizes = [0, 1, 7, 100, 4096, 32 * 1024, 32 * 1024 + 1, 300 * 1024, ...Array.from({ length: 600 }, (_, i) => 1000 + i)];
    const buf = Buffer.alloc(400 * 1024);
    const writes = sizes.map((size, i) => {
      buf.fill(i & 0xff);
      return db.run('INSERT INTO b (id, x) VALUES (?, ?)', [i, buf.subarray(0, size)]);
    });
    buf.fill(0xee);
    held.release();
    await held.done;
    await Promise.all(writes);
    const stored = (await db.all('SELECT id, length(x) AS n, x FROM b ORDER BY id')) as { id: number; n: number; x: Buffer }[];
    expect(stored.map((row) => row.n)).toEqual(sizes);
    for (const row of stored) expect(row.x.equals(Buffer.alloc(row.n, row.id & 0xff)), `row ${row.id}`).toBe(true);
  });
});

describe('insertMany', () => {
  it('reads which rows it inserts at the call: emptying the array afterwards changes nothing', async () => {
    const db = await pools.fresh({ readers: 1 });
    const rows = Array.from({ length: 5000 }, (_, i) => ({ id: i + 1, v: `row ${i}` }));
    // Several blocks: each row's values are read when its block is packed, in the transaction.
    const inserting = db.insertMany('t', rows, { chunkSize: 1000 });
    rows.length = 0;
    expect(await inserting).toBe(5000);
    expect(await db.get('SELECT count(*) AS n, max(v) AS last FROM t')).toEqual({ n: 5000, last: 'row 999' });
  });

  it('packs blobs of every size into its blocks exactly (empty, detached, views, larger than a block takes)', async () => {
    const db = await pools.fresh({ readers: 1 }, BLOBS);
    const detached = new Uint8Array([1, 2, 3]);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    const big = Buffer.alloc(70_000, 0xab);
    const blob = (i: number): Uint8Array => {
      if (i === 3) return detached;
      if (i % 997 === 0) return big;
      const size = i % 50;
      return Buffer.alloc(size + 10, i & 0xff).subarray(5, 5 + size);
    };
    // One block (its blobs copied into shared chunks, a large one on its own), then several.
    for (const chunkSize of [8192, 700]) {
      const rows = Array.from({ length: 3000 }, (_, i) => ({ id: i, x: blob(i) }));
      expect(await db.insertMany('b', rows, { chunkSize })).toBe(3000);
      const stored = (await db.all('SELECT id, x FROM b ORDER BY id')) as { id: number; x: Buffer }[];
      expect(stored).toHaveLength(3000);
      for (const row of stored) expect(Buffer.from(blob(row.id)).equals(row.x), `row ${row.id}`).toBe(true);
      await db.run('DELETE FROM b');
    }
  });

  it('refuses rows that are not plain objects, naming the row, as other APIs refuse such params', async () => {
    const db = await pools.fresh({ readers: 1 });
    class Row {
      constructor(readonly v: string) {}
    }
    expect(await rejection(db.run('INSERT INTO t (v) VALUES (:v)', new Row('a') as never))).toEqual(invalid);
    const first = await rejection(db.insertMany('t', [new Row('a')] as never));
    expect(first).toEqual(invalid);
    expect(first.message).toMatch(/^rows\[0\] must be a plain object \(its prototype Object\.prototype or null\), got an object \(Row\)/);
    const later = await rejection(db.insertMany('t', [{ v: 'a' }, new Row('b')] as never));
    expect(later).toEqual(invalid);
    expect(later.message).toMatch(/^rows\[1\] must be a plain object \(its prototype Object\.prototype or null\), got an object \(Row\)/);
    // In a later block, inside the transaction of a large insert: nothing is inserted.
    const many: object[] = Array.from({ length: 2000 }, (_, i) => ({ v: `r${i}` }));
    many[1500] = new Row('x');
    const deep = await rejection(db.insertMany('t', many as never, { chunkSize: 500 }));
    expect(deep).toEqual(invalid);
    expect(deep.message).toContain('rows[1500]');
    const date = await rejection(db.insertMany('t', [{ v: 'a' }, new Date()] as never));
    expect(date.message).toMatch(/^rows\[1\] must be a plain object \(its prototype Object\.prototype or null\), got an object \(Date\)/);
    expect(await rejection(db.insertMany('t', [['a']] as never))).toEqual(invalid);
    // Keys inherited from a prototype of its own: not a plain object either (db.run refuses it too).
    const inheriting = Object.assign(Object.create({ w: 1 }) as object, { v: 'b' });
    expect(await rejection(db.run('SELECT :v', inheriting as never))).toEqual(invalid);
    expect(await rejection(db.insertMany('t', [{ v: 'a' }, inheriting] as never))).toEqual(invalid);
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    // Objects without a prototype are plain, as they are as params.
    const bare = Object.assign(Object.create(null) as Record<string, string>, { v: 'bare' });
    expect(await db.insertMany('t', [bare, { v: 'plain' }])).toBe(2);
    expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 'bare' }, { v: 'plain' }]);
  });
});
