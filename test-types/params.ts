// Owns the type tests of statement parameters: what may be bound (SqlValue, arrays, named
// objects) and what must be refused at compile time. Compiled only, never run.

import type { BatchStatement, Params, Pool, SqlValue } from '../lib/index.ts';

declare const db: Pool;

export async function accepted(): Promise<void> {
  await db.run('INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)', [1, 1.5, 'text', null, undefined, true, 9007199254740993n]);
  await db.run('INSERT INTO t VALUES (?, ?)', [Buffer.from('blob'), new Uint8Array([1, 2, 3])]);
  await db.run('INSERT INTO t VALUES (:id, :data, :big)', { id: 1, data: Buffer.alloc(4), big: 2n ** 64n });
  await db.run('INSERT INTO t VALUES ($bytes)', { $bytes: new Uint8Array(8) });
  const fromVariable: SqlValue[] = [1, 'a', null];
  await db.run('INSERT INTO t VALUES (?, ?, ?)', fromVariable);
  const readonlyTuple = [1, 'a'] as const;
  await db.all('SELECT ?, ?', readonlyTuple);
  const named: Record<string, SqlValue> = { a: 1 };
  await db.get('SELECT :a', named);
  const params: Params = { when: new Date().toISOString() };
  await db.get('SELECT :when', params);
  await db.batch([{ sql: 'INSERT INTO t VALUES (?)', params: [1n] }, { sql: 'DELETE FROM t' }]);
  await db.insertMany('t', [{ id: 1, data: Buffer.from('x') }]);
}

export async function refused(): Promise<void> {
  // A Date is not a SQL value: convert it (toISOString(), getTime()) first.
  // @ts-expect-error Date is not a SqlValue
  await db.run('INSERT INTO t VALUES (?)', [new Date()]);
  // @ts-expect-error Map is not a SqlValue
  await db.run('INSERT INTO t VALUES (?)', [new Map<string, number>()]);
  // @ts-expect-error a Map is not a params object
  await db.run('INSERT INTO t VALUES (:a)', new Map([['a', 1]]));
  // @ts-expect-error symbol is not a SqlValue
  await db.run('INSERT INTO t VALUES (?)', [Symbol('x')]);
  // @ts-expect-error a plain object is not a SqlValue
  await db.run('INSERT INTO t VALUES (?)', [{ nested: 1 }]);
  // @ts-expect-error an array is not a SqlValue
  await db.run('INSERT INTO t VALUES (?)', [[1, 2]]);
  // @ts-expect-error a function is not a SqlValue
  await db.run('INSERT INTO t VALUES (?)', [() => 1]);
  // @ts-expect-error a named parameter cannot be a Date
  await db.run('INSERT INTO t VALUES (:when, :id)', { when: new Date(), id: 1 });
  // @ts-expect-error a named parameter cannot be an object
  await db.run('INSERT INTO t VALUES (:meta)', { meta: { a: 1 } });
  const withDate = { id: 1, when: new Date() };
  // @ts-expect-error a params object held in a variable is checked too
  await db.get('SELECT :id, :when', withDate);
  // @ts-expect-error a single value is not a params list
  await db.get('SELECT ?', 1);
  // @ts-expect-error batch params are checked too
  const batch: BatchStatement[] = [{ sql: 'INSERT INTO t VALUES (?)', params: [new Date()] }];
  void batch;
  // @ts-expect-error insertMany rows are checked too
  await db.insertMany('t', [{ id: 1, when: new Date() }]);
}
