// Owns what `replication: 'litestream'` changes in a pool's options: the rules Litestream's
// documentation asks of an application, applied when the options are resolved.
//
// Litestream (https://litestream.io) replicates the WAL by owning checkpoints: it holds a read
// transaction so that no one else can restart the WAL, and copies frames out before it lets
// them go. An application that runs its own RESTART or TRUNCATE checkpoint, or races Litestream
// with autocheckpoints, makes it lose its place and start a new generation. So, under 'litestream':
// - checkpointOnClose defaults to 'passive'; 'truncate' is refused (a RangeError): a TRUNCATE
//   that completes restarts the WAL behind its back (at close it no longer waits for
//   Litestream's read lock: it gives up at once);
// - busyTimeout must be at least 5000 ms (https://litestream.io/tips/#busy-timeout): an explicit
//   smaller value is refused, a preset's smaller value is raised to 5000;
// - wal_autocheckpoint = 0 on every connection unless `pragmas` says otherwise
//   (https://litestream.io/tips/#disable-autocheckpoints-for-high-write-load-servers);
// - maxReadDuration defaults to busyTimeout, and an explicit longer value draws a process warning:
//   a read snapshot pins the WAL, and a forced checkpoint of Litestream's waiting on it holds
//   up every writer (Litestream issue #724).

import { outOfRange } from '../errors.ts';
import type { PragmaValue } from '../options-types.ts';

/** Litestream's recommended busy timeout, the least litepool accepts under 'litestream'. */
export const LITESTREAM_MIN_BUSY_TIMEOUT = 5000;

/** The code of the process warning about long read snapshots under 'litestream'. */
export const LONG_READS_WARNING = 'LITEPOOL_LITESTREAM_LONG_READS';

/** The options Litestream cares about, and whether the user gave them (or a preset did). */
export interface LitestreamInputs {
  busyTimeout: number;
  busyTimeoutGiven: boolean;
  maxReadDuration: number;
  maxReadDurationGiven: boolean;
  /** undefined: not given. */
  checkpointOnClose: 'truncate' | 'passive' | false | undefined;
  /** The pragmas the user gave (after the preset's). */
  pragmas: Readonly<Record<string, PragmaValue>>;
}

export interface LitestreamSettings {
  busyTimeout: number;
  maxReadDuration: number;
  checkpointOnClose: 'passive' | false;
  pragmas: Readonly<Record<string, PragmaValue>>;
}

/** Applies the rules above; throws a RangeError for a choice Litestream cannot live with. */
export function litestreamSettings(inputs: LitestreamInputs): LitestreamSettings {
  if (inputs.checkpointOnClose === 'truncate') {
    throw outOfRange(
      "checkpointOnClose: 'truncate' cannot be used with replication: 'litestream': Litestream owns the checkpoints that " +
        "restart the WAL (use 'passive', the default under 'litestream', or false)",
    );
  }
  if (inputs.busyTimeoutGiven && inputs.busyTimeout < LITESTREAM_MIN_BUSY_TIMEOUT) {
    throw outOfRange(
      `busyTimeout must be at least ${LITESTREAM_MIN_BUSY_TIMEOUT} ms with replication: 'litestream' (got ${inputs.busyTimeout}): ` +
        'Litestream takes short write locks to checkpoint, and its documentation asks applications to wait 5 seconds for them',
    );
  }
  const busyTimeout = Math.max(inputs.busyTimeout, LITESTREAM_MIN_BUSY_TIMEOUT);
  const maxReadDuration = inputs.maxReadDurationGiven ? inputs.maxReadDuration : Math.min(inputs.maxReadDuration, busyTimeout);
  if (maxReadDuration > busyTimeout) {
    process.emitWarning(
      `maxReadDuration (${maxReadDuration} ms) is longer than busyTimeout (${busyTimeout} ms) under replication: 'litestream'. ` +
        "A read snapshot that long pins the WAL, and while Litestream's forced checkpoint waits for it, writes wait too and " +
        'can fail with SQLITE_BUSY. Keep maxReadDuration at or below busyTimeout (see docs/scale-out.md).',
      { code: LONG_READS_WARNING },
    );
  }
  return {
    busyTimeout,
    maxReadDuration,
    checkpointOnClose: inputs.checkpointOnClose === undefined ? 'passive' : inputs.checkpointOnClose,
    pragmas: { wal_autocheckpoint: 0, ...inputs.pragmas },
  };
}
