// Owns the small argument checks shared by every part of the API boundary.

import { types } from 'node:util';
import { describeType, invalidArgument, outOfRange, unreadable } from '../errors.ts';

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
 * Runs `read`, which reads the caller's value named `what`: what the caller's code throws there (a
 * getter, a proxy trap, a revoked proxy) becomes a TypeError naming `what`, with it as the
 * `cause`; litepool's own errors pass through as they are.
 */
export function readCaller<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw unreadable(what, error);
  }
}

/**
 * True for the prototype of a plain object: null, or Object.prototype, this realm's or another
 * one's (an object literal made in a node:vm context, as some test runners run their tests).
 */
export function isPlainPrototype(proto: unknown): boolean {
  if (proto === Object.prototype || proto === null) return true;
  if (typeof proto !== 'object' || Object.getPrototypeOf(proto) !== null) return false;
  const constructor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as unknown;
  return typeof constructor === 'function' && constructor.prototype === proto && constructor.name === 'Object';
}

/** A built-in whose contents are not own properties (a Map's entries, a Date's time...): no options object. */
function holdsInternalData(value: object): boolean {
  return (
    types.isMap(value) ||
    types.isSet(value) ||
    types.isWeakMap(value) ||
    types.isWeakSet(value) ||
    types.isDate(value) ||
    types.isRegExp(value) ||
    types.isPromise(value) ||
    types.isAnyArrayBuffer(value) ||
    types.isArrayBufferView(value) ||
    types.isBoxedPrimitive(value)
  );
}

/** The first enumerable property `value` inherits (from a prototype other than Object.prototype), if any. */
function inheritedKey(proto: unknown): string | undefined {
  for (let at = proto; typeof at === 'object' && at !== null && !isPlainPrototype(at); at = Object.getPrototypeOf(at)) {
    const [key] = Object.keys(at);
    if (key !== undefined) return key;
  }
  return undefined;
}

/**
 * Copies into `copy` the own enumerable properties of `value` named in `keep` (every one without
 * `keep`: then `copy` must have no prototype, for a `__proto__` key), each read once, and returns
 * all their names. `value` holds its options as own properties: a plain object (any realm's), a
 * null-prototype object or a class instance. A Map, a Date, a typed array... is refused, and so is
 * an object inheriting enumerable properties, since what it holds would not be read and would be
 * silently ignored. What the caller's code throws while it is read (a getter, a proxy trap, a
 * revoked proxy) becomes a TypeError naming `name`, with it as the `cause`.
 */
export function readPlainObject(name: string, value: unknown, copy: Record<string, unknown>, keep?: readonly string[]): string[] {
  if (typeof value !== 'object' || value === null) throw invalidArgument(`${name} must be an object, got ${describeType(value)}`);
  try {
    if (Array.isArray(value)) throw invalidArgument(`${name} must be an object, got an array`);
    const proto: unknown = Object.getPrototypeOf(value);
    if (!isPlainPrototype(proto)) {
      if (holdsInternalData(value)) {
        throw invalidArgument(`${name} must be an object holding its options as own properties, got ${describeType(value)}, whose contents are not read as options`);
      }
      const inherited = inheritedKey(proto);
      if (inherited !== undefined) {
        throw invalidArgument(`${name} must hold its options as own properties: '${inherited}' is inherited from its prototype, and would not be read`);
      }
    }
    const keys = Object.keys(value);
    for (const key of keys) if (keep === undefined || keep.includes(key)) copy[key] = (value as Record<string, unknown>)[key];
    return keys;
  } catch (error) {
    throw unreadable(name, error);
  }
}

/**
 * A plain object (or undefined), with no keys outside `known`: a typo is never ignored. Returns a
 * copy of its own values, read once: a getter or proxy that throws gives a TypeError whose
 * `cause` is what it threw, and one that answers differently later changes nothing.
 */
export function checkKeys(name: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  const copy: Record<string, unknown> = {};
  const keys = readPlainObject(name, value, copy, known);
  for (const key of keys) {
    if (!known.includes(key)) {
      throw invalidArgument(`unknown option ${name === 'options' ? '' : `${name}.`}${key}; known options: ${known.join(', ')}`);
    }
  }
  return copy;
}

/**
 * The elements of the array `value` (named `name`; `expected` says what it should be), copied
 * once by index through readCaller: a hole is a TypeError naming it (map() or forEach() would
 * skip it), so is anything but an array.
 */
export function readArray(name: string, value: unknown, expected: string): unknown[] {
  const items = readCaller(name, () => {
    if (!Array.isArray(value)) return undefined;
    const length = value.length;
    const copy: unknown[] = [];
    for (let i = 0; i < length; i++) {
      if (!(i in value)) throw invalidArgument(`${name}[${i}] is missing (a hole in the array)`);
      copy.push(value[i]);
    }
    return copy;
  });
  if (items === undefined) throw invalidArgument(`${name} must be ${expected}, got ${describeType(value)}`);
  return items;
}

/** AbortSignal.prototype's `aborted` getter: it throws for anything but a real signal. */
const abortedGetter = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')!.get!;

/**
 * An AbortSignal (or undefined), or a TypeError naming `name`. Checked by brand, not by
 * prototype: an object made to look like a signal would never abort anything.
 */
export function checkSignal(value: unknown, name = 'signal'): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!readCaller(name, () => hasSignalBrand(value))) throw invalidArgument(`${name} must be an AbortSignal, got ${describeType(value)}`);
  return value as AbortSignal;
}

/** True for a real AbortSignal; the `instanceof` may throw (a proxy's getPrototypeOf trap). */
function hasSignalBrand(value: unknown): boolean {
  if (!(value instanceof AbortSignal)) return false;
  try {
    abortedGetter.call(value);
    return true;
  } catch {
    return false;
  }
}

/** True for a real AbortSignal (its brand checked by the `aborted` getter); never throws. */
export function isAbortSignal(value: unknown): value is AbortSignal {
  try {
    return hasSignalBrand(value);
  } catch {
    return false;
  }
}

/** True when `text` is well-formed UTF-16 (no lone surrogate), so it has an exact UTF-8 form. */
export function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/**
 * `path` (named `name`) unless it holds a lone surrogate (RangeError): the file system would be
 * handed U+FFFD in its place, another file than the one named.
 */
export function checkWellFormedPath(name: string, path: string): string {
  if (!isWellFormed(path)) throw outOfRange(`${name} is not well-formed UTF-16 (it holds a lone surrogate), so it names no file exactly`);
  return path;
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
