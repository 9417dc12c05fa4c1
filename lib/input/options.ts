// Owns the validation of open()'s options and their translation into the native configuration.
// Every option is checked here, with an error naming it; the native side trusts what it gets.

import { availableParallelism } from 'node:os';
import { isAbsolute, sep } from 'node:path';

import { describeType, invalidArgument, outOfRange } from '../errors.ts';
import { FAULT_ADDON_VARIABLE, binding } from '../native/binding.ts';
import type { NativePoolConfig } from '../native/native-pool.ts';
import { checkObservers } from '../observers/hub.ts';
import type { CheckedObserver } from '../observers/checked-observer.ts';
import type { NewConnection, Observer } from '../types.ts';
import type { CheckpointOnClose, PoolOptions, PragmaValue, Preset, Replication, RetryPolicy, SynchronousMode } from '../options-types.ts';
import { checkPragmas, pragmaStatement } from './pragmas.ts';
import { checkCheckpointOnClose, checkHealthCheck, checkWalMonitor, type HealthCheckOptions, type WalMonitorOptions } from './maintenance-options.ts';
import { checkBoolean, checkChoice, checkInteger, checkKeys, checkMs, checkNumber, checkSwitchedKeys, checkWellFormedPath, readPlainObject } from './validate.ts';
import { checkMigrateOptions } from '../migrations/index.ts';
import type { OpenMigrationOptions } from '../migrations/types.ts';
import { litestreamSettings } from '../replication/litestream.ts';
import { NATIVE_SLOTS } from '../request/backlog.ts';

/** The onConnection hook, once checked. */
export type ConnectionHook = (conn: NewConnection) => unknown;
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
  'acquireTimeout',
  'maxReadDuration',
  'retry',
  'preset',
  'groupCommit',
  'idleTimeout',
  'onConnection',
  'timeslice',
  'foreignKeys',
  'walMonitor',
  'healthCheck',
  'optimizeInterval',
  'observers',
  'migrations',
  'checkpointOnClose',
  'replication',
] as const satisfies readonly (keyof PoolOptions)[];

/**
 * Test-only option (not part of PoolOptions): `faultInjection: true` opens every connection of
 * the pool through the fault-injection VFS. Known only while the fault-injection test build of
 * the addon is loaded (see lib/binding.ts); anywhere else it is an unknown option.
 */
const FAULT_OPTION = 'faultInjection';

/** The fault-injection VFS, when the test build of the addon is the one loaded. */
function faultVfsName(): string | undefined {
  if (!process.env[FAULT_ADDON_VARIABLE]) return undefined;
  return binding().faultVfs?.name;
}

/**
 * Reader threads for `cores` cores available to the process: one per core plus one, at least `min`
 * and at most `max`. The event loop needs most of a core under load; readers beyond one per core
 * only time-share the cores with it and with each other (longer heavy-read tails, later timers),
 * and the one extra keeps the cores busy while a reader waits for the disk or is held by a lease
 * or an iteration. Measured on 1 and 2 cores only; docs/tuning.md has the figures.
 */
export function readersPerCores(cores: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.max(1, Math.floor(cores)) + 1));
}

