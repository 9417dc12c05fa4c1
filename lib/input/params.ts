// Owns the checking and flattening of statement parameters before they reach the addon.
//
// Arrays bind by position; plain objects bind by name (keys without the :, @ or $ prefix) and
// are flattened into parallel name and value arrays. Every value is checked here and copied into
// a fresh, plain array, so the native side can trust its type and reads exactly the values that
// were checked (a getter or proxy that answers differently the second time never reaches it).
// The bytes of a Uint8Array are copied too, at the call: a request may wait on the JS side (the
// writer gate, the backlog, a write queue, a plan lookup, a retry) before the addon reads it, and
// a caller that reuses, changes or transfers its buffer meanwhile must not change what is stored.
// Whether the count and names fit the statement is checked natively, where the statement is known.
//
// What is refused (see docs/reliability.md): NaN (SQLite would store NULL), strings that are not
// well-formed UTF-16 (a lone surrogate would silently become U+FFFD), strings and blobs longer
// than SQLite's length limit, holes in sparse arrays, more parameters than SQLite allows, and any
// value of another type. A getter or proxy that throws while its parameters are read gives a
// TypeError whose `cause` is what it threw.

import { describeError, describeType, invalidArgument, outOfRange } from '../errors.ts';
import type { Params } from '../types.ts';
import { isPlainPrototype, isWellFormed } from './validate.ts';

/** The signed 64-bit range of an INTEGER: a bigint outside it is refused. */
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

/** SQLite's limit on the bytes of one string or blob (SQLITE_MAX_LENGTH, default 1,000,000,000). */
export const MAX_LENGTH = 1_000_000_000;
/** SQLite's limit on the parameters of one statement (SQLITE_MAX_VARIABLE_NUMBER, default 32,766). */
export const MAX_PARAMETERS = 32_766;

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
/** The byteLength of a real typed array, read through the intrinsic getter (never a user's). */
const typedArrayByteLength = Object.getOwnPropertyDescriptor(TypedArrayPrototype, 'byteLength')!.get!;
/** %TypedArray%.prototype.set: from a typed array it reads internal slots only, no user code. */
const typedArraySet = (TypedArrayPrototype as { set: (this: Uint8Array, source: Uint8Array, offset?: number) => void }).set;
const { allocUnsafe, allocUnsafeSlow } = Buffer;
/**
 * Blobs up to SLAB_BLOB bytes are copied into a slab shared with the next ones, larger ones into
 * a buffer of their own (measured at 4 KiB: about 1.5 µs a copy into its own buffer, mostly the
 * allocation, 0.5 µs into a slab). A slab is never written twice (a retried write binds its copy
 * again) and is freed once no request holds a copy in it.
 */
const SLAB = 256 * 1024;
const SLAB_BLOB = 32 * 1024;
let slab = new ArrayBuffer(0);
let slabUsed = 0;

export interface EncodedParams {
  values: readonly unknown[] | undefined;
  names: readonly string[] | undefined;
}

const NONE: EncodedParams = Object.freeze({ values: undefined, names: undefined });

/** Errors this module raises itself (anything else thrown while reading is the user's). */
const own = new WeakSet<object>();

function refuse(error: Error): never {
  own.add(error);
  throw error;
}

function checkString(value: string, label: string): void {
  // A UTF-8 byte count only matters when three bytes per UTF-16 unit could pass the limit.
  if (value.length > MAX_LENGTH / 3 && Buffer.byteLength(value, 'utf8') > MAX_LENGTH) {
    refuse(outOfRange(`parameter ${label} is a string of ${Buffer.byteLength(value, 'utf8')} UTF-8 bytes, more than SQLite's limit of ${MAX_LENGTH} (SQLITE_MAX_LENGTH)`));
  }
  if (!isWellFormed(value)) {
    refuse(outOfRange(`parameter ${label} is not well-formed UTF-16 (it holds a lone surrogate), so it has no exact UTF-8 form`));
  }
}

/**
 * The byte length of `value` when it is a real Uint8Array or Buffer (ArrayBuffer.isView refuses
 * proxies and look-alikes), read through the intrinsic getter; else -1. A blob longer than
 * MAX_LENGTH is checkValue's to refuse.
 */
export function blobLength(value: unknown): number {
  return ArrayBuffer.isView(value) && value instanceof Uint8Array ? (typedArrayByteLength.call(value) as number) : -1;
}

