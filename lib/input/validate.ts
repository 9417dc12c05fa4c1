// Owns the small argument checks shared by every part of the API boundary.

import { describeError, describeType, invalidArgument, outOfRange } from '../errors.ts';

/** The longest delay a timer takes (2^31 - 1 ms, about 24.8 days): the bound of every ms option. */
export const MAX_MS = 2 ** 31 - 1;

/** An integer in [min, max], or a TypeError/RangeError naming `name`. */
export function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgument(`${name} must be a number, got ${describeType(value)}`);
  if (!Number.isInteger(value)) throw outOfRange(`${name} must be an integer, got ${value}`);
  if (value < min || value > max) throw outOfRange(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** A whole number of milliseconds in [min, MAX_MS] (default min 1), or a TypeError/RangeError naming `name`. */
export function checkMs(name: string, value: unknown, min = 1): number {
  return checkInteger(name, value, min, MAX_MS);
}

/** A finite number in [min, max], or a TypeError/RangeError naming `name`. */
export function checkNumber(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgument(`${name} must be a number, got ${describeType(value)}`);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw outOfRange(`${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/**
 * A number of at least `min` with no upper bound (a whole one when `integer`), or a
 * TypeError/RangeError naming `name`.
 */
export function checkAtLeast(name: string, value: unknown, min: number, integer = false): number {
  if (typeof value !== 'number') throw invalidArgument(`${name} must be a number, got ${describeType(value)}`);
  if (!(integer ? Number.isInteger(value) : Number.isFinite(value)) || value < min) {
    throw outOfRange(`${name} must be ${integer ? 'an integer' : 'a finite number'} of at least ${min}, got ${value}`);
  }
  return value;
}

/** A boolean, or a TypeError naming `name`. */
export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidArgument(`${name} must be a boolean, got ${describeType(value)}`);
  return value;
}

/** One of `choices`, or a TypeError/RangeError naming `name`. */
export function checkChoice<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string') throw invalidArgument(`${name} must be a string, got ${describeType(value)}`);
  if (!(choices as readonly string[]).includes(value)) {
    throw outOfRange(`${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got '${value}'`);
  }
  return value as T;
}

/**
 * An option that is on or off: false (off), true or undefined (on, with its defaults: no values
 * given) or a plain object of `known` keys (on, with those values).
 */
export function checkSwitchedKeys(name: string, value: unknown, known: readonly string[]): Record<string, unknown> | false {
  if (value === false) return false;
  if (value === undefined || value === true) return {};
  let isArray = false;
  try {
    isArray = Array.isArray(value);
  } catch {
    // A revoked proxy: checkKeys reports it as unreadable.
  }
  if (typeof value !== 'object' || value === null || isArray) {
    throw invalidArgument(`${name} must be true, false or an object, got ${isArray ? 'an array' : describeType(value)}`);
  }
  return checkKeys(name, value, known);
}

/**
 * A plain object (or undefined), with no keys outside `known`: a typo is never ignored. Returns a
 * copy of its own values, read once: a getter or proxy that throws gives a TypeError whose
 * `cause` is what it threw, and one that answers differently later changes nothing.
 */
export function checkKeys(name: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null) {
    throw invalidArgument(`${name} must be an object, got ${describeType(value)}`);
  }
  let isArray: boolean;
  let keys: string[];
  const copy: Record<string, unknown> = {};
  try {
    isArray = Array.isArray(value);
    keys = Object.keys(value);
    for (const key of keys) {
      if (known.includes(key)) copy[key] = (value as Record<string, unknown>)[key];
    }
  } catch (error) {
    throw invalidArgument(`${name} could not be read: ${describeError(error)}`, error);
  }
  if (isArray) throw invalidArgument(`${name} must be an object, got an array`);
  for (const key of keys) {
    if (!known.includes(key)) {
      throw invalidArgument(`unknown option ${name === 'options' ? '' : `${name}.`}${key}; known options: ${known.join(', ')}`);
    }
  }
  return copy;
}

/** AbortSignal.prototype's `aborted` getter: it throws for anything but a real signal. */
const abortedGetter = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')!.get!;

/**
 * An AbortSignal (or undefined), or a TypeError. Checked by brand, not by prototype: an object
 * made to look like a signal would never abort anything.
 */
export function checkSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!isAbortSignal(value)) throw invalidArgument(`signal must be an AbortSignal, got ${describeType(value)}`);
  return value;
}

/** True for a real AbortSignal (its brand checked by the `aborted` getter). */
export function isAbortSignal(value: unknown): value is AbortSignal {
  if (!(value instanceof AbortSignal)) return false;
  try {
    abortedGetter.call(value);
    return true;
  } catch {
    return false;
  }
}

/** True when `text` is well-formed UTF-16 (no lone surrogate), so it has an exact UTF-8 form. */
export function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/**
 * Non-empty SQL text, or a TypeError/RangeError. A NUL character would end the text SQLite reads
 * (what follows would be silently ignored) and a lone surrogate would silently become U+FFFD:
 * both are refused.
 */
export function checkSql(sql: unknown): string {
  if (typeof sql !== 'string') throw invalidArgument(`sql must be a string, got ${describeType(sql)}`);
  if (sql.trim() === '') throw outOfRange('sql must not be empty');
  if (sql.includes('\0')) throw outOfRange('sql must not contain NUL characters');
  if (!isWellFormed(sql)) throw outOfRange('sql is not well-formed UTF-16 (it holds a lone surrogate), so it has no exact UTF-8 form');
  return sql;
}
