// Owns the connection-overhead workload: 10,000 simple SELECTs over 5 concurrent workers on a
// pooled connection, against a better-sqlite3 connection opened and closed for every query.

import { asyncWorkersCount, now, randomId, syncLoopCount } from '../lib/harness.mjs';
import { BASELINE, fmtInt, fmtMs, fmtRatio, printTable, ratio } from '../lib/report.mjs';
import { CONNECTION_WORKERS } from '../lib/settings.mjs';
import { median, progress, settle } from './common.mjs';

/** 10,000 simple SELECTs over 5 workers: pooled connections vs a connection opened per query. */
export async function connectionOverhead(ctx) {
  const { drivers, file, cfg } = ctx;
  const out = {};
  const total = cfg.connectionQueries;
  for (const driver of drivers) {
    progress(`connection-overhead: ${driver.label}`);
    const opened = now();
    const conn = await driver.open(file);
    const openMs = now() - opened;
    try {
      const fn = () => conn.get(ctx.sql.simple, [randomId(ctx.shape.items)]);
      // A short warm-up so JIT state does not decide the comparison.
      if (conn.kind === 'sync') syncLoopCount({ total: Math.min(500, total), fn });
      else await asyncWorkersCount({ concurrency: CONNECTION_WORKERS, total: Math.min(500, total), fn });
      // 10,000 queries take tens of milliseconds on a pooled connection: repeat, keep the median.
      const repeats = driver.perQuery ? 1 : cfg.repeats;
      const runs = [];
      for (let i = 0; i < repeats; i++) {
        runs.push(
          conn.kind === 'sync'
            ? syncLoopCount({ total, fn })
            : await asyncWorkersCount({ concurrency: CONNECTION_WORKERS, total, fn }),
        );
      }
      out[driver.id] = { ...median(runs, 'elapsedMs'), openMs, repeats, allElapsedMs: runs.map((r) => r.elapsedMs) };
    } finally {
      await conn.close();
      await settle();
    }
  }
  const base = out[BASELINE];
  const perQuery = out['open-per-query'];
  printTable(
    `Connection overhead: ${fmtInt(total)} simple SELECTs, ${CONNECTION_WORKERS} concurrent workers`,
    ['driver', 'total ms', 'ops/s', `vs ${BASELINE}`, 'vs open-per-query', 'open ms'],
    Object.entries(out).map(([id, r]) => [
      ctx.label(id),
      fmtMs(r.elapsedMs, 1),
      fmtInt(r.opsPerSec),
      fmtRatio(ratio(r.opsPerSec, base?.opsPerSec)),
      fmtRatio(ratio(r.opsPerSec, perQuery?.opsPerSec)),
      fmtMs(r.openMs),
    ]),
    [
      `pooled drivers: median of ${cfg.repeats} repetitions; open per query: one`,
      '"open ms": opening the pool/connection once, not included in total ms',
    ],
  );
  return out;
}
