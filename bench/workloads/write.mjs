// Owns the write workload: single-row INSERTs into a fresh file per repetition, each its own
// transaction; litepool with 64 promises outstanding, the sync drivers in an autocommit loop.

import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { asyncWorkersCount, syncLoopCount } from '../lib/harness.mjs';
import { seeded } from '../lib/prng.mjs';
import { BASELINE, fmtInt, fmtMs, fmtRatio, printTable, ratio } from '../lib/report.mjs';
import { WRITE_CONCURRENCY } from '../lib/settings.mjs';
import { median, progress, withConnection } from './common.mjs';

/** Single-row INSERTs: litepool with 64 promises outstanding vs autocommit loops. */
export async function write(ctx) {
  const { drivers, cfg, dir } = ctx;
  const { buildInsertFile } = await import('../lib/data.mjs');
  const random = seeded(11);
  const rows = Array.from({ length: cfg.writeRows }, (_, i) => [`kind-${i % 7}`, `payload ${i} ${random().toString(36).slice(2)}`, 1_700_000_000_000 + i]);
  const out = {};
  for (const driver of drivers.filter((d) => !d.perQuery && d.id !== 'sqlite3x4')) {
    progress(`write: ${driver.label}`);
    // Each repetition writes the same rows into a fresh file; the median is kept. (The sqlite3
    // reference is slow enough to be measured once.)
    const repeats = driver.id === 'sqlite3' ? 1 : cfg.repeats;
    const runs = [];
    for (let rep = 0; rep < repeats; rep++) {
      const writeFile = join(dir, `write-${driver.id}-${rep}.db`);
      buildInsertFile(ctx.BetterSqlite3, writeFile);
      runs.push(
        await withConnection(driver, writeFile, async (conn) => {
          let i = 0;
          const fn = () => conn.run(ctx.sql.insertEvent, rows[i++]);
          const r =
            conn.kind === 'sync'
              ? syncLoopCount({ total: rows.length, fn })
              : await asyncWorkersCount({ concurrency: WRITE_CONCURRENCY, total: rows.length, fn });
          const check = await conn.get('SELECT COUNT(*) AS n FROM events', []);
          if (check.n !== rows.length) throw new Error(`${driver.label}: expected ${rows.length} rows, found ${check.n}`);
          return { rows: rows.length, elapsedMs: r.elapsedMs, rowsPerSec: r.opsPerSec, concurrency: conn.kind === 'sync' ? 1 : WRITE_CONCURRENCY };
        }),
      );
      rmSync(writeFile, { force: true });
    }
    out[driver.id] = { ...median(runs, 'elapsedMs'), repeats, allRowsPerSec: runs.map((r) => r.rowsPerSec) };
  }
  const base = out[BASELINE];
  printTable(
    `Write throughput: ${fmtInt(cfg.writeRows)} single-row INSERTs, synchronous=NORMAL, WAL`,
    ['driver', 'outstanding', 'total ms', 'rows/s', `vs ${BASELINE}`],
    Object.entries(out).map(([id, r]) => [ctx.label(id), r.concurrency, fmtMs(r.elapsedMs, 1), fmtInt(r.rowsPerSec), fmtRatio(ratio(r.rowsPerSec, base?.rowsPerSec))]),
    [
      'each INSERT is its own transaction (autocommit for the sync drivers; one run() each for litepool)',
      `median of ${cfg.repeats} repetitions, each into a fresh file (sqlite3: one)`,
    ],
  );
  return out;
}
