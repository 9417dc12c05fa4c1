// close() with a lease holding the writer and writes queued behind it: the queue drains once the
// lease is released by close(), and close() resolves (a pool without readers runs its iterations
// on the writer, so an open iteration holds it).
import { describe, expect, it } from 'vitest';
import { open } from '../lib/index.ts';

describe('close() while a lease holds the writer', () => {
  it('drains a write queue behind an open iteration of a pool without readers', async () => {
    const db = await open(':memory:');
    await db.exec('CREATE TABLE t (x INTEGER)');
    for (let i = 0; i < 10; i++) await db.run('INSERT INTO t VALUES (?)', [i]);
    const rows = db.iterate('SELECT x FROM t', [], { chunkSize: 2 });
    expect((await rows.next()).value).toEqual({ x: 0 });
    const queue = db.writeQueue();
    const queued = queue.enqueue('INSERT INTO t VALUES (?)', [99]);
    let closed = false;
    const closing = db.close().then(() => (closed = true));
    // close() resolves on its own: nothing else ends the iteration.
    const outcome = await Promise.race([closing.then(() => 'closed'), new Promise((r) => setTimeout(() => r('stuck'), 20_000))]);
    expect(outcome).toBe('closed');
    expect(closed).toBe(true);
    // The queued write was accepted before close() and ran.
    await expect(queued).resolves.toMatchObject({ changes: 1 });
    await rows.return(undefined);
  });

  it('drains a write queue behind a write lease', async () => {
    const db = await open(':memory:');
    await db.exec('CREATE TABLE t (x INTEGER)');
    const lease = await db.acquire({ write: true });
    const queue = db.writeQueue();
    const queued = queue.enqueue('INSERT INTO t VALUES (1)');
    const outcome = await Promise.race([db.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('stuck'), 20_000))]);
    expect(outcome).toBe('closed');
    await expect(queued).resolves.toMatchObject({ changes: 1 });
    expect(lease.ended).toBe(true);
  });
});
