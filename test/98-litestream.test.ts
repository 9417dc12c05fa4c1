// Covers replication: 'litestream' against the real Litestream (0.3.13, the binary of the
// @flydotio/litestream-<platform>-<arch> npm package), replicating to a file replica:
// - sustained mixed writes from a child process (group-committed db.run, transactions,
//   insertMany, passive checkpoints through exec, reads); restored into a new file, every
//   acknowledged write is there, integrity_check is ok, and the whole run is one generation;
// - close() leaves the WAL to Litestream: the -wal file is not truncated;
// - the writing process killed with SIGKILL mid-load, a new one started: replication goes on in
//   the same generation and the restore holds every acknowledged row of all three processes;
// - a restore to a point in time (-timestamp) between two processes holds exactly the rows
//   acknowledged before it.
// The writers run test/fixtures/litestream-writer.mjs against the compiled dist/, which beforeAll
// builds. Without the binary for this platform, the suite is skipped and its title says why.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../lib/index.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const writerScript = fileURLToPath(new URL('./fixtures/litestream-writer.mjs', import.meta.url));
const binaryPackage = `@flydotio/litestream-${process.platform}-${process.arch}`;

/** The Litestream binary installed from npm for this platform, or why there is none. */
function findLitestream(): { binary?: string; reason?: string } {
  try {
    const binary = join(dirname(createRequire(import.meta.url).resolve(`${binaryPackage}/package.json`)), 'litestream');
    if (!existsSync(binary)) return { reason: `${binaryPackage} has no litestream binary` };
    const version = execFileSync(binary, ['version'], { encoding: 'utf8' }).trim();
    if (!version.startsWith('v0.3.')) return { reason: `expected Litestream 0.3.x, found ${version}` };
    return { binary };
  } catch {
    return { reason: `${binaryPackage} is not installed (no Litestream binary from npm for ${process.platform}-${process.arch})` };
  }
}

const { binary, reason } = findLitestream();
const title = binary ? 'Litestream 0.3.13 replicating a litepool database' : `Litestream: SKIPPED, ${reason}`;
if (!binary) console.warn(`test/98-litestream.test.ts skipped: ${reason}`);

let dir: string;
let database: string;
let config: string;
let litestream: ChildProcess | undefined;
let litestreamLog = '';

async function litestreamCommand(args: string[]): Promise<string> {
  const { stdout } = await run(binary!, args, { encoding: 'utf8', timeout: 30_000 });
  return stdout;
}

/** The generations of the file replica, by name. */
async function generations(): Promise<string[]> {
  const out = await litestreamCommand(['generations', '-config', config, database]);
  return out
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((columns) => columns.length >= 2 && columns[0] === 'file')
    .map((columns) => columns[1]!);
}

/** Restores the replica into a new file (at `timestamp` when given); returns its path. */
async function restore(name: string, timestamp?: string): Promise<string> {
  const out = join(dir, name);
  for (const suffix of ['', '-wal', '-shm']) rmSync(out + suffix, { force: true });
  await litestreamCommand(['restore', '-config', config, '-o', out, ...(timestamp ? ['-timestamp', timestamp] : []), database]);
  return out;
}

