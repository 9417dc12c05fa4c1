// Owns the heavy workload: a JOIN + GROUP BY over users, posts, comments and likes for a random
// post, 100 concurrent clients, throughput and latency. Also the heavy run itself (heavyRun), which
// the event-loop and mixed workloads put under load with.

import { asyncWorkers, randomId, syncClients } from '../lib/harness.mjs';
import { BASELINE, fmtInt, fmtMs, fmtRatio, printTable, ratio } from '../lib/report.mjs';
import { HEAVY_WORKERS } from '../lib/settings.mjs';
import { progress, withConnection } from './common.mjs';

/** Runs the heavy query against `conn` with `workers` concurrent clients for `durationMs`. */
export function heavyRun(ctx, conn, workers, durationMs) {
  const fn = () => conn.get(ctx.sql.heavy, [randomId(ctx.shape.posts)]);
  return conn.kind === 'sync'
    ? syncClients({ concurrency: workers, durationMs, fn, latencies: true })
    : asyncWorkers({ concurrency: workers, durationMs, fn, latencies: true });
}

/** The heavy JOIN/GROUP BY per request, 100 concurrent clients. */
export async function heavy(ctx) {
  const { drivers, file, cfg } = ctx;
  const out = {};
  for (const driver of drivers.filter((d) => !d.perQuery)) {
    progress(`heavy: ${driver.label}`);
    out[driver.id] = await withConnection(driver, file, async (conn) => {
      await heavyRun(ctx, conn, HEAVY_WORKERS, cfg.warmupMs);
      return heavyRun(ctx, conn, HEAVY_WORKERS, cfg.heavyMs);
    });
  }
  const base = out[BASELINE];
  printTable(
    `Heavy load: JOIN + GROUP BY for a random post (${fmtInt(ctx.shape.users)} users, ${fmtInt(ctx.shape.posts)} posts, ` +
      `${fmtInt(ctx.shape.comments)} comments, ${fmtInt(ctx.shape.likes)} likes), ${HEAVY_WORKERS} concurrent clients`,
    ['driver', 'req/s', `vs ${BASELINE}`, 'mean ms', 'median ms', 'p90 ms', 'p99 ms'],
    Object.entries(out).map(([id, r]) => [
      ctx.label(id),
      fmtInt(r.opsPerSec),
      fmtRatio(ratio(r.opsPerSec, base?.opsPerSec)),
      fmtMs(r.latency.mean),
      fmtMs(r.latency.median),
      fmtMs(r.latency.p90),
      fmtMs(r.latency.p99),
    ]),
    [
      'latency = arrival of a client request to its answer; sync drivers serve one client per event-loop turn,',
      'so their latency includes the wait behind the other clients on the one JS thread',
    ],
  );
  return out;
}
