// Owns the checking and flattening of statement parameters before they reach the addon.
//
// Arrays bind by position; plain objects bind by name (keys without the :, @ or $ prefix) and
// are flattened into parallel name and value arrays. Every value is checked here, so the native
// side can trust its type; whether the count and names fit the statement is checked natively,
// where the statement is known.

import { describeType, invalidArgument, outOfRange } from '../errors.ts';
import type { Params } from '../types.ts';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export interface EncodedParams {
  values: readonly unknown[] | undefined;
  names: readonly string[] | undefined;
}

const NONE: EncodedParams = Object.freeze({ values: undefined, names: undefined });

function checkValue(value: unknown, label: string): void {
  switch (typeof value) {
    case 'number':
    case 'string':
    case 'boolean':
    case 'undefined':
      return;
    case 'bigint':
      if (value < INT64_MIN || value > INT64_MAX) {
        throw outOfRange(`parameter ${label} is a bigint outside the 64-bit signed range: ${value}`);
      }
      return;
    case 'object':
      if (value === null || value instanceof Uint8Array) return;
      break;
  }
  throw invalidArgument(
    `parameter ${label} has an unsupported type: ${describeType(value)}; use null, a number, bigint, string, boolean or Uint8Array/Buffer`,
  );
}

/** Checks `params` and puts it in the shape the addon reads. */
export function encodeParams(params: Params | undefined | null): EncodedParams {
  if (params === undefined || params === null) return NONE;
  if (Array.isArray(params)) {
    for (let i = 0; i < params.length; i++) checkValue(params[i], String(i + 1));
    return { values: params, names: undefined };
  }
  if (typeof params === 'object' && !(params instanceof Uint8Array)) {
    const proto = Object.getPrototypeOf(params);
    if (proto === Object.prototype || proto === null) {
      const names = Object.keys(params);
      const values = new Array<unknown>(names.length);
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        const value = (params as Record<string, unknown>)[name];
        checkValue(value, `'${name}'`);
        values[i] = value;
      }
      return { values, names };
    }
  }
  throw invalidArgument(`params must be an array or a plain object, got ${describeType(params)}`);
}
