// Owns `db.schema`: reading the schema (tables, columns, indexes, foreign keys) through SQLite's
// table-valued pragma functions with the names bound as parameters, and DDL helpers that quote
// every identifier, so hostile names (`we"ird`, `select`, spaces, unicode) round-trip.
// Runs on the JS thread; the statements run on the pool's connections.

import { describeType, invalidArgument, outOfRange } from '../errors.ts';
import { quoteIdentifier } from '../input/insert-many.ts';
import { INT64_MAX, INT64_MIN, blobLength, copyBytes } from '../input/params.ts';
import { checkBoolean, checkKeys, isWellFormed, readArray } from '../input/validate.ts';
import type { AddColumnOptions, ColumnInfo, CreateIndexOptions, ForeignKeyInfo, IndexColumn, IndexInfo, TableInfo } from '../operations-types.ts';
import type { SqlValue } from '../types.ts';

/** What the schema helpers need of a pool. */
export interface SchemaHost {
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  transaction<T>(fn: (tx: { all<R>(sql: string, params?: readonly SqlValue[]): Promise<R[]>; exec(sql: string): Promise<void> }) => Promise<T>): Promise<T>;
}

/** Declared type names: words, digits, spaces and a parenthesised size, e.g. `VARCHAR(255)`. */
const TYPE_NAME = /^[A-Za-z_][A-Za-z0-9_ ]*(\(\s*[+-]?\d+\s*(,\s*[+-]?\d+\s*)?\))?$/;

function checkName(what: string, name: unknown): string {
  if (typeof name !== 'string') throw invalidArgument(`${what} must be a non-empty string, got ${describeType(name)}`);
  if (name.length === 0) throw outOfRange(`${what} must not be empty`);
  return name;
}

/**
 * `name` as SQLite compares identifiers: only the ASCII letters A-Z fold to lower case (`É` and
 * `é` are two columns; toLowerCase() would also fold the Kelvin sign into `k`).
 */
function foldIdentifier(name: string): string {
  return name.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/** An optional boolean option: false when absent. */
function flag(name: string, value: unknown): boolean {
  return value === undefined ? false : checkBoolean(name, value);
}

/**
 * A constant as SQL text (a DEFAULT clause cannot take parameters), refused as a parameter would
 * be: a bigint outside the signed 64-bit range (it would become a REAL), a lone surrogate, a blob
 * that is not a real Uint8Array (its bytes are read through the intrinsic getters, never a proxy's).
 */
export function sqlLiteral(value: SqlValue): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > INT64_MAX) throw outOfRange(`default is a bigint outside the 64-bit signed range: ${value}`);
    return value.toString();
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw outOfRange(`default must be a finite number, got ${value}`);
    return Object.is(value, -0) ? '0' : String(value);
  }
  if (typeof value === 'string') {
    if (!isWellFormed(value)) throw outOfRange('default is not well-formed UTF-16 (it holds a lone surrogate), so it has no exact UTF-8 form');
    return `'${value.replaceAll("'", "''")}'`;
  }
  const bytes = blobLength(value);
  if (bytes >= 0) {
    const copy = Buffer.alloc(bytes);
    copyBytes(copy, 0, value as Uint8Array, bytes);
    return `X'${copy.toString('hex')}'`;
  }
  throw invalidArgument(`default must be null, a number, a bigint, a string, a boolean or a Uint8Array, got ${describeType(value)}`);
}

/** Schema inspection and safe DDL on one pool (`db.schema`). */
export class Schema {
  readonly #host: SchemaHost;

  /** @internal */
  constructor(host: SchemaHost) {
    this.#host = host;
  }

  /** Tables and views of the main database, SQLite's own (`sqlite_*`) left out. */
  async tables(): Promise<TableInfo[]> {
    const rows = await this.#host.all<{ name: string; type: string; ncol: number; wr: number; strict: number }>(
      "SELECT name, type, ncol, wr, strict FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    );
    // Number(): a pool with safeIntegers reads these pragma columns as bigints.
    return rows.map((r) => ({ name: r.name, type: r.type, columnCount: Number(r.ncol), withoutRowid: Number(r.wr) === 1, strict: Number(r.strict) === 1 }));
  }

