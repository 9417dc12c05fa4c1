// Owns the checks of open()'s operations options, each with its default: `walMonitor`,
// `healthCheck` and `checkpointOnClose` (input/options.ts resolves the rest); and the text of a
// copy's destination (backup(), vacuumInto()).

import { describeType, invalidArgument, outOfRange } from '../errors.ts';
import type { CheckpointOnClose } from '../options-types.ts';
import { checkChoice, checkInteger, checkMs, checkSwitchedKeys, checkWellFormedPath } from './validate.ts';

/** The WAL monitor's thresholds (bytes) and period (ms), checked. */
export interface WalMonitorOptions {
  readonly warnBytes: number;
  readonly checkpointBytes: number;
  readonly intervalMs: number;
}

/** The health probe's period (ms), checked. */
export interface HealthCheckOptions {
  readonly intervalMs: number;
}

const MIB = 1024 * 1024;

/** `walMonitor` option: false, or thresholds in bytes and a period in ms, each with a default. */
export function checkWalMonitor(value: unknown): WalMonitorOptions | false {
  const given = checkSwitchedKeys('walMonitor', value, ['warnBytes', 'checkpointBytes', 'intervalMs']);
  if (given === false) return false;
  return Object.freeze({
    warnBytes: given.warnBytes === undefined ? 64 * MIB : checkInteger('walMonitor.warnBytes', given.warnBytes, 1, Number.MAX_SAFE_INTEGER),
    checkpointBytes:
      given.checkpointBytes === undefined ? 4 * MIB : checkInteger('walMonitor.checkpointBytes', given.checkpointBytes, 1, Number.MAX_SAFE_INTEGER),
    intervalMs: given.intervalMs === undefined ? 1000 : checkMs('walMonitor.intervalMs', given.intervalMs, 10),
  });
}

/** `healthCheck` option: false, or { intervalMs } (default 30 000). */
export function checkHealthCheck(value: unknown): HealthCheckOptions | false {
  const given = checkSwitchedKeys('healthCheck', value, ['intervalMs']);
  if (given === false) return false;
  return Object.freeze({ intervalMs: given.intervalMs === undefined ? 30_000 : checkMs('healthCheck.intervalMs', given.intervalMs, 10) });
}

/** `checkpointOnClose`: 'truncate', 'passive' or false. */
export function checkCheckpointOnClose(value: unknown): CheckpointOnClose {
  if (value === false) return false;
  if (typeof value !== 'string') throw invalidArgument(`checkpointOnClose must be 'truncate', 'passive' or false, got ${describeType(value)}`);
  return checkChoice('checkpointOnClose', value, ['truncate', 'passive'] as const);
}

/** The longest file name most file systems take, in bytes (NAME_MAX on Linux and macOS). */
const NAME_MAX_BYTES = 255;

/**
 * `dest` of a copy (backup(), vacuumInto()), checked as text before any file is looked at: a
 * non-empty, non-blank path without NUL characters or lone surrogates whose last component names a file (not ''
 * after a trailing separator, not '.' or '..', which name directories, and not only blanks),
 * no longer than the 255 bytes a file name may have (the rename onto it would fail only after
 * the whole copy was made). The checks of what is on disk are in maintenance/copies.ts.
 */
export function checkDestinationName(dest: unknown): string {
  if (typeof dest !== 'string') throw invalidArgument(`dest must be a path (a string), got ${describeType(dest)}`);
  if (dest === '' || dest.includes('\0')) throw outOfRange('dest must be a non-empty path without NUL characters');
  if (dest.trim() === '') throw outOfRange(`dest must not be blank (${JSON.stringify(dest)})`);
  checkWellFormedPath('dest', dest);
  const separators = process.platform === 'win32' ? /[\\/]/ : /\//;
  const name = dest.split(separators).at(-1) ?? '';
  if (name === '' || name === '.' || name === '..') throw outOfRange(`dest must name a file, not a directory (${dest})`);
  if (name.trim() === '') throw outOfRange(`dest's file name must not be blank (${JSON.stringify(dest)})`);
  const length = process.platform === 'win32' ? name.length : Buffer.byteLength(name);
  if (length > NAME_MAX_BYTES) {
    throw outOfRange(`dest's file name is ${length} ${process.platform === 'win32' ? 'characters' : 'bytes'} long, more than the ${NAME_MAX_BYTES} a file name may have (${dest})`);
  }
  return dest;
}
