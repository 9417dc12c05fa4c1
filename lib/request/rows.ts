// Owns turning the flat cell arrays the addon returns into rows.
//
// Object rows are built by a function generated once per column list, with the column names as
// literal keys: every row of a statement gets the same hidden class (a stable shape), and the
// keys are internalized once instead of once per row.

import type { SqlOutputValue } from '../types.ts';

export type RowBuilder = (cells: readonly unknown[], offset: number) => Record<string, SqlOutputValue>;

const builders = new Map<string, RowBuilder>();
const MAX_BUILDERS = 2000;

function keySource(name: string, index: number): string {
  // `__proto__: v` in a literal would set the prototype; the computed form defines a property.
  const key = JSON.stringify(name);
  return name === '__proto__' ? `[${key}]: c[o + ${index}]` : `${key}: c[o + ${index}]`;
}

/** A builder for rows with these column names (duplicate names: the last column wins). */
export function rowBuilder(names: readonly string[]): RowBuilder {
  const signature = names.join('\u0000');
  let builder = builders.get(signature);
  if (!builder) {
    const body = `return { ${names.map(keySource).join(', ')} };`;
    builder = new Function('c', 'o', body) as RowBuilder;
    if (builders.size >= MAX_BUILDERS) builders.clear();
    builders.set(signature, builder);
  }
  return builder;
}

/** Splits flat cells into rows of `width` values. */
export function arrayRows(cells: readonly unknown[], width: number): SqlOutputValue[][] {
  const rows: SqlOutputValue[][] = [];
  for (let offset = 0; offset < cells.length; offset += width) {
    rows.push(cells.slice(offset, offset + width) as SqlOutputValue[]);
  }
  return rows;
}

/** Builds every object row held in `cells`. */
export function objectRows(cells: readonly unknown[], width: number, build: RowBuilder): Record<string, SqlOutputValue>[] {
  const count = width === 0 ? 0 : cells.length / width;
  const rows = new Array<Record<string, SqlOutputValue>>(count);
  for (let i = 0; i < count; i++) rows[i] = build(cells, i * width);
  return rows;
}
