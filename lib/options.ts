// Owns the validation of open()'s options and their translation into the native configuration.
// Every option is checked here, with an error naming it; the native side trusts what it gets.

import { describeType, invalidArgument, outOfRange } from './errors.ts';
import type { NativePoolConfig } from './native.ts';
import type { PoolOptions, PragmaValue, SynchronousMode } from './types.ts';
import { checkBoolean, checkChoice, checkInteger, checkKeys } from './validate.ts';

const MAX_MS = 2 ** 31 - 1;
const OPTION_NAMES = [
  'readers',
  'busyTimeout',
  'synchronous',
  'cacheSize',
  'statementCacheSize',
  'pragmas',
  'safeIntegers',
  'create',
  'queryTimeout',
] as const satisfies readonly (keyof PoolOptions)[];

export const DEFAULTS = {
  readers: 4,
  busyTimeout: 5000,
  synchronous: 'normal' as SynchronousMode,
  cacheSize: 16_000,
  statementCacheSize: 128,
  safeIntegers: false,
  create: true,
};

/** The validated, complete options a pool runs with. */
export interface ResolvedOptions {
  readonly path: string;
  readonly memory: boolean;
  readonly readers: number;
  readonly busyTimeout: number;
  readonly synchronous: SynchronousMode;
  readonly cacheSize: number;
  readonly statementCacheSize: number;
  readonly pragmas: Readonly<Record<string, PragmaValue>>;
  readonly safeIntegers: boolean;
  readonly create: boolean;
  readonly queryTimeout: number | undefined;
}

function isMemoryPath(path: string): boolean {
  return path === ':memory:' || path === '';
}

function pragmaStatement(name: string, value: PragmaValue): string {
  let literal: string;
  if (typeof value === 'boolean') literal = value ? 'ON' : 'OFF';
  else if (typeof value === 'number') literal = String(value);
  else literal = /^[A-Za-z0-9_]+$/.test(value) ? value : `'${value.replaceAll("'", "''")}'`;
  return `PRAGMA ${name} = ${literal}`;
}

function checkPragmas(value: unknown): Record<string, PragmaValue> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(`pragmas must be an object, got ${describeType(value)}`);
  }
  const result: Record<string, PragmaValue> = {};
  for (const [name, pragmaValue] of Object.entries(value)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw outOfRange(`pragmas: '${name}' is not a PRAGMA name`);
    if (typeof pragmaValue === 'number' && !Number.isFinite(pragmaValue)) {
      throw outOfRange(`pragmas.${name} must be a finite number, got ${pragmaValue}`);
    }
    if (!['boolean', 'number', 'string'].includes(typeof pragmaValue)) {
      throw invalidArgument(`pragmas.${name} must be a boolean, number or string, got ${describeType(pragmaValue)}`);
    }
    result[name] = pragmaValue as PragmaValue;
  }
  return result;
}

/** Validates `path` and `options`; throws a TypeError or RangeError naming the culprit. */
export function resolveOptions(path: unknown, options: unknown): ResolvedOptions {
  if (typeof path !== 'string') throw invalidArgument(`path must be a string, got ${describeType(path)}`);
  if (path.includes('\0')) throw outOfRange('path must not contain NUL characters');
  const given = checkKeys('options', options, OPTION_NAMES) as PoolOptions;
  const memory = isMemoryPath(path);
  const pick = <K extends keyof typeof DEFAULTS>(key: K): (typeof DEFAULTS)[K] =>
    (given[key] === undefined ? DEFAULTS[key] : given[key]) as (typeof DEFAULTS)[K];
  const readers = checkInteger('readers', pick('readers'), 0, 64);
  return Object.freeze({
    path: memory ? ':memory:' : path,
    memory,
    readers: memory ? 0 : readers,
    busyTimeout: checkInteger('busyTimeout', pick('busyTimeout'), 0, MAX_MS),
    synchronous: checkChoice('synchronous', pick('synchronous'), ['off', 'normal', 'full', 'extra'] as const),
    cacheSize: checkInteger('cacheSize', pick('cacheSize'), 1, 2 ** 30),
    statementCacheSize: checkInteger('statementCacheSize', pick('statementCacheSize'), 0, 100_000),
    pragmas: Object.freeze(checkPragmas(given.pragmas)),
    safeIntegers: checkBoolean('safeIntegers', pick('safeIntegers')),
    create: checkBoolean('create', pick('create')),
    queryTimeout: given.queryTimeout === undefined ? undefined : checkInteger('queryTimeout', given.queryTimeout, 1, MAX_MS),
  });
}

/** Most requests in flight in native code at once; more wait in the JS backlog. */
const NATIVE_SLOTS = 4096;

/** The configuration handed to the addon. */
export function nativeConfig(options: ResolvedOptions): NativePoolConfig {
  return {
    path: options.path,
    memory: options.memory,
    create: options.create,
    readers: options.readers,
    busyTimeout: options.busyTimeout,
    cacheSize: options.cacheSize,
    statementCacheSize: options.statementCacheSize,
    synchronous: options.synchronous.toUpperCase(),
    pragmas: Object.entries(options.pragmas).map(([name, value]) => pragmaStatement(name, value)),
    slots: NATIVE_SLOTS,
    spinIterations: 256,
  };
}
