// Owns the copies of the database: db.vacuumInto(dest) (a compacted copy) and the file handling
// db.backup() shares with it: the copy is written under a temporary name beside `dest`, synced,
// and renamed onto `dest` only once complete, so a failure or an abort never leaves a file at
// `dest` (the temporary file is removed); the -wal, -shm and -journal files of the database that
// was at `dest` are removed first, so SQLite never applies them to the copy. Every failure is a
// LitepoolError: the checks before any work, SQLite's errors, and the file system's errors while
// the copy is put in place, said as SQLite errors naming `dest`. Runs on the JS thread.

import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, openSync, readFileSync, readSync, realpathSync, rmSync, statSync, type BigIntStats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { PoolContext } from '../api/context.ts';
import { describeError, outOfRange, SqliteError } from '../errors.ts';
import { checkDestinationName } from '../input/maintenance-options.ts';
import { Op } from '../native/contract.ts';
import { WRITER } from '../request/route.ts';
import type { BackupResult } from '../operations-types.ts';

/**
 * `dest` checked: a path naming a file (input/maintenance-options.ts), in a directory that exists,
 * where nothing but a regular file or a symbolic link is, not the name of the database or of its
 * -wal, -shm or -journal file (the copy is renamed onto `dest`: it would replace a live file),
 * and not a database another connection has open (`holderOf()`). Resolves it. `databaseFile` is
 * the database's absolute path as SQLite opened it. A directory is the same when it is the same
 * directory on disk (device and inode), however it is reached (symbolic links, bind mounts);
 * `dest`'s own last component is compared as a name, and a symbolic link there by what it points
 * to: a link is replaced by the rename, never what it points to, so a link to the database (the
 * path the pool may have been opened by) is refused too. File names compare without case where
 * the file system usually ignores it (macOS, Windows).
 */
