// Owns the checks of a write queue's options that need more than a number check: the known keys
// and the overflow policy. Runs on the JS thread.

import { describeType, invalidArgument, outOfRange } from '../errors.ts';
import { MAX_MS, checkKeys } from '../input/validate.ts';
import type { OverflowPolicy } from '../write-queue-types.ts';

export const KNOWN_OPTIONS = ['capacity', 'overflow', 'inFlight', 'onError', 'groupCommit'] as const;

export function checkPolicy(value: unknown): OverflowPolicy {
  if (value === 'block' || value === 'reject' || value === 'drop-oldest') return value;
  if (typeof value === 'object' && value !== null) {
    // A plain object, read once (checkKeys refuses an array, a Map..., and what throws while read).
    const given = checkKeys('overflow', value, ['blockTimeout']);
    const timeout = given.blockTimeout;
    if (typeof timeout !== 'number') {
      throw invalidArgument(`overflow.blockTimeout must be a number of ms, got ${describeType(timeout)}`);
    }
    // setTimeout takes at most 2^31 - 1 ms (it fires at once past that).
    if (!Number.isInteger(timeout) || timeout <= 0 || timeout > MAX_MS) {
      throw outOfRange(`overflow.blockTimeout must be an integer number of ms from 1 to ${MAX_MS}, got ${String(timeout)}`);
    }
    return { blockTimeout: timeout };
  }
  if (typeof value === 'string') {
    throw outOfRange(`overflow must be 'block', 'reject', 'drop-oldest' or { blockTimeout }, got '${value}'`);
  }
  throw invalidArgument(`overflow must be a string or { blockTimeout }, got ${describeType(value)}`);
}
