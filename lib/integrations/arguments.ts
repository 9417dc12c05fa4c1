// Owns the argument checks of the integrations (Kysely dialect, Drizzle driver, Fastify plugin):
// their options are validated where they enter, with the same error codes as the pool's own
// (`LITEPOOL_INVALID_ARGUMENT` for a wrong type or an unknown key, `LITEPOOL_OUT_OF_RANGE` for a
// value out of range, `LITEPOOL_MISUSE` for a call the integration's protocol does not allow),
// made by the pool's own error factories, so they are LitepoolErrors too. Apart from those, only
// the package's public surface is used.

import { isProxy } from 'node:util/types';
import { Pool } from '../index.ts';
import { describeType, invalidArgument, misuse, outOfRange } from '../errors.ts';

export { invalidArgument, misuse, outOfRange };

/** How a value reads in an error message. */
export function describe(value: unknown): string {
  return arrayOrRevoked(value) && !isProxy(value) ? 'an array' : describeType(value);
}

/** Array.isArray, true too for a revoked proxy (which it throws on): neither is an options object. */
function arrayOrRevoked(value: unknown): boolean {
  try {
    return Array.isArray(value);
  } catch {
    return true;
  }
}

/** A plain object, or a TypeError naming `what`. */
export function checkObject(what: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || arrayOrRevoked(value)) {
    throw invalidArgument(`${what} must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** A litepool Pool that is still open, or a TypeError naming `what`. */
export function checkPool(what: string, value: unknown): Pool {
  if (!(value instanceof Pool)) {
    throw invalidArgument(`${what} must be a litepool Pool (from open()), got ${describe(value)}`);
  }
  return value;
}

/** A timeout in milliseconds (1 to 2^31 - 1), or undefined. */
export function checkTimeout(what: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw invalidArgument(`${what} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1) {
    throw outOfRange(`${what} must be an integer between 1 and ${2 ** 31 - 1}, got ${value}`);
  }
  return value;
}

/** One of `choices`, or undefined. */
export function checkChoice<T extends string>(what: string, value: unknown, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidArgument(`${what} must be a string, got ${describe(value)}`);
  if (!(choices as readonly string[]).includes(value)) {
    throw outOfRange(`${what} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got '${value}'`);
  }
  return value as T;
}

/** Splits `options` into the integration's own keys and the rest (handed on to open()). */
export function splitKeys<K extends string>(
  options: Record<string, unknown>,
  own: readonly K[],
): { own: Partial<Record<K, unknown>>; rest: Record<string, unknown> } {
  const mine: Partial<Record<K, unknown>> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if ((own as readonly string[]).includes(key)) mine[key as K] = value;
    else rest[key] = value;
  }
  return { own: mine, rest };
}
