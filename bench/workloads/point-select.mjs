// Owns the point-select workload: SELECT by primary key over the 100,000-row items table at each
// concurrency (1, 8, 64 unless --concurrency says otherwise); sync drivers run a plain loop.

import { asyncWorkers, randomId, syncLoop } from '../lib/harness.mjs';
import { BASELINE, fmtInt, fmtRatio, printTable, ratio } from '../lib/report.mjs';
import { progress, withConnection } from './common.mjs';

/** Point SELECT by primary key at concurrency 1, 8, 64 (sync drivers simply loop). */
export async function pointSelect(ctx) {
  const { drivers, file, cfg, concurrencies } = ctx;
  const out = {};
  for (const driver of drivers.filter((d) => !d.perQuery)) {
    progress(`point-select: ${driver.label}`);
    out[driver.id] = await withConnection(driver, file, async (conn) => {
      const fn = () => conn.get(ctx.sql.point, [randomId(ctx.shape.items)]);
      const res = {};
      if (conn.kind === 'sync') {
        syncLoop({ durationMs: cfg.warmupMs, fn });
        for (const c of concurrencies) res[`c${c}`] = syncLoop({ durationMs: cfg.pointMs, fn }).opsPerSec;
      } else {
        await asyncWorkers({ concurrency: 64, durationMs: cfg.warmupMs, fn });
        for (const c of concurrencies) res[`c${c}`] = (await asyncWorkers({ concurrency: c, durationMs: cfg.pointMs, fn })).opsPerSec;
      }
      return res;
    });
  }
  const base = out[BASELINE];
  printTable(
    `Point SELECT by primary key (${fmtInt(ctx.shape.items)} rows), ops/s`,
    ['driver', ...concurrencies.flatMap((c) => [`c=${c}`, `vs ${BASELINE}`])],
    Object.entries(out).map(([id, r]) => [
      ctx.label(id),
      ...concurrencies.flatMap((c) => [fmtInt(r[`c${c}`]), fmtRatio(ratio(r[`c${c}`], base?.[`c${c}`]))]),
    ]),
    ['sync drivers have no concurrency: they run the same plain loop at every c'],
  );
  return out;
}
