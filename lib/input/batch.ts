// Owns the checking and encoding of batch statements (db.batch) into the shape the addon reads.
// Runs on the JS thread.

import { describeError, describeType, invalidArgument, outOfRange } from '../errors.ts';
import type { Params } from '../types.ts';
import { encodeParams } from './params.ts';
import { checkKeys, checkSql, readCaller } from './validate.ts';

/** A batch as the addon reads it: one entry per statement in each array. */
export interface EncodedBatch {
  sql: string[];
  values: (readonly unknown[] | undefined)[];
  names: (readonly string[] | undefined)[];
}

/** Checks every statement of a batch and puts it in the shape the addon reads. */
export function encodeBatch(statements: unknown): EncodedBatch {
  // Array.isArray throws for a revoked proxy.
  if (!readCaller('the statements of batch()', () => Array.isArray(statements))) {
    throw invalidArgument(`batch() takes an array of { sql, params }, got ${describeType(statements)}`);
  }
  const array = statements as unknown[];
  // Each entry is read once, by index: a hole must not shift the results against the statements
  // (forEach would skip it), and a proxy that throws becomes a TypeError with its error as cause.
  const list: unknown[] = [];
  let hole = -1;
  try {
    const length = array.length;
    for (let index = 0; index < length && hole < 0; index++) {
      if (index in array) list.push(array[index]);
      else hole = index;
    }
  } catch (error) {
    throw invalidArgument(`the statements of batch() could not be read: ${describeError(error)}`, error);
  }
  if (hole >= 0) throw invalidArgument(`statements[${hole}] is missing (a hole in the array)`);
  if (list.length === 0) throw outOfRange('batch() needs at least one statement');
  const encoded: EncodedBatch = { sql: [], values: [], names: [] };
  list.forEach((statement: unknown, index) => {
    if (statement === undefined || statement === null) {
      throw invalidArgument(`statements[${index}] must be { sql, params }, got ${describeType(statement)}`);
    }
    const given = checkKeys(`statements[${index}]`, statement, ['sql', 'params']);
    encoded.sql.push(checkSql(given.sql));
    const { values, names } = encodeParams(given.params as Params | undefined);
    encoded.values.push(values);
    encoded.names.push(names);
  });
  return encoded;
}