  /** The columns of `table`, in order (empty when there is no such table). */
  async columns(table: string): Promise<ColumnInfo[]> {
    const rows = await this.#host.all<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number; hidden: number }>(
      'SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid',
      [checkName('table', table)],
    );
    return rows.map((r) => ({ name: r.name, type: r.type, notNull: Number(r.notnull) === 1, defaultValue: r.dflt_value, primaryKey: Number(r.pk), hidden: Number(r.hidden) }));
  }

  /** The indexes of `table`, with their columns. */
  async indexes(table: string): Promise<IndexInfo[]> {
    const rows = await this.#host.all<{ name: string; unique: number; origin: string; partial: number; column: string | null; seqno: number }>(
      `SELECT l.name AS name, l."unique" AS "unique", l.origin AS origin, l.partial AS partial, i.name AS "column", i.seqno AS seqno
         FROM pragma_index_list(?) AS l, pragma_index_info(l.name) AS i
        ORDER BY l.name, i.seqno`,
      [checkName('table', table)],
    );
    const byName = new Map<string, IndexInfo>();
    for (const r of rows) {
      let index = byName.get(r.name);
      if (!index) byName.set(r.name, (index = { name: r.name, unique: Number(r.unique) === 1, origin: r.origin, partial: Number(r.partial) === 1, columns: [] }));
      index.columns.push(r.column);
    }
    return [...byName.values()];
  }

  /** The foreign keys of `table`, one entry per constraint. */
  async foreignKeys(table: string): Promise<ForeignKeyInfo[]> {
    const rows = await this.#host.all<{ id: number; seq: number; table: string; from: string; to: string | null; on_update: string; on_delete: string; match: string }>(
      'SELECT id, seq, "table", "from", "to", on_update, on_delete, "match" FROM pragma_foreign_key_list(?) ORDER BY id, seq',
      [checkName('table', table)],
    );
    const byId = new Map<number, ForeignKeyInfo>();
    for (const r of rows) {
      const id = Number(r.id);
      let key = byId.get(id);
      if (!key) byId.set(id, (key = { id, table: r.table, from: [], to: [], onUpdate: r.on_update, onDelete: r.on_delete, match: r.match }));
      key.from.push(r.from);
      key.to.push(r.to);
    }
    return [...byId.values()];
  }

  /**
   * Creates an index on `columns` of `table`, every name quoted. Resolves with the index name.
   *
   * @example
   * await db.schema.createIndex('orders', ['customer_id', { name: 'created_at', order: 'desc' }], { ifNotExists: true });
   */
  async createIndex(table: string, columns: readonly IndexColumn[], options?: CreateIndexOptions): Promise<string> {
    const given = checkKeys('options', options, ['name', 'unique', 'ifNotExists']);
    const unique = flag('unique', given.unique);
    const ifNotExists = flag('ifNotExists', given.ifNotExists);
    checkName('table', table);
    // Read once, by index (a hole is refused, not skipped); each { name, order } like options.
    const items = readArray('columns', columns, 'an array of column names or { name, order }');
    if (items.length === 0) throw invalidArgument('createIndex() needs at least one column');
    const parts = items.map((column, i) => {
      if (typeof column === 'string') return { name: checkName(`columns[${i}]`, column), order: undefined };
      if (typeof column === 'object' && column !== null) {
        const { name, order } = checkKeys(`columns[${i}]`, column, ['name', 'order']);
        if (order !== undefined && order !== 'asc' && order !== 'desc') {
          if (typeof order !== 'string') throw invalidArgument(`columns[${i}].order must be 'asc' or 'desc', got ${describeType(order)}`);
          throw outOfRange(`columns[${i}].order must be 'asc' or 'desc', got '${order}'`);
        }
        return { name: checkName(`columns[${i}].name`, name), order: order as 'asc' | 'desc' | undefined };
      }
      throw invalidArgument(`columns[${i}] must be a column name or { name, order }, got ${describeType(column)}`);
    });
    const name = given.name === undefined ? `${table}_${parts.map((p) => p.name).join('_')}_idx` : checkName('name', given.name);
    const list = parts.map((p) => `${quoteIdentifier(p.name)}${p.order ? ` ${p.order.toUpperCase()}` : ''}`).join(', ');
    const sql = `CREATE ${unique ? 'UNIQUE ' : ''}INDEX ${ifNotExists ? 'IF NOT EXISTS ' : ''}${quoteIdentifier(name)} ON ${quoteIdentifier(table)} (${list})`;
    await this.#host.transaction(async (tx) => tx.exec(sql));
    return name;
  }

  /**
   * Adds a column to `table`, names quoted and the default written as a literal. Resolves with
   * false when `ifNotExists` is set and the column was already there.
   *
   * @example
   * await db.schema.addColumn('users', 'email', 'TEXT', { ifNotExists: true });
   */
  async addColumn(table: string, column: string, type: string, options?: AddColumnOptions): Promise<boolean> {
    const given = checkKeys('options', options, ['ifNotExists', 'notNull', 'default']);
    const ifNotExists = flag('ifNotExists', given.ifNotExists);
    const notNull = flag('notNull', given.notNull);
    checkName('table', table);
    checkName('column', column);
    if (typeof type !== 'string') throw invalidArgument(`type must be a SQLite type name (a string) such as 'TEXT', got ${describeType(type)}`);
    if (type !== '' && !TYPE_NAME.test(type)) {
      throw invalidArgument(`type must be a SQLite type name such as 'TEXT' or 'VARCHAR(255)', got ${JSON.stringify(type)}`);
    }
    let sql = `ALTER TABLE ${quoteIdentifier(table)} ADD COLUMN ${quoteIdentifier(column)}${type ? ` ${type}` : ''}`;
    if (notNull) sql += ' NOT NULL';
    if (given.default !== undefined) sql += ` DEFAULT ${sqlLiteral(given.default as SqlValue)}`;
    return this.#host.transaction(async (tx) => {
      if (ifNotExists) {
        const existing = await tx.all<{ name: string }>('SELECT name FROM pragma_table_xinfo(?)', [table]);
        const folded = foldIdentifier(column);
        if (existing.some((c) => foldIdentifier(c.name) === folded)) return false;
      }
      await tx.exec(sql);
      return true;
    });
  }
}