/** What each preset sets; explicit options win over the preset's values. */
export const PRESETS = {
  /** Balanced for a typical web service. */
  default: {
    /** Reader threads for the cores available: one per core plus one, 2 to 8. */
    readers: (cores: number) => readersPerCores(cores, 2, 8),
    busyTimeout: 5000,
    acquireTimeout: 30_000,
    maxReadDuration: 60_000,
    idleTimeout: 86_400_000,
    synchronous: 'normal' as SynchronousMode,
    cacheSize: 16_000,
    statementCacheSize: 128,
    safeIntegers: false,
    create: true,
    pragmas: {} as Record<string, PragmaValue>,
    retry: undefined as RetryPolicy | undefined,
    timeslice: 1,
    foreignKeys: true,
  },
  /** Busy servers: more readers on big machines, bigger caches, memory-mapped I/O, patient timeouts, retries. */
  production: {
    /** One per core plus one as in 'default', up to 16. */
    readers: (cores: number) => readersPerCores(cores, 2, 16),
    busyTimeout: 10_000,
    acquireTimeout: 60_000,
    maxReadDuration: 120_000,
    idleTimeout: 86_400_000,
    synchronous: 'normal' as SynchronousMode,
    cacheSize: 64_000,
    statementCacheSize: 256,
    safeIntegers: false,
    create: true,
    pragmas: { temp_store: 'MEMORY', mmap_size: 268_435_456 } as Record<string, PragmaValue>,
    retry: { attempts: 3, baseDelay: 10, maxDelay: 250 } as RetryPolicy | undefined,
    timeslice: 1,
    foreignKeys: true,
  },
  /** Tests, scripts and small devices: one reader, small caches, short timeouts. */
  minimal: {
    readers: (_cores: number) => 1,
    busyTimeout: 1000,
    acquireTimeout: 5000,
    maxReadDuration: 30_000,
    idleTimeout: 3_600_000,
    synchronous: 'normal' as SynchronousMode,
    cacheSize: 2000,
    statementCacheSize: 16,
    safeIntegers: false,
    create: true,
    pragmas: {} as Record<string, PragmaValue>,
    retry: undefined as RetryPolicy | undefined,
    timeslice: 1,
    foreignKeys: true,
  },
} as const;

/** The validated, complete options a pool runs with. */
export interface ResolvedOptions {
  /** The database's path as given to open() (':memory:' for an in-memory database). */
  readonly path: string;
  /**
   * The database file's absolute path, resolved once at open: SQLite opens it there, and every
   * file the pool looks at later (-wal, backup destinations) is found from it even after
   * process.chdir() (':memory:' for an in-memory database).
   */
  readonly file: string;
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
  readonly acquireTimeout: number;
  readonly maxReadDuration: number;
  readonly retry: RetryPolicy | undefined;
  readonly preset: Preset;
  /** Group commit of plain writes: most writes per transaction and the wait for more (ms). */
  readonly groupCommit: { readonly maxBatch: number; readonly maxDelayMs: number } | false;
  readonly idleTimeout: number;
  readonly onConnection: ConnectionHook | undefined;
  /** Milliseconds a worker runs before it yields its core (0: never). */
  readonly timeslice: number;
  /** PRAGMA foreign_keys on every connection (before `pragmas`, which may override it). */
  readonly foreignKeys: boolean;
  /** The WAL monitor's thresholds and period; false when off (always off for `:memory:`). */
  readonly walMonitor: WalMonitorOptions | false;
  /** Period of the probe of idle connections; false when off. */
  readonly healthCheck: HealthCheckOptions | false;
  /** Period of `PRAGMA optimize` on the writer (undefined: only at open and close). */
  readonly optimizeInterval: number | undefined;
  /** Observers attached at open (each checked). */
  /** As the option check read them (hooks read once; the pool attaches these). */
  readonly observers: readonly CheckedObserver[];
  /** Migrations applied by open() before it resolves (validated; see lib/migrations/). */
  readonly migrations: Readonly<OpenMigrationOptions> | undefined;
  /** The writer's checkpoint when the pool closes (false: none). */
  readonly checkpointOnClose: CheckpointOnClose;
  /** The replication tool the pool cooperates with. */
  readonly replication: Replication;
  /** The SQLite VFS of every connection (undefined: the default); test builds only. */
  readonly vfs: string | undefined;
}

/** `groupCommit` option: true (defaults), false (off), or { maxBatch, maxDelayMs }. */
export function checkGroupCommit(value: unknown, name = 'groupCommit'): ResolvedOptions['groupCommit'] {
  const given = checkSwitchedKeys(name, value, ['maxBatch', 'maxDelayMs']);
  if (given === false) return false;
  return Object.freeze({
    maxBatch: given.maxBatch === undefined ? 256 : checkInteger(`${name}.maxBatch`, given.maxBatch, 1, 4096),
    maxDelayMs: given.maxDelayMs === undefined ? 0 : checkInteger(`${name}.maxDelayMs`, given.maxDelayMs, 0, 1000),
  });
}

function checkHook(value: unknown): ConnectionHook | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalidArgument(`onConnection must be a function, got ${describeType(value)}`);
  return value as ConnectionHook;
}

