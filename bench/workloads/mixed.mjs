// Owns the mixed workload: point reads at a steady rate (500/s) while 16 clients run the heavy
// query, reporting the point reads' latency from their scheduled time and the heavy throughput.

import { randomId, steadyRate } from '../lib/harness.mjs';
import { BASELINE, fmtInt, fmtMs, fmtRatio, printTable, ratio } from '../lib/report.mjs';
import { MIXED_HEAVY_WORKERS } from '../lib/settings.mjs';
import { progress, withConnection } from './common.mjs';
import { heavyRun } from './heavy.mjs';

/** Point reads at a steady rate while heavy queries run concurrently. */
export async function mixed(ctx) {
  const { drivers, file, cfg } = ctx;
  const out = {};
  for (const driver of drivers.filter((d) => !d.perQuery)) {
    progress(`mixed: ${driver.label}`);
    out[driver.id] = await withConnection(driver, file, async (conn) => {
      await heavyRun(ctx, conn, MIXED_HEAVY_WORKERS, cfg.warmupMs / 2);
      const background = heavyRun(ctx, conn, MIXED_HEAVY_WORKERS, cfg.mixedMs);
      const reads = await steadyRate({
        ratePerSec: cfg.mixedRate,
        durationMs: cfg.mixedMs,
        fn: () => conn.get(ctx.sql.postById, [randomId(ctx.shape.posts)]),
      });
      const h = await background;
      return { pointLatency: reads.latency, pointRequests: reads.requests, heavyOpsPerSec: h.opsPerSec, sync: conn.kind === 'sync' };
    });
  }
  const base = out[BASELINE];
  printTable(
    `Mixed load: point reads at ${cfg.mixedRate}/s while ${MIXED_HEAVY_WORKERS} clients run the heavy query, point-read latency in ms`,
    ['driver', 'p50', 'p99', 'max', 'heavy req/s meanwhile', `heavy vs ${BASELINE}`],
    Object.entries(out).map(([id, r]) => [
      `${ctx.label(id)}${r.sync ? ' (sync, reference)' : ''}`,
      fmtMs(r.pointLatency.median),
      fmtMs(r.pointLatency.p99),
      fmtMs(r.pointLatency.max),
      fmtInt(r.heavyOpsPerSec),
      fmtRatio(ratio(r.heavyOpsPerSec, base?.heavyOpsPerSec)),
    ]),
    ['latency is measured from each read\'s scheduled time, so time the event loop was blocked counts'],
  );
  return out;
}
