// Owns the stall hunt: rounds of mixed work on fresh pools — point reads, scans, writes, write
// queues under every overflow policy, batches, bulk inserts, transactions (committed, rolled back,
// with timers inside), read snapshots, reader and writer leases (a reader lease with a plain read
// submitted in the same tick, the pattern of the lost reader wake-up), iterations stopped early,
// operations aborted before and while they run, operation timeouts, checkpoints, and timers between
// everything — with a watchdog that prints the pool's stats() and what is outstanding whenever no
// operation has completed for 5 s while some were outstanding. A stall that lasts 60 s ends the
// hunt with exit code 2; an operation failing in a way the workload does not expect ends it with
// exit code 1 at the end. Prints a progress line every 30 s and a JSON summary at the end.
//
// Usage: node scripts/soak/stall-hunt.mjs [--seconds N] [--seed N] [--concurrency N]
//   (default 1800 s; imports the compiled library from dist/: run `npm run build:ts` first)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const { open, WriteQueue } = await import(new URL('../../dist/index.js', import.meta.url).href);

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}
const seconds = option('seconds', 1800);
const seed = option('seed', Date.now() >>> 0);
const concurrency = option('concurrency', 16);
const STALL_MS = 5000;
const GIVE_UP_MS = 60_000;

/** A small seeded generator, so that a run can be described by its seed. */
let state = seed >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const below = (n) => Math.floor(random() * n);
const pick = (items) => items[below(items.length)];

// ---- progress and the watchdog ----

const outstanding = new Map();
let nextOp = 0;
let lastCompletion = performance.now();
let maxGapMs = 0;
let completed = 0;
const byKind = new Map();
const expected = new Map();
const unexpected = [];
let stalls = 0;
let stalledSince = 0;
let pool;
let roundNumber = 0;

/** Tracks one operation: outstanding until it settles; its settling is progress. */
function track(kind, promise) {
  const id = nextOp++;
  outstanding.set(id, { kind, started: performance.now() });
  const settle = () => {
    const now = performance.now();
    if (outstanding.size > 0) maxGapMs = Math.max(maxGapMs, now - lastCompletion);
    outstanding.delete(id);
    lastCompletion = now;
    completed++;
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  };
  promise.then(settle, settle);
  return promise;
}

/** Errors the workload causes on purpose; anything else is a finding. */
const EXPECTED = new Set([
  'AbortError',
  'LITEPOOL_OPERATION_TIMEOUT',
  'LITEPOOL_QUEUE_FULL',
  'LITEPOOL_QUEUE_TIMEOUT',
  'LITEPOOL_TRANSACTION_TIMEOUT',
  'LITEPOOL_ACQUIRE_TIMEOUT',
  'SQLITE_CONSTRAINT_PRIMARYKEY',
  'STALL_HUNT_ROLLBACK',
]);

function classify(error, kind) {
  const code = error?.name === 'AbortError' ? 'AbortError' : (error?.code ?? error?.name ?? String(error));
  if (EXPECTED.has(code)) {
    expected.set(code, (expected.get(code) ?? 0) + 1);
    return;
  }
  unexpected.push({ round: roundNumber, kind, code, message: String(error?.message ?? error).slice(0, 300) });
  if (unexpected.length <= 5) console.error(`unexpected failure in round ${roundNumber} (${kind}): ${code}: ${error?.message ?? error}`);
}

/** Runs an operation whose failure may be expected. */
async function attempt(kind, make) {
  try {
    return await track(kind, make());
  } catch (error) {
    classify(error, kind);
    return undefined;
  }
}

function outstandingSummary() {
  const now = performance.now();
  const kinds = {};
  let oldest = 0;
  for (const { kind, started } of outstanding.values()) {
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    oldest = Math.max(oldest, now - started);
  }
  return { count: outstanding.size, kinds, oldestMs: Math.round(oldest) };
}

const watchdog = setInterval(() => {
  const now = performance.now();
  const quiet = now - lastCompletion;
  if (outstanding.size === 0 || quiet < STALL_MS) {
    if (stalledSince) {
      console.log(`stall ended after ${Math.round((now - stalledSince) / 1000)} s`);
      stalledSince = 0;
    }
    return;
  }
  if (!stalledSince) {
    stalledSince = now;
    stalls++;
  }
  let stats;
  try {
    stats = pool?.stats();
  } catch (error) {
    stats = `stats() failed: ${error}`;
  }
  console.log(
    `STALL: no operation completed for ${Math.round(quiet)} ms (round ${roundNumber}, seed ${seed})\n` +
      `  outstanding: ${JSON.stringify(outstandingSummary())}\n  stats(): ${JSON.stringify(stats)}`,
  );
  if (quiet > GIVE_UP_MS) {
    console.log('giving up: the stall lasted 60 s');
    process.exit(2);
  }
}, 1000);