/** The fields of a `retry` object that neither it nor its preset sets. */
const RETRY_DEFAULTS: RetryPolicy = Object.freeze({ attempts: 3, baseDelay: 10, maxDelay: 1000 });

/**
 * `retry` option: false (off), or { attempts, baseDelay, maxDelay } whose missing fields come from
 * the preset's retry (`presetName`'s `preset`), else from RETRY_DEFAULTS, as `pragmas` merge over
 * the preset's.
 */
function checkRetry(value: unknown, preset: RetryPolicy | undefined, presetName: string): RetryPolicy | undefined {
  if (value === undefined || value === false) return undefined;
  const given = checkKeys('retry', value, ['attempts', 'baseDelay', 'maxDelay']);
  const fallback = preset ?? RETRY_DEFAULTS;
  const attempts = checkInteger('retry.attempts', given.attempts ?? fallback.attempts, 1, 100);
  const baseDelay = checkMs('retry.baseDelay', given.baseDelay ?? fallback.baseDelay, 0);
  const maxDelay = checkMs('retry.maxDelay', given.maxDelay ?? fallback.maxDelay, 0);
  if (maxDelay < baseDelay) {
    const origin = given.maxDelay !== undefined ? '' : preset ? `, the ${presetName} preset's` : ', the default';
    throw outOfRange(`retry.maxDelay (${maxDelay}${origin}) must not be below retry.baseDelay (${baseDelay})`);
  }
  return Object.freeze({ attempts, baseDelay, maxDelay });
}

/** `migrations` option: checked now (so a typo fails open() before anything runs), run by open(). */
function checkMigrations(value: unknown): Readonly<OpenMigrationOptions> | undefined {
  if (value === undefined) return undefined;
  // Read once: the copy checked is the one open() runs.
  const copy: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  readPlainObject('migrations', value, copy);
  checkMigrateOptions(copy, 'migrations');
  return Object.freeze(copy) as unknown as OpenMigrationOptions;
}

function isMemoryPath(path: string): boolean {
  return path === ':memory:';
}

/**
 * Validates `path` and `options`; throws a TypeError or RangeError naming the culprit. `cores`
 * (the CPU cores available to the process) sets the preset's number of readers when `readers` is
 * not given.
 */
