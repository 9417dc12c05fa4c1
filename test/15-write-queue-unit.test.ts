// Covers the write queue's scheduling (lib/api/write-queue.ts) against a fake writer whose
// writes finish when the test says: entries reach the writer in the order they were accepted, at
// most `inFlight` at once; `capacity` bounds the accepted, unfinished entries (waiting and
// running); a full queue blocks, refuses or drops its oldest waiting entry as its policy says;
// shutdown drains. test/80-write-queue.test.ts covers the same queue on a real pool.

import { describe, expect, it } from 'vitest';
import { WriteQueue, newWriteQueue, type WriteRunner } from '../lib/api/write-queue.ts';
import { QueueClosedError, QueueFullError, QueueTimeoutError } from '../lib/errors.ts';
import type { RunResult } from '../lib/types.ts';
import type { WriteQueueOptions } from '../lib/write-queue-types.ts';

/** A writer that holds every write until finish() is called, and records the order. */
function fakeWriter() {
  const started: string[] = [];
  const pending: { sql: string; resolve: (result: RunResult) => void; reject: (error: unknown) => void }[] = [];
  const run: WriteRunner = (sql) =>
    new Promise((resolve, reject) => {
      started.push(sql);
      pending.push({ sql, resolve, reject });
    });
  const finish = (count = pending.length, error?: unknown) => {
    for (const write of pending.splice(0, count)) {
      if (error === undefined) write.resolve({ changes: 1, lastInsertRowid: Number(write.sql.slice(1)) });
      else write.reject(error);
    }
  };
  return { run, started, pending, finish };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

function queue(writer: ReturnType<typeof fakeWriter>, options: WriteQueueOptions): WriteQueue {
  return newWriteQueue(writer.run, options, () => undefined);
}

describe('WriteQueue scheduling', () => {
  it('hands entries to the writer in order, at most inFlight at once', async () => {
    const writer = fakeWriter();
    const q = queue(writer, { inFlight: 3, capacity: 100 });
    for (let i = 0; i < 10; i++) q.push(`w${i}`);
    expect(writer.started).toEqual(['w0', 'w1', 'w2']);
    expect(q.stats()).toMatchObject({ depth: 7, running: 3, accepted: 10 });
    writer.finish(2);
    await flush();
    expect(writer.started).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
    while (writer.pending.length > 0) {
      writer.finish();
      await flush();
    }
    expect(writer.started).toEqual(Array.from({ length: 10 }, (_, i) => `w${i}`));
    expect(q.stats()).toMatchObject({ depth: 0, running: 0, completed: 10, failed: 0 });
  });

  it("'reject' refuses what does not fit: push returns false, enqueue rejects with QueueFullError", async () => {
    const writer = fakeWriter();
    const q = queue(writer, { inFlight: 1, capacity: 2, overflow: 'reject' });
    expect(q.push('w0')).toBe(true); // running
    expect(q.push('w1')).toBe(true); // waiting: running + depth = 2 = capacity
    expect(q.push('w2')).toBe(false);
    await expect(q.enqueue('w3')).rejects.toBeInstanceOf(QueueFullError);
    expect(q.stats()).toMatchObject({ depth: 1, running: 1, rejected: 2, highWater: 2 });
  });

  it("'drop-oldest' evicts the oldest waiting entry (never a running one) for the new one", async () => {
    const writer = fakeWriter();
    const q = queue(writer, { inFlight: 1, capacity: 2, overflow: 'drop-oldest' });
    // w0 runs, w1 waits (capacity reached); w2 evicts w1, then w3 evicts w2.
    const results = ['w0', 'w1', 'w2', 'w3'].map((sql) => q.enqueue(sql).then(() => 'done', (error: unknown) => error));
    const dropped = await results[1];
    expect(dropped).toBeInstanceOf(QueueFullError);
    expect((dropped as QueueFullError).dropped).toBe(true);
    while (writer.pending.length > 0 || q.stats().depth > 0) {
      writer.finish();
      await flush();
    }
    expect(writer.started).toEqual(['w0', 'w3']);
    const settled = await Promise.all(results);
    expect(settled[0]).toBe('done');
    expect(settled[2]).toBeInstanceOf(QueueFullError);
    expect(settled[3]).toBe('done');
    expect(q.stats()).toMatchObject({ dropped: 2, completed: 2 });
  });

  it("'block' parks what does not fit and lets it in, in order, as room frees", async () => {
    const writer = fakeWriter();
    const q = queue(writer, { inFlight: 1, capacity: 1, overflow: 'block' });
    for (let i = 0; i < 4; i++) expect(q.push(`w${i}`)).toBe(true);
    expect(q.stats()).toMatchObject({ depth: 0, blocked: 3, running: 1 });
    while (writer.pending.length > 0) {
      writer.finish();
      await flush();
    }
    expect(writer.started).toEqual(['w0', 'w1', 'w2', 'w3']);
    expect(q.stats()).toMatchObject({ blocked: 0, completed: 4, highWater: 1 });
  });

  it('{ blockTimeout } refuses an entry that stayed blocked too long', async () => {
    const writer = fakeWriter();
    const q = queue(writer, { inFlight: 1, capacity: 1, overflow: { blockTimeout: 5 } });
    q.push('w0'); // running: the queue is full
    await expect(q.enqueue('w1')).rejects.toBeInstanceOf(QueueTimeoutError);
    expect(q.stats()).toMatchObject({ blocked: 0, rejected: 1 });
    writer.finish();
    await flush();
    expect(q.push('w2')).toBe(true);
    writer.finish();
    await flush();
    expect(writer.started).toEqual(['w0', 'w2']);
  });

  it('shutdown refuses new entries and resolves once every accepted one finished', async () => {
    const writer = fakeWriter();
    const q = queue(writer, { inFlight: 2, capacity: 10 });
    const accepted = [q.enqueue('w0'), q.enqueue('w1'), q.enqueue('w2')];
    let drained = false;
    const shutdown = q.shutdown().then(() => (drained = true));
    await expect(q.enqueue('late')).rejects.toBeInstanceOf(QueueClosedError);
    expect(q.push('late')).toBe(false);
    writer.finish();
    await flush();
    expect(drained).toBe(false);
    writer.finish();
    await shutdown;
    expect(drained).toBe(true);
    await Promise.all(accepted);
    expect(writer.started).toEqual(['w0', 'w1', 'w2']);
  });

  it('a failed entry reaches onError (push) or its promise (enqueue), and the queue goes on', async () => {
    const writer = fakeWriter();
    const errors: string[] = [];
    const q = queue(writer, { inFlight: 1, onError: (_, entry) => errors.push(entry.sql) });
    q.push('w0');
    const awaited = q.enqueue('w1');
    const boom = new Error('boom');
    writer.finish(1, boom);
    await flush();
    writer.finish(1, boom);
    await expect(awaited).rejects.toBe(boom);
    expect(errors).toEqual(['w0']);
    expect(q.stats().failed).toBe(2);
  });
});