// ---- the workload ----

const BODY = 'x'.repeat(64);
let nextId = 1_000_000;

function abortSoon(kind, make) {
  const controller = new AbortController();
  const when = below(3);
  if (when === 0) queueMicrotask(() => controller.abort());
  else setTimeout(() => controller.abort(), below(3));
  return attempt(kind, () => make(controller.signal));
}

const actions = [
  ['get', (db) => attempt('get', () => db.get('SELECT id, v, body FROM t WHERE id = ?', [1 + below(500)]))],
  ['all', (db) => attempt('all', () => db.all('SELECT id, v FROM t WHERE id BETWEEN ? AND ?', [1, 1 + below(200)]))],
  ['run', (db) => attempt('run', () => db.run('INSERT INTO t (v, body) VALUES (?, ?)', [below(1000), BODY]))],
  ['duplicate', (db) => attempt('duplicate', () => db.run('INSERT INTO u (k) VALUES (?)', [below(50)]))],
  ['batch', (db) => attempt('batch', () => db.batch([
    { sql: 'INSERT INTO t (v, body) VALUES (?, ?)', params: [1, BODY] },
    { sql: 'UPDATE t SET v = v + 1 WHERE id = ?', params: [1 + below(100)] },
    { sql: 'DELETE FROM t WHERE id = ?', params: [nextId++] },
  ]))],
  ['insertMany', (db) => attempt('insertMany', () => db.insertMany('t', Array.from({ length: 20 + below(60) }, () => ({ v: below(9), body: BODY }))))],
  ['queue', (db, round) => {
    const queue = round.queue;
    const entries = Array.from({ length: 1 + below(30) }, () => {
      if (random() < 0.5) {
        queue.push('INSERT INTO t (v, body) VALUES (?, ?)', [below(9), BODY]);
        return undefined;
      }
      return attempt('queue.enqueue', () => queue.enqueue('INSERT INTO t (v, body) VALUES (?, ?)', [below(9), BODY]));
    });
    return Promise.all(entries);
  }],
  ['transaction', (db) => attempt('transaction', () => db.transaction(async (tx) => {
    await tx.run('INSERT INTO t (v, body) VALUES (?, ?)', [below(9), BODY]);
    if (random() < 0.3) await sleep(below(3));
    await tx.get('SELECT count(*) AS n FROM t');
    if (random() < 0.2) throw Object.assign(new Error('rolled back on purpose'), { code: 'STALL_HUNT_ROLLBACK' });
    await tx.run('UPDATE t SET v = v + 1 WHERE id = ?', [1 + below(100)]);
  }, { timeout: 5000 }))],
  ['read', (db) => attempt('read', () => db.read(async (snapshot) => {
    const a = await snapshot.get('SELECT count(*) AS n FROM t');
    if (random() < 0.3) await sleep(below(2));
    const b = await snapshot.get('SELECT count(*) AS n FROM t');
    if (a.n !== b.n) throw new Error(`a snapshot saw ${a.n} then ${b.n} rows`);
  }))],
  ['lease+read', async (db, round) => {
    // A reader lease and a plain read submitted in the same tick, the read awaited under the
    // lease where a reader stays free for plain reads (two readers or more; with one or none, the
    // lease holds the only connection and the read waits for the release, as documented).
    const lease = attempt('acquire', () => db.acquire({ timeout: 10_000 }));
    const plain = attempt('get', () => db.get('SELECT v FROM t WHERE id = ?', [1 + below(100)]));
    const held = await lease;
    if (!held) return plain;
    try {
      if (round.readers >= 2) await plain;
      await attempt('lease.get', () => held.get('SELECT count(*) AS n FROM t'));
    } finally {
      await track('release', held.release());
    }
    return plain;
  }],
  ['writeLease', async (db) => {
    const held = await attempt('acquire.write', () => db.acquire({ write: true, timeout: 10_000 }));
    if (!held) return;
    try {
      await attempt('lease.run', () => held.run('INSERT INTO t (v, body) VALUES (?, ?)', [below(9), BODY]));
      if (random() < 0.3) await sleep(below(3));
    } finally {
      await track('release', held.release());
    }
  }],
  ['iterate', (db) => attempt('iterate', async () => {
    let seen = 0;
    const stopAt = 1 + below(300);
    for await (const row of db.iterate('SELECT id, v FROM t ORDER BY id', [], { chunkSize: 1 + below(64) })) {
      if (row && ++seen >= stopAt) break;
    }
  })],
  ['abort.get', (db) => abortSoon('abort.get', (signal) => db.get('SELECT count(*) AS n FROM t a, t b WHERE a.id < 60 AND b.id < 60', [], { signal }))],
  ['abort.run', (db) => abortSoon('abort.run', (signal) => db.run('INSERT INTO t (v, body) VALUES (?, ?)', [1, BODY], { signal }))],
  ['abort.transaction', (db) => abortSoon('abort.transaction', (signal) => db.transaction(async (tx) => {
    await tx.run('INSERT INTO t (v, body) VALUES (?, ?)', [2, BODY]);
  }, { signal }))],
  ['timeout', (db) => attempt('timeout', () => db.get(
    'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT count(*) AS n FROM c',
    [],
    { timeout: 1 + below(5) },
  ))],
  ['checkpoint', (db, round) => (round.memory ? undefined : attempt('checkpoint', () => db.exec(`PRAGMA wal_checkpoint(${pick(['PASSIVE', 'FULL', 'TRUNCATE'])})`)))],
  ['timer', () => sleep(below(4))],
];

