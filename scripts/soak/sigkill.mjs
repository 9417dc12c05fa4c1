// Owns the SIGKILL soak: rounds of a child process (scripts/soak/sigkill-child.mjs) writing mixed
// load — a group-committed write queue, plain writes, transactions, batches, insertMany,
// checkpoints — into one database, killed with SIGKILL at a random moment: in one round out of
// five before its first acknowledgement (during start-up, open, WAL recovery), otherwise 0–300 ms
// after it. After each kill a fresh pool on the file must find every acknowledged row with its
// content, every group (a transaction, batch or insertMany) whole or absent, and
// PRAGMA integrity_check ok. Exits with code 1 on the first violation; prints a JSON summary.
//
// Usage: node scripts/soak/sigkill.mjs [--rounds N] [--seed N]
//   (default 1000 rounds; imports the compiled library from dist/: run `npm run build:ts` first)

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const { open } = await import(new URL('../../dist/index.js', import.meta.url).href);

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}
const rounds = option('rounds', 1000);
const seed = option('seed', Date.now() >>> 0);
const child = fileURLToPath(new URL('./sigkill-child.mjs', import.meta.url));
/** A child that has not acknowledged anything after this long is a failure. */
const FIRST_ACK_BOUND_MS = 30_000;

let state = seed >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Runs the child on `database` and kills it: `early` ms after spawn, or `delay` ms after its first acknowledgement. */
function runRound(database, early, delay) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, database], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let acked = false;
    let killTimer;
    const kill = () => proc.kill('SIGKILL');
    const bound = setTimeout(kill, FIRST_ACK_BOUND_MS);
    if (early !== undefined) killTimer = setTimeout(kill, early);
    proc.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
      if (!acked && stdout.includes('\n')) {
        acked = true;
        clearTimeout(bound);
        if (early === undefined) killTimer = setTimeout(kill, delay);
      }
    });
    proc.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(bound);
      clearTimeout(killTimer);
      const lines = stdout.split('\n');
      lines.pop(); // empty, or a line cut off by the kill
      const ids = lines.flatMap((line) => line.split(' ').map(Number));
      resolve({ ids, operations: lines.length, code, signal, stderr, acked });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'litepool-sigkill-'));
const database = join(dir, 'sigkill.db');
const started = performance.now();
const totals = { rounds: 0, killedBeforeFirstAck: 0, acknowledgedOperations: 0, acknowledgedRows: 0, rowsInFile: 0, groupsChecked: 0 };
let failure;
console.log(`SIGKILL soak: ${rounds} rounds, seed ${seed}`);
try {
  for (let round = 1; round <= rounds && !failure; round++) {
    const early = random() < 0.2 ? Math.floor(random() * 400) : undefined;
    const delay = Math.floor(random() * 301);
    const where = `round ${round} (seed ${seed}, ${early === undefined ? `kill ${delay} ms after the first acknowledgement` : `kill ${early} ms after spawn`})`;
    const result = await runRound(database, early, delay);
    totals.rounds++;
    if (result.stderr !== '') failure = `${where}: the child wrote to stderr: ${result.stderr}`;
    else if (result.signal !== 'SIGKILL') failure = `${where}: the child ended with ${result.signal ?? `code ${result.code}`}, not SIGKILL`;
    else if (early === undefined && !result.acked) failure = `${where}: no acknowledgement within ${FIRST_ACK_BOUND_MS} ms`;
    if (failure) break;
    if (!result.acked) totals.killedBeforeFirstAck++;
    totals.acknowledgedOperations += result.operations;
    totals.acknowledgedRows += result.ids.length;

    const pool = await open(database, { readers: 1 });
    try {
      const check = await pool.all('PRAGMA integrity_check');
      if (check.length !== 1 || check[0].integrity_check !== 'ok') {
        failure = `${where}: integrity_check: ${JSON.stringify(check)}`;
        break;
      }
      // A child killed during start-up, in a round before any child created the table, left a
      // database without it: nothing to check yet.
      const table = await pool.get("SELECT 1 AS found FROM sqlite_schema WHERE type = 'table' AND name = 'acks'");
      if (!table) {
        if (result.ids.length > 0) {
          failure = `${where}: ${result.ids.length} rows acknowledged but the table acks does not exist`;
          break;
        }
        continue;
      }
      if (result.ids.length > 0) {
        const min = Math.min(...result.ids);
        const max = Math.max(...result.ids);
        const rows = await pool.all('SELECT id, pad FROM acks WHERE id BETWEEN ? AND ?', [min, max]);
        const present = new Map(rows.map((row) => [row.id, row.pad]));
        const missing = result.ids.filter((id) => present.get(id) !== `p${id}`.padEnd(40, '.'));
        if (missing.length > 0) {
          failure = `${where}: ${missing.length} acknowledged rows missing or wrong, e.g. ${missing.slice(0, 10).join(', ')}`;
          break;
        }
      }
      const broken = await pool.all('SELECT grp, size, count(*) AS n FROM acks GROUP BY grp HAVING n != size LIMIT 10');
      if (broken.length > 0) {
        failure = `${where}: groups not whole: ${JSON.stringify(broken)}`;
        break;
      }
      totals.groupsChecked = (await pool.get('SELECT count(DISTINCT grp) AS n FROM acks')).n;
      totals.rowsInFile = (await pool.get('SELECT count(*) AS n FROM acks')).n;
    } finally {
      await pool.close();
    }
    if (round % 50 === 0) {
      const elapsed = (performance.now() - started) / 1000;
      console.log(`${round} rounds in ${Math.round(elapsed)} s: ${totals.acknowledgedRows} acknowledged rows, none lost`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const summary = { seed, ...totals, lost: failure ? 'see failure' : 0, seconds: Math.round((performance.now() - started) / 1000), failure };
console.log(JSON.stringify(summary, null, 2));
if (failure) process.exit(1);
