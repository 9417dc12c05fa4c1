// Owns db.backup(): an online backup taken with SQLite's backup API from the writer's own
// connection, `pagesPerStep` pages per writer request, so writes queued meanwhile run between two
// steps and, being made on the same connection, update the copy instead of restarting it. The
// copy goes to a temporary file beside `dest` and is renamed onto it once complete; an abort or a
// failure removes the temporary file and leaves `dest` untouched. `onProgress` is the user's:
// its throw, or the rejection of a promise it returns, fails the backup (`ProgressReports`).
// Runs on the JS thread.

import type { PoolContext } from '../api/context.ts';
import { describeType, invalidArgument } from '../errors.ts';
import { checkInteger, checkKeys, checkSignal } from '../input/validate.ts';
import { Op } from '../native/contract.ts';
import type { BackupProgress, BackupResult } from '../operations-types.ts';
import { WRITER } from '../request/route.ts';
import { copyFailure, discard, publish, temporaryBeside } from './copies.ts';

/** Pages copied per step unless `pagesPerStep` says otherwise (1 MiB of 4 KiB pages). */
export const DEFAULT_PAGES_PER_STEP = 256;

/**
 * While other requests are in flight, the backup pauses after each step for this many times the
 * step's duration: it then takes about a tenth of the writer's time (and of a core, and of the
 * disk's write bandwidth), and the pool's reads and writes keep most of theirs (measured with
 * bench/backup.mjs: a factor of 3 left writes at about half their rate on a 2-core machine, 10
 * kept them above 70%). An idle pool is copied at full speed.
 */
const YIELD_FACTOR = 10;

export interface BackupSettings {
  readonly pagesPerStep: number;
  readonly onProgress: ((progress: BackupProgress) => void) | undefined;
  readonly signal: AbortSignal | undefined;
}

/** The options of backup(), checked. */
export function checkBackupOptions(options: unknown): BackupSettings {
  const given = checkKeys('options', options, ['pagesPerStep', 'onProgress', 'signal']);
  if (given.onProgress !== undefined && typeof given.onProgress !== 'function') {
    throw invalidArgument(`onProgress must be a function, got ${describeType(given.onProgress)}`);
  }
  return {
    pagesPerStep: given.pagesPerStep === undefined ? DEFAULT_PAGES_PER_STEP : checkInteger('pagesPerStep', given.pagesPerStep, 1, 2 ** 31 - 1),
    onProgress: given.onProgress as BackupSettings['onProgress'],
    signal: checkSignal(given.signal),
  };
}

/** Resolves after `ms` milliseconds, or at once when `signal` aborts (the loop then sees it). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Calls the user's `onProgress`. A throw propagates (the backup fails with it). A promise it
 * returns is not waited for (a slow progress sink does not slow the copy, one that never settles
 * does not hold it), but its rejection is always handled, never left unhandled: one that comes
 * before the copy is put in place fails the backup with its reason, as a throw does, at the next
 * `check()` (after each step, before the next report, and once more just before `dest` is
 * replaced); one that comes later
 * (after the backup settled) is ignored.
 */
class ProgressReports {
  readonly #onProgress: ((progress: BackupProgress) => void) | undefined;
  #failure: { reason: unknown } | undefined;

  constructor(onProgress: ((progress: BackupProgress) => void) | undefined) {
    this.#onProgress = onProgress;
  }

  report(progress: BackupProgress): void {
    if (this.#onProgress === undefined) return;
    const returned: unknown = this.#onProgress(progress);
    if ((typeof returned === 'object' && returned !== null) || typeof returned === 'function') {
      // Promise.resolve adopts any thenable (a `then` that throws becomes a rejection).
      Promise.resolve(returned).then(undefined, (reason: unknown) => {
        this.#failure ??= { reason };
      });
    }
  }

  /** Throws the reason of the first rejection seen so far. */
  check(): void {
    if (this.#failure !== undefined) throw this.#failure.reason;
  }
}

/** `busy()`: true while other requests of the pool are in flight or queued. */
export async function backup(context: PoolContext, dest: string, settings: BackupSettings, busy: () => boolean): Promise<BackupResult> {
  const started = performance.now();
  const { requests } = context;
  const { signal, pagesPerStep } = settings;
  signal?.throwIfAborted();
  const progress = new ProgressReports(settings.onProgress);
  const temporary = temporaryBeside(dest);
  let running = false;
  try {
    await requests.run({ op: Op.BackupStart, route: WRITER, sql: temporary, internal: true });
    running = true;
    // Writes during the backup may grow the database: the total only grows and the remaining
    // count only shrinks, so progress never goes backwards.
    let total = 0;
    let remaining = Number.POSITIVE_INFINITY;
    for (;;) {
      signal?.throwIfAborted();
      const [done = 0, left = 0, pages = 0, micros = 0] = await requests.run({ op: Op.BackupStep, route: WRITER, chunkRows: pagesPerStep, signal, internal: true });
      progress.check(); // a promise of an earlier report rejected: fail before reporting again
      total = Math.max(total, pages);
      remaining = done ? 0 : Math.min(remaining, left, total);
      progress.report({ totalPages: total, remainingPages: remaining });
      if (done) break;
      if (busy()) await pause((micros / 1000) * YIELD_FACTOR, signal);
    }
    running = false;
    await requests.run({ op: Op.BackupEnd, route: WRITER, internal: true });
    await publish(temporary, dest, () => progress.check());
    return { pages: total, durationMs: performance.now() - started };
  } catch (error) {
    if (running) await requests.run({ op: Op.BackupEnd, route: WRITER, internal: true }).catch(() => undefined);
    discard(temporary);
    throw copyFailure(error, dest);
  }
}
