// Owns the `pragmas` option: each name and value checked, the two PRAGMAs the pool depends on
// kept at the values it needs, those it cannot take refused, and the statement every connection
// runs for each. Runs on the
// JS thread, at open().

import { describeType, invalidArgument, outOfRange } from '../errors.ts';
import { isWellFormed, readPlainObject } from './validate.ts';
import type { PragmaValue } from '../options-types.ts';

/** The PRAGMA statement for one entry of `pragmas` (strings quoted unless a bare word). */
export function pragmaStatement(name: string, value: PragmaValue): string {
  let literal: string;
  if (typeof value === 'boolean') literal = value ? 'ON' : 'OFF';
  else if (typeof value === 'number') literal = String(value);
  else literal = /^[A-Za-z0-9_]+$/.test(value) ? value : `'${value.replaceAll("'", "''")}'`;
  return `PRAGMA ${name} = ${literal}`;
}

/**
 * The PRAGMAs the pool's design depends on, and the one value each may take: readers beside the
 * writer need WAL, and an exclusive lock would shut them out (or hang them on their first read).
 */
const POOL_OWNED_PRAGMAS: ReadonlyMap<string, string> = new Map([
  ['journal_mode', 'WAL'],
  ['locking_mode', 'NORMAL'],
]);

/**
 * PRAGMAs refused in `pragmas` whatever their value, and why: one would replace the pool's busy
 * handler (which also gives up when its request is cancelled or times out), the others write to
 * the database file, which every connection would try at open (readers are read-only).
 */
const REFUSED_PRAGMAS: ReadonlyMap<string, string> = new Map([
  ['busy_timeout', "use the busyTimeout option: this PRAGMA would replace the pool's busy handler, which also stops waiting when its request is cancelled or times out"],
  ['user_version', 'it writes to the database file (readers are read-only): set it in a migration or with db.exec()'],
  ['application_id', 'it writes to the database file (readers are read-only): set it in a migration or with db.exec()'],
  ['schema_version', 'it writes to the database file (readers are read-only), and changing it by hand can corrupt the database'],
]);

function checkPoolOwnedPragma(name: string, value: unknown): void {
  const refused = REFUSED_PRAGMAS.get(name.toLowerCase());
  if (refused !== undefined) throw outOfRange(`pragmas.${name} is not accepted: ${refused}`);
  const required = POOL_OWNED_PRAGMAS.get(name.toLowerCase());
  if (required === undefined) return;
  if (typeof value === 'string' && value.toUpperCase() === required) return;
  throw outOfRange(
    `pragmas.${name} must be '${required}' (got ${typeof value === 'string' ? `'${value}'` : String(value)}): ` +
      'the pool runs its readers beside one writer in WAL mode, with normal locking',
  );
}

/** `pragmas` checked; on a file database (`memory` false) the pool-owned ones keep their values. */
export function checkPragmas(value: unknown, memory: boolean): Record<string, PragmaValue> {
  if (value === undefined) return {};
  const result: Record<string, PragmaValue> = {};
  const given: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const name of readPlainObject('pragmas', value, given)) {
    const pragmaValue = given[name];
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw outOfRange(`pragmas: '${name}' is not a PRAGMA name`);
    if (!['boolean', 'number', 'string'].includes(typeof pragmaValue)) {
      throw invalidArgument(`pragmas.${name} must be a boolean, number or string, got ${describeType(pragmaValue)}`);
    }
    if (typeof pragmaValue === 'number' && !Number.isFinite(pragmaValue)) {
      throw outOfRange(`pragmas.${name} must be a finite number, got ${pragmaValue}`);
    }
    if (typeof pragmaValue === 'string' && !isWellFormed(pragmaValue)) {
      throw outOfRange(`pragmas.${name} is not well-formed UTF-16 (it holds a lone surrogate)`);
    }
    // An in-memory database has one connection and no WAL: its journal, locking and header are
    // its own (busy_timeout stays refused).
    if (!memory || name.toLowerCase() === 'busy_timeout') checkPoolOwnedPragma(name, pragmaValue);
    result[name] = pragmaValue as PragmaValue;
  }
  return result;
}
