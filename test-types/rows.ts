// Owns the type tests of query results: typed rows from get/all/iterate, the default Row, and
// rowMode 'array' returning SqlOutputValue[]. Compiled only, never run.

import type { Pool, Row, RunResult, SqlOutputValue } from '../lib/index.ts';

declare const db: Pool;

interface User {
  id: number;
  name: string;
}

export async function typedRows(): Promise<void> {
  const row = await db.get<{ id: number }>('SELECT id FROM users WHERE id = ?', [1]);
  if (row === undefined) return;
  const id: number = row.id;
  void id;
  // @ts-expect-error 'name' is not a column of { id: number }
  void row.name;
  // @ts-expect-error row.id is a number, not a string
  const asString: string = row.id;
  void asString;

  const maybe = await db.get<User>('SELECT * FROM users');
  // @ts-expect-error get() may resolve to undefined
  void maybe.id;

  const users: User[] = await db.all<User>('SELECT * FROM users');
  const names: string[] = users.map((user) => user.name);
  void names;

  const plain = await db.get('SELECT 1 AS v');
  const plainRow: Row | undefined = plain;
  const value: SqlOutputValue | undefined = plain?.['v'];
  void plainRow;
  void value;
  // @ts-expect-error a default Row's values are SqlOutputValue, not number
  const notNumber: number | undefined = plain?.['v'];
  void notNumber;

  const result: RunResult = await db.run('DELETE FROM users');
  const changes: number = result.changes;
  const rowid: number | bigint = result.lastInsertRowid;
  void changes;
  void rowid;
  // @ts-expect-error lastInsertRowid may be a bigint
  const rowidNumber: number = result.lastInsertRowid;
  void rowidNumber;
}

export async function arrayRows(): Promise<void> {
  const first = await db.get('SELECT 1, 2', [], { rowMode: 'array' });
  const values: SqlOutputValue[] | undefined = first;
  void values;
  // @ts-expect-error rowMode 'array' returns SqlOutputValue[], not an object row
  const asObject: { id: number } | undefined = first;
  void asObject;

  const all: SqlOutputValue[][] = await db.all('SELECT 1, 2', undefined, { rowMode: 'array' });
  void all;
  // @ts-expect-error rowMode 'array' rows are not User objects
  const allUsers: User[] = await db.all('SELECT id, name FROM users', undefined, { rowMode: 'array' });
  void allUsers;

  // @ts-expect-error a row type cannot be given with rowMode 'array'
  await db.get<User>('SELECT id, name FROM users', undefined, { rowMode: 'array' });
  // @ts-expect-error rowMode is 'object' or 'array'
  await db.get('SELECT 1', [], { rowMode: 'tuple' });

  for await (const row of db.iterate('SELECT 1, 2', [], { rowMode: 'array', chunkSize: 64 })) {
    const cells: SqlOutputValue[] = row;
    void cells;
  }
}

export async function iteration(): Promise<void> {
  for await (const user of db.iterate<User>('SELECT * FROM users', [], { chunkSize: 100 })) {
    const name: string = user.name;
    void name;
    // @ts-expect-error 'email' is not a column of User
    void user.email;
  }
  for await (const row of db.iterate('SELECT * FROM users')) {
    const plain: Row = row;
    void plain;
  }
}