export function checkDestination(dest: unknown, databaseFile: string, memory: boolean): string {
  const target = resolve(checkDestinationName(dest));
  const problem = placeProblem(target);
  if (problem !== undefined) throw outOfRange(`dest ${problem} (${dest})`);
  if (!memory) {
    const database = canonicalFile(databaseFile);
    const live = liveFileAt(target, database) ?? (isLink(target) ? liveFileAt(canonicalFile(target), database) : undefined);
    if (live !== undefined) {
      throw outOfRange(`dest must not be ${live === '' ? 'the database itself' : `the database's ${live} file`} (${dest})`);
    }
  }
  const holder = holderOf(target);
  if (holder !== undefined) throw inUse(target, holder);
  return target;
}

/**
 * Which of the database's files `path` names: '' for the database, '-wal', '-shm' or '-journal'
 * for one beside it; undefined for none of them.
 */
function liveFileAt(path: string, database: string): string | undefined {
  if (!sameDirectory(dirname(path), dirname(database))) return undefined;
  const fold = (name: string): string => (CASE_INSENSITIVE ? name.toLowerCase() : name);
  const name = fold(basename(path));
  return ['', '-wal', '-shm', '-journal'].find((suffix) => name === fold(basename(database) + suffix));
}

/** Whether `path` is a symbolic link. */
function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Why a copy cannot be written at `target` (checked before any work), or undefined. */
function placeProblem(target: string): string | undefined {
  try {
    if (!statSync(dirname(target)).isDirectory()) return 'is inside something that is not a directory';
  } catch {
    return 'is in a directory that does not exist';
  }
  // lstat: a link at `target` is replaced by the rename, whatever it points to.
  const there = entryAt(target);
  if (there?.isDirectory()) return 'is a directory';
  if (there !== undefined && !there.isFile() && !there.isSymbolicLink()) return 'is not a regular file (a FIFO, a socket or a device)';
  // The files of the database at `target` are removed before the copy replaces it.
  const side = STALE.find((suffix) => entryAt(`${target}${suffix}`)?.isDirectory());
  return side === undefined ? undefined : `has a directory beside it named as its ${side} file`;
}

/** What is at `path` (not following a symbolic link), or undefined: nothing, or it cannot be looked at (a name too long). */
function entryAt(path: string): ReturnType<typeof lstatSync> {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** The files SQLite keeps beside a database, which it would apply to whatever file is at their database's name. */
const STALE = ['-wal', '-shm', '-journal'] as const;

/**
 * On Linux, the process that holds a lock on the database at `target` or on its -shm file, as
 * /proc/locks lists them (a SQLite connection holds both while it is open in WAL mode, and a lock
 * on the database during any transaction in the other modes); undefined when none is seen, and
 * on other systems. It only reads /proc/locks and stats the files: a file of a database opened or
 * closed outside SQLite would lose the locks this process holds on it. A lock is matched by
 * device and inode (/proc/locks gives the major and minor device numbers in hex).
 */
function holderOf(target: string): number | undefined {
  if (process.platform !== 'linux') return undefined;
  const files: BigIntStats[] = [];
  for (const path of [target, `${target}-shm`]) {
    try {
      const stats = lstatSync(path, { bigint: true, throwIfNoEntry: false });
      if (stats?.isFile()) files.push(stats);
    } catch {
      // Cannot be looked at: not seen.
    }
  }
  if (files.length === 0) return undefined;
  let table: string;
  try {
    table = readFileSync('/proc/locks', 'latin1');
  } catch {
    return undefined;
  }
  const wanted = new Set(files.map((stats) => `${deviceNumbers(stats.dev)}:${stats.ino}`));
  for (const line of table.split('\n')) {
    const match = /^\d+:\s+(?:->\s+)?\S+\s+\S+\s+\S+\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (match && wanted.has(`${parseInt(match[2]!, 16)}:${parseInt(match[3]!, 16)}:${match[4]}`)) return Number(match[1]);
  }
  return undefined;
}

/** `major:minor` of a Linux device number as stat() gives it (glibc's encoding). */
function deviceNumbers(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** The refusal of a destination another connection has open: SQLITE_BUSY, as a locked database. */
function inUse(target: string, pid: number): SqliteError {
  const who = pid === process.pid ? 'this process' : pid > 0 ? `process ${pid}` : 'another process';
  return new SqliteError(
    SQLITE_BUSY,
    `cannot replace ${target}: it is a database in use (${who} holds a lock on it); close its connections first, or copy to another name`,
  );
}

const SQLITE_BUSY = 5;
const SQLITE_CANTOPEN = 14;
const SQLITE_IOERR_FSYNC = 1034;

/** File systems of these platforms ignore case by default. */
const CASE_INSENSITIVE = process.platform === 'darwin' || process.platform === 'win32';

/** The file at `path` with every symbolic link followed (as it was given when it cannot be). */
function canonicalFile(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

/** Whether two directory paths name one directory on disk (as strings when either cannot be read). */
function sameDirectory(a: string, b: string): boolean {
  try {
    const one = statSync(a);
    const other = statSync(b);
    return one.dev === other.dev && one.ino === other.ino;
  } catch {
    return resolve(a) === resolve(b);
  }
}

/**
 * The longest file name most file systems take (bytes), less room for the `-journal` SQLite may
 * create beside the temporary file.
 */
const TEMPORARY_NAME_BYTES = 255 - '-journal'.length;

/**
 * A temporary name beside `dest`, in the same directory (so the rename stays on one file system):
 * `.<name>.<pid>-<random>.tmp`, `<name>` shortened when the whole would be too long a file name.
 */
export function temporaryBeside(dest: string): string {
  const suffix = `.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  let name = '';
  let room = TEMPORARY_NAME_BYTES - 1 - suffix.length;
  for (const character of basename(dest)) {
    room -= Buffer.byteLength(character);
    if (room < 0) break;
    name += character;
  }
  return join(dirname(dest), `.${name}${suffix}`);
}

/**
 * Puts the complete copy at `temporary` in place as `dest`: syncs it, runs `beforeReplace` (which
 * may throw to give the copy up: backup()'s onProgress that rejected), checks `dest` again as
 * before the copy (it may have changed meanwhile), removes the -wal, -shm and -journal files
 * beside `dest`, renames `temporary` onto it, and syncs the directory entry (best effort).
 * Asynchronous: syncing a large copy must not stall the event loop. The file system's errors come
 * out as SqliteErrors naming `dest` (`placeFailure()`), with the Node error as their cause.
 *
 * The stale files go before the rename, not after it. SQLite applies a valid -wal (and a hot
 * -journal) to whatever file bears their database's name, and nothing in them ties them to the
 * file they came from: left in place, the WAL of the database that was at `dest` (a process
 * killed while it had it open, `checkpointOnClose: false`) would be replayed onto the copy when
 * it is opened, silently bringing the old data back. Removed after the rename, there would be a
 * moment when the copy sits beside the old WAL: a process opening `dest` then reads the old
 * data, and may checkpoint it into the copy for good; and a crash of this process between the two
 * steps would leave exactly that pairing behind. Removed before, the moment is one when the old
 * database, about to be replaced anyway, sits without its side files: an opener reads it as of its
 * last checkpoint, and a crash leaves `dest` the old database, possibly missing its last commits.
 * What stays open is a process that opens `dest` in that moment and writes before the rename:
 * its new WAL would be applied to the copy. A database that other connections use while it is
 * replaced cannot be made safe without SQLite's locks on it, so one seen in use (`holderOf()`,
 * Linux) is refused, when backup() or vacuumInto() is called and again just before this.
 */
export async function publish(temporary: string, dest: string, beforeReplace?: () => void): Promise<void> {
  const file = await onDisk(dest, 'opening the copy', SQLITE_CANTOPEN, () => fs.open(temporary, 'r+'));
  try {
    await onDisk(dest, 'syncing the copy', SQLITE_IOERR_FSYNC, () => file.sync());
  } finally {
    await file.close().catch(() => undefined);
  }
  beforeReplace?.();
  const problem = placeProblem(dest);
  if (problem !== undefined) throw placeFailure(dest, `it ${problem} now`, SQLITE_CANTOPEN);
  const holder = holderOf(dest);
  if (holder !== undefined) throw inUse(dest, holder);
  await onDisk(dest, 'removing the files of the database it replaces', SQLITE_CANTOPEN, async () => {
    for (const suffix of STALE) {
      await fs.unlink(`${dest}${suffix}`).catch((error: NodeJS.ErrnoException) => {
        // None there (ENAMETOOLONG: a name that long cannot exist).
        if (error.code !== 'ENOENT' && error.code !== 'ENAMETOOLONG') throw error;
      });
    }
  });
  await onDisk(dest, 'renaming the copy onto it', SQLITE_CANTOPEN, () => fs.rename(temporary, dest));
  try {
    const dir = await fs.open(dirname(dest), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Some platforms cannot open or sync a directory; the rename itself is done.
  }
}

/** Runs `step`, a file-system step of putting the copy at `dest`; its failure as `placeFailure()`. */
async function onDisk<T>(dest: string, step: string, errno: number, run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw placeFailure(dest, `${step} failed: ${describeError(error)}`, errno, error);
  }
}

/**
 * A failure to put the copy at `dest` (its directory removed, a directory or a FIFO made there
 * during the copy, a full disk at the sync...), said as SQLite says a file it cannot create
 * (SQLITE_CANTOPEN) or a failed sync (SQLITE_IOERR_FSYNC), naming `dest`; `cause`: what failed.
 */
function placeFailure(dest: string, why: string, errno: number, cause?: unknown): SqliteError {
  const failure = new SqliteError(errno, `cannot put the copy at ${dest}: ${why}`);
  if (cause !== undefined) failure.cause = cause;
  placeFailures.add(failure);
  return failure;
}

/** The errors of `placeFailure()`: they name `dest` already. */
const placeFailures = new WeakSet<object>();

/**
 * The error a copy to `dest` failed with, said in terms of `dest`: SQLite reports a file it cannot
 * create (SQLITE_CANTOPEN) without the path, or with the temporary file's name. Other errors are
 * returned as they are (the abort's reason, onProgress's error, litepool's errors).
 */
export function copyFailure(error: unknown, dest: string): unknown {
  if (!(error instanceof SqliteError) || error.primaryCode !== 'SQLITE_CANTOPEN' || placeFailures.has(error)) return error;
  const failure = new SqliteError(error.errno, `cannot create the copy at ${dest}: no file can be created in its directory (${error.message})`, error.sql);
  failure.cause = error;
  return failure;
}

/** Removes a temporary file (and any journal SQLite left beside it); never throws. */
export function discard(temporary: string): void {
  for (const suffix of ['', '-journal', '-wal', '-shm']) {
    try {
      rmSync(`${temporary}${suffix}`, { force: true });
    } catch {
      // Left behind (a directory made there, no permission): it is safe to delete.
    }
  }
}

/** Pages in the database file at `path`: its size over the page size in its header. */
export function pagesIn(path: string): number {
  const header = Buffer.alloc(18);
  const fd = openSync(path, 'r');
  try {
    if (readSync(fd, header, 0, 18, 0) < 18) return 0;
  } finally {
    closeSync(fd);
  }
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65_536 : raw;
  return pageSize > 0 ? Math.floor(statSync(path).size / pageSize) : 0;
}

/** VACUUM INTO a temporary file on the writer, then publish it as `dest`. */
export async function vacuumInto(context: PoolContext, dest: string): Promise<BackupResult> {
  const started = performance.now();
  const temporary = temporaryBeside(dest);
  try {
    // The pool's own request: stats().operations counts the call (toolkit.ts).
    await context.requests.run({ op: Op.Run, route: WRITER, sql: 'VACUUM INTO ?', values: [temporary], names: undefined, internal: true });
    const pages = await onDisk(dest, 'reading the copy', SQLITE_CANTOPEN, () => pagesIn(temporary));
    await publish(temporary, dest);
    return { pages, durationMs: performance.now() - started };
  } catch (error) {
    discard(temporary);
    throw copyFailure(error, dest);
  }
}
