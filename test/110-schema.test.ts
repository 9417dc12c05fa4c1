// db.schema: inspection through bound pragma functions and quoted DDL, with hostile names.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, type Pool } from '../lib/index.ts';
import { Schema, sqlLiteral } from '../lib/maintenance/schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'litepool-schema-'));
const pools: Pool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function fresh(): Promise<{ db: Pool; schema: Schema }> {
  const db = await open(join(dir, `s${pools.length}.db`), { readers: 2 });
  pools.push(db);
  return { db, schema: db.schema };
}

const HOSTILE = ['we"ird', 'select', 'with space', "o'quote", 'ünï', '[br]', 'semi;colon --'];

describe('db.schema', () => {
  it('lists tables, columns, indexes and foreign keys', async () => {
    const { db, schema } = await fresh();
    await db.exec(`
      CREATE TABLE parent (id INTEGER PRIMARY KEY, code TEXT UNIQUE NOT NULL);
      CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id) ON DELETE CASCADE, note TEXT DEFAULT 'x') STRICT;
      CREATE INDEX child_parent ON child (parent_id, note DESC);
      CREATE VIEW v AS SELECT * FROM child;
    `);
    expect((await schema.tables()).map((t) => [t.name, t.type, t.strict])).toEqual([
      ['child', 'table', true],
      ['parent', 'table', false],
      ['v', 'view', false],
    ]);
    const columns = await schema.columns('child');
    expect(columns.map((c) => [c.name, c.type, c.notNull, c.defaultValue, c.primaryKey])).toEqual([
      ['id', 'INTEGER', false, null, 1],
      ['parent_id', 'INTEGER', true, null, 0],
      ['note', 'TEXT', false, "'x'", 0],
    ]);
    const indexes = await schema.indexes('child');
    expect(indexes).toEqual([{ name: 'child_parent', unique: false, origin: 'c', partial: false, columns: ['parent_id', 'note'] }]);
    expect((await schema.indexes('parent')).map((i) => [i.origin, i.unique, i.columns])).toEqual([['u', true, ['code']]]);
    expect(await schema.foreignKeys('child')).toEqual([
      { id: 0, table: 'parent', from: ['parent_id'], to: ['id'], onUpdate: 'NO ACTION', onDelete: 'CASCADE', match: 'NONE' },
    ]);
    expect(await schema.columns('no_such_table')).toEqual([]);
  });

  it.each(HOSTILE)('round-trips the hostile name %j through createIndex, addColumn and inspection', async (name) => {
    const { db, schema } = await fresh();
    const table = `t ${name}`;
    await db.exec(`CREATE TABLE "${table.replaceAll('"', '""')}" ("${name.replaceAll('"', '""')}" INTEGER)`);
    expect((await schema.tables()).map((t) => t.name)).toContain(table);
    expect(await schema.addColumn(table, `${name} 2`, 'TEXT', { default: "it's" })).toBe(true);
    expect(await schema.addColumn(table, `${name} 2`, 'TEXT', { ifNotExists: true })).toBe(false);
    const indexName = await schema.createIndex(table, [name, { name: `${name} 2`, order: 'desc' }], { unique: true });
    expect(await schema.createIndex(table, [name], { name: indexName, ifNotExists: true })).toBe(indexName);
    expect((await schema.columns(table)).map((c) => [c.name, c.defaultValue])).toEqual([
      [name, null],
      [`${name} 2`, "'it''s'"],
    ]);
    expect(await schema.indexes(table)).toEqual([{ name: indexName, unique: true, origin: 'c', partial: false, columns: [name, `${name} 2`] }]);
    await db.run(`INSERT INTO "${table.replaceAll('"', '""')}" ("${name.replaceAll('"', '""')}") VALUES (1)`);
    expect(await db.get(`SELECT * FROM "${table.replaceAll('"', '""')}"`)).toEqual({ [name]: 1, [`${name} 2`]: "it's" });
  });

  it('refuses bad input with typed errors before anything reaches SQLite', async () => {
    const { schema } = await fresh();
    const invalid = expect.objectContaining({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' });
    const outOfRange = expect.objectContaining({ name: 'RangeError', code: 'LITEPOOL_OUT_OF_RANGE' });
    await expect(schema.columns('' as string)).rejects.toThrow(outOfRange);
    await expect(schema.columns(5 as never)).rejects.toThrow(invalid);
    await expect(schema.createIndex('t', [])).rejects.toThrow(/at least one column/);
    await expect(schema.createIndex('t', [{ name: 'a', order: 'up' as never }])).rejects.toThrow(outOfRange);
    await expect(schema.createIndex('t', [{ name: 'a', order: 1 as never }])).rejects.toThrow(invalid);
    await expect(schema.addColumn('t', 'c', 'TEXT; DROP TABLE t')).rejects.toThrow(/type must be/);
    await expect(schema.addColumn('t', 'c', 'TEXT', { default: {} as never })).rejects.toThrow(TypeError);
    await expect(schema.addColumn('t', 'c', 'REAL', { default: Number.NaN })).rejects.toThrow(outOfRange);
    // Options: an unknown key, or a flag that is not a boolean ('false' would read as true), is refused.
    await expect(schema.createIndex('t', ['a'], { uniqe: true } as never)).rejects.toThrow(invalid);
    await expect(schema.createIndex('t', ['a'], { unique: 'false' } as never)).rejects.toThrow(invalid);
    await expect(schema.createIndex('t', ['a'], null as never)).rejects.toThrow(invalid);
    await expect(schema.addColumn('t', 'c', 'TEXT', { notNull: 1 } as never)).rejects.toThrow(invalid);
    await expect(schema.addColumn('t', 'c', 'TEXT', { ifNotExist: true } as never)).rejects.toThrow(invalid);
  });

  it('is the pool\'s db.schema: one instance, closed with the pool', async () => {
    const { db } = await fresh();
    expect(db.schema).toBeInstanceOf(Schema);
    expect(db.schema).toBe(db.schema);
    await db.exec('CREATE TABLE "we""ird" ("select" INTEGER)');
    expect((await db.schema.tables()).map((t) => t.name)).toEqual(['we"ird']);
    await db.close();
    await expect(db.schema.tables()).rejects.toThrow(/closed/);
  });

  it('writes literals SQLite reads back as the same value', async () => {
    const { db } = await fresh();
    for (const value of [null, 0, -1.5, 2n ** 40n, "a'b", true, new Uint8Array([0, 255])]) {
      const row = await db.get<{ v: unknown }>(`SELECT ${sqlLiteral(value)} AS v`, [], { rowMode: 'object' });
      const expected = value === true ? 1 : typeof value === 'bigint' ? Number(value) : value instanceof Uint8Array ? Buffer.from(value) : value;
      expect(row!.v).toEqual(expected);
    }
  });
});