/** The keys in a restored file, after checking its integrity. */
async function restoredKeys(file: string): Promise<Set<string>> {
  const db = await open(file, { readers: 1, create: false });
  try {
    expect(await db.all('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    const rows = await db.all<{ id: string }>('SELECT id FROM acks');
    return new Set(rows.map((row) => row.id));
  } finally {
    await db.close();
  }
}

/** Restores until every key in `expected` is in the restore (Litestream syncs every 100 ms). */
async function restoreHolding(expected: Iterable<string>, name: string): Promise<Set<string>> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const keys = await restoredKeys(await restore(name));
    const missing = [...expected].filter((key) => !keys.has(key));
    if (missing.length === 0) return keys;
    if (Date.now() > deadline) {
      throw new Error(`${missing.length} acknowledged writes missing from the restore, e.g. ${missing.slice(0, 3).join(', ')}\n${litestreamLog.slice(-3000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

interface WriterResult {
  acks: string[];
  closed: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs the writer fixture for `durationMs`; with `killAfterMs`, runs it until killed and sends
 * SIGKILL once that long has passed and at least 500 writes were acknowledged.
 */
function runWriter(tag: string, durationMs: number, killAfterMs?: number): Promise<WriterResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writerScript, database, tag, String(killAfterMs === undefined ? durationMs : 0)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = Date.now();
    let stdout = '';
    let stderr = '';
    let killed = false;
    const complete = () => stdout.slice(0, stdout.lastIndexOf('\n') + 1).split('\n');
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (killAfterMs !== undefined && !killed && Date.now() - started >= killAfterMs && complete().length > 500) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const bound = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(bound);
      const lines = complete();
      resolve({
        acks: lines.filter((line) => line.startsWith('ack ')).map((line) => line.slice(4)),
        closed: lines.includes('closed'),
        code,
        signal,
        stderr,
      });
    });
  });
}

describe.skipIf(!binary)(title, () => {
  const acknowledged = { a: [] as string[], b: [] as string[], c: [] as string[] };
  let generation: string;
  let betweenAandB: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'litepool-litestream-'));
    database = join(dir, 'app.db');
    config = join(dir, 'litestream.yml');
    writeFileSync(
      config,
      [
        'dbs:',
        `  - path: ${database}`,
        '    monitor-interval: 100ms',
        '    replicas:',
        '      - type: file',
        `        path: ${join(dir, 'replica')}`,
        '        sync-interval: 100ms',
        '',
      ].join('\n'),
    );
    // The fixtures run outside vitest, so they import the compiled library.
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
    const db = await open(database, { replication: 'litestream' });
    await db.exec('CREATE TABLE acks (id TEXT PRIMARY KEY, lane TEXT NOT NULL, pad TEXT NOT NULL)');
    await db.close();
    litestream = spawn(binary!, ['replicate', '-config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    litestream.stdout!.setEncoding('utf8').on('data', (chunk: string) => (litestreamLog += chunk));
    litestream.stderr!.setEncoding('utf8').on('data', (chunk: string) => (litestreamLog += chunk));
    const deadline = Date.now() + 15_000;
    while ((await generations()).length === 0) {
      if (Date.now() > deadline) throw new Error(`Litestream started no generation:\n${litestreamLog}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  afterAll(async () => {
    if (litestream && litestream.exitCode === null) {
      const exited = new Promise((resolve) => litestream!.once('exit', resolve));
      litestream.kill('SIGTERM');
      const bound = setTimeout(() => litestream!.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(bound);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('replicates sustained mixed writes: the restore holds every acknowledged write, in one generation', async () => {
    const a = await runWriter('a', 6000);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(a.closed).toBe(true);
    acknowledged.a = a.acks;
    for (const lane of ['run', 'tx', 'many']) expect(a.acks.some((key) => key.startsWith(`a:${lane}:`))).toBe(true);
    expect(a.acks.length).toBeGreaterThan(1000);

    // close() ran a passive checkpoint at most: the WAL is still there for Litestream.
    expect(statSync(`${database}-wal`).size).toBeGreaterThan(0);

    const keys = await restoreHolding(a.acks, 'restore-a.db');
    expect(keys.size).toBeGreaterThanOrEqual(a.acks.length);
    const names = await generations();
    expect(names).toHaveLength(1);
    generation = names[0]!;

    // A point in time after everything of the first writer was replicated, before the next starts.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    betweenAandB = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 1100));
  });

  it('goes on after the writer is killed with SIGKILL mid-load: same generation, every acknowledged row restored', async () => {
    const b = await runWriter('b', 0, 3000);
    expect(b.signal).toBe('SIGKILL');
    expect(b.closed).toBe(false);
    expect(b.acks.length).toBeGreaterThan(500);
    acknowledged.b = b.acks;

    const c = await runWriter('c', 4000);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(c.closed).toBe(true);
    expect(c.acks.length).toBeGreaterThan(500);
    acknowledged.c = c.acks;
    expect(statSync(`${database}-wal`).size).toBeGreaterThan(0);

    await restoreHolding([...acknowledged.a, ...acknowledged.b, ...acknowledged.c], 'restore-abc.db');
    expect(await generations()).toEqual([generation]);
  });

  it('restores to a point in time: exactly what was acknowledged before it', async () => {
    expect(betweenAandB).toBeDefined();
    const keys = await restoredKeys(await restore('restore-at.db', betweenAandB));
    expect(acknowledged.a.filter((key) => !keys.has(key))).toEqual([]);
    const later = [...keys].filter((key) => !key.startsWith('a:'));
    expect(later).toEqual([]);
  });
});
