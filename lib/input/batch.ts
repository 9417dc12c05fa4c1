// Owns the checking and encoding of batch statements (db.batch) into the shape the addon reads.
// Runs on the JS thread.

import { describeType, invalidArgument, outOfRange } from '../errors.ts';
import type { Params } from '../types.ts';
import { encodeParams } from './params.ts';
import { checkKeys, checkSql } from './validate.ts';

/** A batch as the addon reads it: one entry per statement in each array. */
export interface EncodedBatch {
  sql: string[];
  values: (readonly unknown[] | undefined)[];
  names: (readonly string[] | undefined)[];
}

/** Checks every statement of a batch and puts it in the shape the addon reads. */
export function encodeBatch(statements: unknown): EncodedBatch {
  if (!Array.isArray(statements)) throw invalidArgument(`batch() takes an array of { sql, params }, got ${describeType(statements)}`);
  if (statements.length === 0) throw outOfRange('batch() needs at least one statement');
  const encoded: EncodedBatch = { sql: [], values: [], names: [] };
  statements.forEach((statement: unknown, index) => {
    const given = checkKeys(`statements[${index}]`, statement, ['sql', 'params']);
    encoded.sql.push(checkSql(given.sql));
    const { values, names } = encodeParams(given.params as Params | undefined);
    encoded.values.push(values);
    encoded.names.push(names);
  });
  return encoded;
}
