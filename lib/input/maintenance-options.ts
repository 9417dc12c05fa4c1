// Owns the checks of open()'s operations options, each with its default: `walMonitor`,
// `healthCheck` and `checkpointOnClose` (input/options.ts resolves the rest).

import { describeType, invalidArgument } from '../errors.ts';
import type { CheckpointOnClose } from '../options-types.ts';
import { checkChoice, checkInteger, checkMs, checkSwitchedKeys } from './validate.ts';

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