async function worker(db, round, until) {
  while (performance.now() < until) {
    const [, act] = pick(actions);
    await act(db, round);
    if (random() < 0.2) await sleep(0);
  }
}

async function runRound(dir) {
  roundNumber++;
  const readers = pick([0, 1, 2, 4]);
  const memory = readers === 0 && random() < 0.5;
  const file = memory ? ':memory:' : join(dir, `round-${roundNumber}.db`);
  const db = await track('open', open(file, { readers, groupCommit: random() < 0.8, acquireTimeout: 10_000 }));
  pool = db;
  await track('setup', db.exec(`
    CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v INTEGER, body TEXT);
    CREATE TABLE IF NOT EXISTS u (k INTEGER PRIMARY KEY);
  `));
  await track('seed', db.insertMany('t', Array.from({ length: 500 }, (_, i) => ({ v: i, body: BODY }))));
  const overflow = pick(['block', 'reject', 'drop-oldest', { blockTimeout: 5 }]);
  const round = { memory, readers: memory ? 0 : readers, queue: db.writeQueue({ capacity: 1 + below(64), inFlight: 1 + below(32), overflow, onError: (error) => classify(error, 'queue.push') }) };
  const until = performance.now() + 300 + below(2000);
  await Promise.all(Array.from({ length: 1 + below(concurrency) }, () => worker(db, round, until)));
  await track('queue.shutdown', round.queue.shutdown());
  await track('close', db.close());
  pool = undefined;
  if (!memory) for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
}

// ---- main ----

const dir = mkdtempSync(join(tmpdir(), 'litepool-stall-hunt-'));
const started = performance.now();
const deadline = started + seconds * 1000;
let lastReport = started;
console.log(`stall hunt: ${seconds} s, seed ${seed}, up to ${concurrency} concurrent loops per round`);
try {
  while (performance.now() < deadline) {
    await runRound(dir);
    const now = performance.now();
    if (now - lastReport >= 30_000) {
      lastReport = now;
      const elapsed = (now - started) / 1000;
      console.log(
        `${Math.round(elapsed)} s: ${roundNumber} rounds, ${completed} operations (${Math.round(completed / elapsed)}/s), ` +
          `longest wait for a completion ${Math.round(maxGapMs)} ms, stalls ${stalls}, unexpected failures ${unexpected.length}`,
      );
    }
  }
} finally {
  clearInterval(watchdog);
  rmSync(dir, { recursive: true, force: true });
}
const summary = {
  seed,
  seconds: Math.round((performance.now() - started) / 1000),
  rounds: roundNumber,
  operations: completed,
  longestWaitForCompletionMs: Math.round(maxGapMs),
  stalls,
  unexpectedFailures: unexpected.length,
  expectedFailures: Object.fromEntries(expected),
  operationsByKind: Object.fromEntries([...byKind].sort((a, b) => b[1] - a[1])),
};
console.log(JSON.stringify(summary, null, 2));
if (unexpected.length > 0) {
  console.log(JSON.stringify(unexpected.slice(0, 20), null, 2));
  process.exit(1);
}
if (stalls > 0) process.exit(2);