export function resolveOptions(path: unknown, options: unknown, cores: number = availableParallelism()): ResolvedOptions {
  if (typeof path !== 'string') throw invalidArgument(`path must be a string, got ${describeType(path)}`);
  if (path.includes('\0')) throw outOfRange('path must not contain NUL characters');
  checkWellFormedPath('path', path);
  // Not taken as ':memory:': a configured path that came out empty would lose every write at close.
  if (path === '') throw outOfRange("path must not be empty (':memory:' opens an in-memory database)");
  const faultVfs = faultVfsName();
  const known: readonly string[] = faultVfs === undefined ? OPTION_NAMES : [...OPTION_NAMES, FAULT_OPTION];
  const given = checkKeys('options', options, known) as PoolOptions;
  const faultInjection = (given as Record<string, unknown>)[FAULT_OPTION];
  const preset = given.preset === undefined ? 'default' : checkChoice('preset', given.preset, ['default', 'production', 'minimal'] as const);
  const base = PRESETS[preset];
  const memory = isMemoryPath(path);
  const pick = <K extends keyof typeof base>(key: K): unknown => (given[key as keyof PoolOptions] === undefined ? base[key] : given[key as keyof PoolOptions]);
  const readers = checkInteger('readers', given.readers === undefined ? base.readers(cores) : given.readers, 0, 64);
  const replication = given.replication === undefined ? 'none' : checkChoice('replication', given.replication, ['none', 'litestream', 'litefs'] as const);
  if (memory && replication !== 'none') throw outOfRange(`replication: '${replication}' needs a database file, not ':memory:'`);
  const checkpointOnClose = given.checkpointOnClose === undefined ? undefined : checkCheckpointOnClose(given.checkpointOnClose);
  const busyTimeout = checkMs('busyTimeout', pick('busyTimeout'), 0);
  const maxReadDuration = checkMs('maxReadDuration', pick('maxReadDuration'));
  const pragmas = { ...base.pragmas, ...checkPragmas(given.pragmas, memory) };
  const replicated =
    replication === 'litestream'
      ? litestreamSettings({
          busyTimeout,
          busyTimeoutGiven: given.busyTimeout !== undefined,
          maxReadDuration,
          maxReadDurationGiven: given.maxReadDuration !== undefined,
          checkpointOnClose,
          pragmas,
        })
      : { busyTimeout, maxReadDuration, checkpointOnClose: checkpointOnClose ?? 'truncate', pragmas };
  return Object.freeze({
    preset,
    replication,
    checkpointOnClose: replicated.checkpointOnClose,
    acquireTimeout: checkMs('acquireTimeout', pick('acquireTimeout')),
    maxReadDuration: replicated.maxReadDuration,
    retry: given.retry === undefined ? base.retry : checkRetry(given.retry, base.retry, preset),
    groupCommit: checkGroupCommit(given.groupCommit),
    idleTimeout: checkMs('idleTimeout', pick('idleTimeout'), 1000),
    onConnection: checkHook(given.onConnection),
    observers: checkObservers(given.observers),
    timeslice: checkNumber('timeslice', pick('timeslice'), 0, 1000),
    foreignKeys: checkBoolean('foreignKeys', pick('foreignKeys')),
    walMonitor: checkWalMonitor(given.walMonitor) && !memory ? checkWalMonitor(given.walMonitor) : false,
    healthCheck: checkHealthCheck(given.healthCheck),
    optimizeInterval: given.optimizeInterval === undefined ? undefined : checkMs('optimizeInterval', given.optimizeInterval, 1000),
    path: memory ? ':memory:' : path,
    // Made absolute without normalizing: `link/..` must reach what the kernel (and SQLite) reach.
    file: memory ? ':memory:' : isAbsolute(path) ? path : `${process.cwd()}${sep}${path}`,
    memory,
    readers: memory ? 0 : readers,
    busyTimeout: replicated.busyTimeout,
    synchronous: checkChoice('synchronous', pick('synchronous'), ['off', 'normal', 'full', 'extra'] as const),
    cacheSize: checkInteger('cacheSize', pick('cacheSize'), 1, 2 ** 30),
    statementCacheSize: checkInteger('statementCacheSize', pick('statementCacheSize'), 0, 100_000),
    pragmas: Object.freeze({ ...replicated.pragmas }),
    safeIntegers: checkBoolean('safeIntegers', pick('safeIntegers')),
    create: checkBoolean('create', pick('create')),
    queryTimeout: given.queryTimeout === undefined ? undefined : checkMs('queryTimeout', given.queryTimeout),
    migrations: checkMigrations(given.migrations),
    vfs: faultInjection !== undefined && checkBoolean(FAULT_OPTION, faultInjection) ? faultVfs : undefined,
  });
}

/** The configuration handed to the addon. */
export function nativeConfig(options: ResolvedOptions): NativePoolConfig {
  return {
    path: options.file,
    memory: options.memory,
    create: options.create,
    readers: options.readers,
    busyTimeout: options.busyTimeout,
    cacheSize: options.cacheSize,
    statementCacheSize: options.statementCacheSize,
    synchronous: options.synchronous.toUpperCase(),
    closeCheckpoint: options.checkpointOnClose === false ? '' : options.checkpointOnClose === 'passive' ? 'PASSIVE' : 'TRUNCATE',
    // foreign_keys first: an explicit `pragmas.foreign_keys` still has the last word.
    pragmas: [pragmaStatement('foreign_keys', options.foreignKeys), ...Object.entries(options.pragmas).map(([name, value]) => pragmaStatement(name, value))],
    slots: NATIVE_SLOTS,
    spinMicros: 50,
    timesliceMicros: Math.round(options.timeslice * 1000),
    groupMaxBatch: options.groupCommit ? options.groupCommit.maxBatch : 1,
    groupMaxDelayMicros: options.groupCommit ? options.groupCommit.maxDelayMs * 1000 : 0,
    vfs: options.vfs ?? '',
  };
}
