// Covers litepool's error design (lib/errors.ts): every coded error is an instanceof
// LitepoolError, the argument errors stay plain TypeError/RangeError instances (their documented
// classes), and instanceof works by brand, across copies of the package.

import { describe, expect, it } from 'vitest';
import {
  AcquireTimeoutError,
  LitepoolError,
  PoolClosedError,
  SqliteError,
  bindError,
  integerOverflow,
  invalidArgument,
  misuse,
  outOfRange,
} from '../lib/errors.ts';

describe('errors', () => {
  it('argument errors keep their built-in class and are LitepoolErrors with a code', () => {
    const cases = [
      [invalidArgument('bad type'), TypeError, 'LITEPOOL_INVALID_ARGUMENT'],
      [outOfRange('too big'), RangeError, 'LITEPOOL_OUT_OF_RANGE'],
      [bindError('missing parameter', 'SELECT ?'), RangeError, 'LITEPOOL_BIND'],
      [misuse('two statements', { sql: 'SELECT 1; SELECT 2' }), RangeError, 'LITEPOOL_MISUSE'],
      [integerOverflow('too large', 'SELECT 2 << 60'), RangeError, 'LITEPOOL_INTEGER_OVERFLOW'],
    ] as const;
    for (const [error, builtIn, code] of cases) {
      expect(error).toBeInstanceOf(builtIn);
      expect(error).toBeInstanceOf(LitepoolError);
      expect(error.constructor).toBe(builtIn);
      expect(error.name).toBe(builtIn.name);
      expect(error.code).toBe(code);
      // Not instances of an unrelated litepool class.
      expect(error).not.toBeInstanceOf(SqliteError);
    }
  });

  it('errors reported by a statement carry its sql; plain argument errors have none', () => {
    expect(bindError('m', 'SELECT ?').sql).toBe('SELECT ?');
    expect(integerOverflow('m', undefined)).toHaveProperty('sql', undefined);
    expect(outOfRange('m')).not.toHaveProperty('sql');
    expect(misuse('one iteration at a time')).not.toHaveProperty('sql');
  });

  it('classes check by brand: subclasses match their ancestors, not their siblings', () => {
    const sqlite = new SqliteError(2067, 'UNIQUE constraint failed', 'INSERT');
    expect(sqlite).toBeInstanceOf(LitepoolError);
    expect(sqlite).toBeInstanceOf(Error);
    expect(sqlite).not.toBeInstanceOf(PoolClosedError);
    expect(sqlite.name).toBe('SqliteError');
    expect(new AcquireTimeoutError(5, 'reader connection')).not.toBeInstanceOf(SqliteError);
    expect(new Error('plain')).not.toBeInstanceOf(LitepoolError);
    expect(new RangeError('plain')).not.toBeInstanceOf(LitepoolError);
    expect(null).not.toBeInstanceOf(LitepoolError);
  });

  it('an error made by another copy of the package (same registry brand) is recognised', () => {
    // What a second copy's PoolClosedError looks like: another prototype chain, the same brands.
    const brands = Symbol.for('litepool.error.brands');
    const foreign = Object.defineProperty(new Error('closed elsewhere'), brands, { value: ['PoolClosedError', 'LitepoolError'] });
    expect(foreign).toBeInstanceOf(PoolClosedError);
    expect(foreign).toBeInstanceOf(LitepoolError);
    expect(foreign).not.toBeInstanceOf(SqliteError);
    const foreignRange = Object.defineProperty(new RangeError('bind elsewhere'), brands, { value: ['LitepoolError'] });
    expect(foreignRange).toBeInstanceOf(LitepoolError);
  });
});
