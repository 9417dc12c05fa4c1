// Owns the copies of the database: db.vacuumInto(dest) (a compacted copy) and the file handling
// db.backup() shares with it: the copy is written under a temporary name beside `dest`, synced,
// and renamed onto `dest` only once complete, so a failure or an abort never leaves a file at
// `dest` (the temporary file is removed). Runs on the JS thread.

import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, openSync, readSync, realpathSync, rmSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { PoolContext } from '../api/context.ts';
import { describeType, invalidArgument, outOfRange, SqliteError } from '../errors.ts';
import { Op } from '../native/contract.ts';
import { WRITER } from '../request/route.ts';
import type { BackupResult } from '../operations-types.ts';

/**
 * `dest` checked: a path, and not the name of the database or of its -wal, -shm or -journal file
 * (the copy is renamed onto `dest`: it would replace a live file). Resolves it. `databaseFile` is
 * the database's absolute path as SQLite opened it. A directory is the same when it is the same
 * directory on disk (device and inode), however it is reached (symbolic links, bind mounts);
 * `dest`'s own last component is compared as a name, and a symbolic link there by what it points
 * to: a link is replaced by the rename, never what it points to, so a link to the database (the
 * path the pool may have been opened by) is refused too. File names compare without case where
 * the file system usually ignores it (macOS, Windows).
 */
export function checkDestination(dest: unknown, databaseFile: string, memory: boolean): string {
  if (typeof dest !== 'string') throw invalidArgument(`dest must be a path (a string), got ${describeType(dest)}`);
  if (dest === '' || dest.includes('\0')) throw outOfRange('dest must be a non-empty path without NUL characters');
  const target = resolve(dest);
  const problem = placeProblem(target);
  if (problem !== undefined) throw outOfRange(`dest ${problem} (${dest})`);
  if (memory) return target;
  const database = canonicalFile(databaseFile);
  const live = liveFileAt(target, database) ?? (isLink(target) ? liveFileAt(canonicalFile(target), database) : undefined);
  if (live !== undefined) {
    throw outOfRange(`dest must not be ${live === '' ? 'the database itself' : `the database's ${live} file`} (${dest})`);
  }
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
  try {
    // lstat: a link at `target` is replaced by the rename, whatever it points to.
    if (lstatSync(target).isDirectory()) return 'is a directory';
  } catch {
    // Nothing there yet.
  }
  return undefined;
}

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
 * Syncs `temporary` and renames it onto `dest`; the directory entry is synced too (best effort).
 * Asynchronous: syncing a large copy must not stall the event loop.
 */
export async function publish(temporary: string, dest: string): Promise<void> {
  const file = await fs.open(temporary, 'r+');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
  await fs.rename(temporary, dest);
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

/**
 * The error a copy to `dest` failed with, said in terms of `dest`: SQLite reports a file it cannot
 * create (SQLITE_CANTOPEN) without the path, or with the temporary file's name. Other errors are
 * returned as they are.
 */
export function copyFailure(error: unknown, dest: string): unknown {
  if (!(error instanceof SqliteError) || error.primaryCode !== 'SQLITE_CANTOPEN') return error;
  const failure = new SqliteError(error.errno, `cannot create the copy at ${dest}: no file can be created in its directory (${error.message})`, error.sql);
  failure.cause = error;
  return failure;
}

/** Removes a temporary file (and any journal SQLite left beside it); never throws. */
export function discard(temporary: string): void {
  for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${temporary}${suffix}`, { force: true });
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
    await context.requests.run({ op: Op.Run, route: WRITER, sql: 'VACUUM INTO ?', values: [temporary], names: undefined });
    const pages = pagesIn(temporary);
    await publish(temporary, dest);
    return { pages, durationMs: performance.now() - started };
  } catch (error) {
    discard(temporary);
    throw copyFailure(error, dest);
  }
}