/** Copies `bytes` bytes (blobLength's answer) of `source` into `target` at `offset`. */
export function copyBytes(target: Uint8Array, offset: number, source: Uint8Array, bytes: number): void {
  // A detached buffer has no bytes (and set() would throw on it).
  if (bytes > 0) typedArraySet.call(target, source, offset);
}

/** A copy of the `bytes` bytes (blobLength's answer) of `value`, made now. */
export function copyBlob(value: Uint8Array, bytes: number): Uint8Array {
  if (bytes > SLAB_BLOB) {
    const own = allocUnsafe(bytes);
    copyBytes(own, 0, value, bytes);
    return own;
  }
  if (slabUsed + bytes > slab.byteLength) {
    slab = allocUnsafeSlow(SLAB).buffer as ArrayBuffer;
    slabUsed = 0;
  }
  const copy = new Uint8Array(slab, slabUsed, bytes);
  slabUsed += bytes;
  copyBytes(copy, 0, value, bytes);
  return copy;
}

/**
 * Checks one value (`label` names it in the error); returns it as the addon will read it: a blob
 * as a copy of its bytes, made now. The one set of value rules: params of every statement, and
 * insertMany's values (row-block.ts, which copies blobs through blob-segments.ts).
 */
export function checkValue(value: unknown, label: string): unknown {
  switch (typeof value) {
    case 'number':
      if (value !== value) {
        refuse(outOfRange(`parameter ${label} is NaN, which SQLite would store as NULL; pass null for NULL`));
      }
      return value;
    case 'string':
      checkString(value, label);
      return value;
    case 'boolean':
    case 'undefined':
      return value;
    case 'bigint':
      if (value < INT64_MIN || value > INT64_MAX) {
        refuse(outOfRange(`parameter ${label} is a bigint outside the 64-bit signed range: ${value}`));
      }
      return value;
    case 'object': {
      if (value === null) return value;
      const bytes = blobLength(value);
      if (bytes >= 0) {
        if (bytes > MAX_LENGTH) {
          refuse(outOfRange(`parameter ${label} is a blob of ${bytes} bytes, more than SQLite's limit of ${MAX_LENGTH} (SQLITE_MAX_LENGTH)`));
        }
        return copyBlob(value as Uint8Array, bytes);
      }
      break;
    }
  }
  return refuse(
    invalidArgument(
      `parameter ${label} has an unsupported type: ${describeType(value)}; use null, a number, bigint, string, boolean or Uint8Array/Buffer`,
    ),
  );
}

function checkCount(count: number): void {
  if (count > MAX_PARAMETERS) {
    refuse(outOfRange(`${count} parameters given; SQLite takes at most ${MAX_PARAMETERS} per statement (SQLITE_MAX_VARIABLE_NUMBER)`));
  }
}

function encode(params: object): EncodedParams {
  if (Array.isArray(params)) {
    const count = params.length;
    checkCount(count);
    const values = new Array<unknown>(count);
    for (let i = 0; i < count; i++) {
      const value = params[i];
      if (value === undefined && !(i in params)) {
        refuse(invalidArgument(`parameter ${i + 1} is a hole in a sparse array; pass null (or undefined) for NULL`));
      }
      values[i] = checkValue(value, String(i + 1));
    }
    return { values, names: undefined };
  }
  if (!(params instanceof Uint8Array)) {
    if (isPlainPrototype(Object.getPrototypeOf(params))) {
      const names = Object.keys(params);
      checkCount(names.length);
      const values = new Array<unknown>(names.length);
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        if (!isWellFormed(name)) refuse(outOfRange(`parameter name '${name}' is not well-formed UTF-16 (it holds a lone surrogate)`));
        values[i] = checkValue((params as Record<string, unknown>)[name], `'${name}'`);
      }
      return { values, names };
    }
  }
  return refuse(invalidArgument(`params must be an array or a plain object, got ${describeType(params)}`));
}

/** Checks `params` and puts it in the shape the addon reads. */
export function encodeParams(params: Params | undefined | null): EncodedParams {
  if (params === undefined || params === null) return NONE;
  if (typeof params !== 'object') throw invalidArgument(`params must be an array or a plain object, got ${describeType(params)}`);
  try {
    return encode(params);
  } catch (error) {
    if (typeof error === 'object' && error !== null && own.has(error)) throw error;
    // A getter, a proxy trap or a revoked proxy threw while the parameters were read.
    throw invalidArgument(`the parameters could not be read: ${describeError(error)}`, error);
  }
}
