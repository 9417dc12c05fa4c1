// Owns the type tests of open() options, transactions, leases, read snapshots and write queues.
// Compiled only, never run.

import {
  open,
  WriteQueue,
  type Lease,
  type Pool,
  type PoolOptions,
  type Transaction,
  type WriteQueueOptions,
  type WriteResult,
} from '../lib/index.ts';

declare const db: Pool;

export async function options(): Promise<void> {
  await using pool = await open('app.db', {
    preset: 'production',
    readers: 4,
    synchronous: 'full',
    pragmas: { foreign_keys: true, cache_spill: 100, journal_size_limit: '1048576' },
    retry: { attempts: 5 },
    groupCommit: { maxBatch: 64 },
    onConnection: async (conn) => {
      const role: 'reader' | 'writer' = conn.role;
      void role;
      await conn.exec('PRAGMA optimize');
    },
  });
  void pool;
  const memory: Pool = await open(':memory:');
  void memory;
  const fromVariable: PoolOptions = { busyTimeout: 1000, retry: false };
  await open('app.db', fromVariable);

  // @ts-expect-error 'readerz' is not an option (excess property)
  await open('app.db', { readerz: 2 });
  // @ts-expect-error synchronous is 'off' | 'normal' | 'full' | 'extra'
  await open('app.db', { synchronous: 'sometimes' });
  // @ts-expect-error preset is 'default' | 'production' | 'minimal'
  await open('app.db', { preset: 'fast' });
  // @ts-expect-error readers is a number
  await open('app.db', { readers: '4' });
  // @ts-expect-error a PRAGMA value is a boolean, number or string
  await open('app.db', { pragmas: { foreign_keys: null } });
  // @ts-expect-error the path is a string
  await open(new URL('file:app.db'));
}

export async function transactions(): Promise<void> {
  const total: number = await db.transaction(async (tx) => {
    const handle: Transaction = tx;
    await handle.run('UPDATE accounts SET balance = balance - 1 WHERE id = ?', [1]);
    await tx.transaction(async (nested) => nested.run('INSERT INTO log VALUES (?)', ['nested']));
    // @ts-expect-error a Transaction has no commit(): it commits when the callback resolves
    await tx.commit();
    // @ts-expect-error a Transaction has no rollback(): throw to roll back
    tx.rollback();
    return 42;
  }, { behavior: 'immediate', timeout: 5000 });
  void total;
  // @ts-expect-error behavior is 'deferred' | 'immediate' | 'exclusive'
  await db.transaction(async () => 1, { behavior: 'serializable' });
  // @ts-expect-error the result type follows the callback
  const wrong: string = await db.transaction(async () => 1);
  void wrong;
}

export async function leases(): Promise<void> {
  {
    await using lease = await db.acquire();
    const held: Lease = lease;
    await held.get('SELECT 1');
    for await (const row of lease.iterate<{ id: number }>('SELECT id FROM t')) {
      const id: number = row.id;
      void id;
    }
  }
  {
    await using writer = await db.acquire({ write: true, timeout: 1000 });
    const isWriter: boolean = writer.write;
    void isWriter;
    await writer.exec('BEGIN');
  }
  const lease = await db.acquire();
  await lease.release();
  // @ts-expect-error acquire() options are write, timeout and signal
  await db.acquire({ readonly: true });

  const count = await db.read(async (conn) => {
    const snapshot: Lease = conn;
    return (await snapshot.get<{ n: number }>('SELECT count(*) AS n FROM t'))?.n ?? 0;
  });
  const n: number = count;
  void n;
  for await (const row of db.iterate<{ id: number }>('SELECT id FROM t')) {
    const id: number = row.id;
    void id;
  }
}

export async function writeQueues(): Promise<void> {
  const metrics = db.writeQueue(WriteQueue.forMetrics());
  const pushed: boolean = metrics.push('INSERT INTO events (kind) VALUES (?)', ['click']);
  void pushed;
  const result: WriteResult = await metrics.enqueue('INSERT INTO events (kind) VALUES (?)', ['view']);
  void result;
  db.writeQueue({ capacity: 10, overflow: 'drop-oldest' });
  db.writeQueue({ overflow: { blockTimeout: 100 } });
  const critical: WriteQueueOptions = { overflow: 'block', onError: (error, entry) => void [error, entry.sql] };
  await db.writeQueue(critical).shutdown();

  // @ts-expect-error overflow is 'block' | 'reject' | 'drop-oldest' | { blockTimeout }
  db.writeQueue({ overflow: 'drop-newest' });
  // @ts-expect-error blockTimeout is a number of milliseconds
  db.writeQueue({ overflow: { blockTimeout: '1s' } });
  // @ts-expect-error queue entries take SQL values only
  metrics.push('INSERT INTO events (at) VALUES (?)', [new Date()]);
}
