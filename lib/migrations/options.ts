// Owns the validation of every migration option (db.migrate, db.migrations.*, and the
// `migrations` option of open()): TypeError or RangeError naming the option, before anything runs.

import { describeType, invalidArgument, outOfRange } from '../errors.ts';
import { checkBoolean, checkChoice, checkInteger, checkKeys, checkSignal, checkWellFormedPath, readArray } from '../input/validate.ts';
import { isVersion } from './semver.ts';
import { NAME } from './source.ts';
import type { MigrationDefinition, RepairOptions } from './types.ts';

const MAX_MS = 2 ** 31 - 1;
/** Default `lockTimeout`: long enough for another process's run of long migrations. */
export const DEFAULT_LOCK_TIMEOUT = 300_000;

/** A source: a directory, or a validated list. */
export type CheckedSource = { dir: string; migrations?: undefined } | { dir?: undefined; migrations: readonly MigrationDefinition[] };

export interface CheckedCommon {
  source: CheckedSource;
  lockTimeout: number;
  signal: AbortSignal | undefined;
}

export interface CheckedMigrate extends CheckedCommon {
  to: string | undefined;
  dryRun: boolean;
  allowOutOfOrder: boolean;
}

export interface CheckedRepair extends CheckedCommon {
  version: string;
  action: RepairOptions['action'];
}

export interface CheckedDown extends CheckedCommon {
  to: string;
  dryRun: boolean;
}

const SOURCE_KEYS = ['dir', 'migrations'] as const;
const MIGRATE_KEYS = [...SOURCE_KEYS, 'to', 'dryRun', 'allowOutOfOrder', 'lockTimeout', 'signal'] as const;
const OPEN_KEYS = [...SOURCE_KEYS, 'to', 'allowOutOfOrder', 'lockTimeout', 'signal'] as const;
const REPAIR_KEYS = [...SOURCE_KEYS, 'version', 'action', 'lockTimeout', 'signal'] as const;
const DOWN_KEYS = [...SOURCE_KEYS, 'to', 'dryRun', 'lockTimeout', 'signal'] as const;

function checkVersion(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidArgument(`${name} must be a version string, got ${describeType(value)}`);
  if (!isVersion(value)) throw outOfRange(`${name} must be a version MAJOR.MINOR.PATCH[-prerelease] without leading zeros, got '${value}'`);
  return value;
}

function checkStep(name: string, value: unknown, required: boolean): void {
  if (value === undefined && !required) return;
  if (typeof value === 'string') {
    if (value.trim() === '') throw outOfRange(`${name} must not be empty`);
    return;
  }
  if (typeof value !== 'function') throw invalidArgument(`${name} must be SQL text or a function (tx) => ..., got ${describeType(value)}`);
}

function checkList(value: unknown, where: string): readonly MigrationDefinition[] {
  const list = readArray(where, value, 'an array of { version, name, up, down? }');
  return Object.freeze(
    list.map((entry: unknown, index) => {
      const at = `${where}[${index}]`;
      const given = checkKeys(at, entry, ['version', 'name', 'up', 'down']);
      const version = checkVersion(`${at}.version`, given.version);
      if (typeof given.name !== 'string') throw invalidArgument(`${at}.name must be a string, got ${describeType(given.name)}`);
      if (!NAME.test(given.name)) throw outOfRange(`${at}.name may only hold letters, digits, _, - and . (got '${given.name}')`);
      checkStep(`${at}.up`, given.up, true);
      checkStep(`${at}.down`, given.down, false);
      return Object.freeze({ version, name: given.name, up: given.up, down: given.down }) as MigrationDefinition;
    }),
  );
}

function checkSource(given: Record<string, unknown>, where: string): CheckedSource {
  const prefix = where === 'options' ? '' : `${where}.`;
  if ((given.dir === undefined) === (given.migrations === undefined)) {
    throw invalidArgument(`${where} must hold exactly one of ${prefix}dir (a directory) and ${prefix}migrations (a list)`);
  }
  if (given.dir !== undefined) {
    if (typeof given.dir !== 'string') throw invalidArgument(`${prefix}dir must be a string, got ${describeType(given.dir)}`);
    if (given.dir === '' || given.dir.includes('\0')) throw outOfRange(`${prefix}dir must be a directory path`);
    checkWellFormedPath(`${prefix}dir`, given.dir);
    return { dir: given.dir };
  }
  return { migrations: checkList(given.migrations, `${prefix}migrations`) };
}

function checkCommon(given: Record<string, unknown>, where: string): CheckedCommon {
  const prefix = where === 'options' ? '' : `${where}.`;
  return {
    source: checkSource(given, where),
    lockTimeout: given.lockTimeout === undefined ? DEFAULT_LOCK_TIMEOUT : checkInteger(`${prefix}lockTimeout`, given.lockTimeout, 1, MAX_MS),
    // With the option's full name (migrations.signal for open()) in the message.
    signal: checkSignal(given.signal, `${prefix}signal`),
  };
}

/** Options of db.migrate(); `where` 'migrations' for the open() option (no dryRun there). */
export function checkMigrateOptions(value: unknown, where: 'options' | 'migrations' = 'options'): CheckedMigrate {
  if (value === undefined) throw invalidArgument(`${where} is required: { dir } or { migrations: [...] }`);
  const given = checkKeys(where, value, where === 'options' ? MIGRATE_KEYS : OPEN_KEYS);
  const prefix = where === 'options' ? '' : `${where}.`;
  return Object.freeze({
    ...checkCommon(given, where),
    to: given.to === undefined ? undefined : checkVersion(`${prefix}to`, given.to),
    dryRun: given.dryRun === undefined ? false : checkBoolean(`${prefix}dryRun`, given.dryRun),
    allowOutOfOrder: given.allowOutOfOrder === undefined ? false : checkBoolean(`${prefix}allowOutOfOrder`, given.allowOutOfOrder),
  });
}

/** Options of db.migrations.status(). */
export function checkStatusOptions(value: unknown): CheckedSource {
  if (value === undefined) throw invalidArgument('options is required: { dir } or { migrations: [...] }');
  return checkSource(checkKeys('options', value, SOURCE_KEYS), 'options');
}

/** Options of db.migrations.repair(). */
export function checkRepairOptions(value: unknown): CheckedRepair {
  if (value === undefined) throw invalidArgument('options is required: { dir, version, action }');
  const given = checkKeys('options', value, REPAIR_KEYS);
  return Object.freeze({
    ...checkCommon(given, 'options'),
    version: checkVersion('version', given.version),
    action: checkChoice('action', given.action, ['accept-checksum', 'forget', 'mark-applied'] as const),
  });
}

/** Options of db.migrations.down(). */
export function checkDownOptions(value: unknown): CheckedDown {
  if (value === undefined) throw invalidArgument('options is required: { dir, to }');
  const given = checkKeys('options', value, DOWN_KEYS);
  return Object.freeze({
    ...checkCommon(given, 'options'),
    to: checkVersion('to', given.to),
    dryRun: given.dryRun === undefined ? false : checkBoolean('dryRun', given.dryRun),
  });
}
