// Owns the event-loop workload: the lateness of a 1 ms timer, idle and while each driver runs the
// heavy workload and then point reads at concurrency 64.

import { asyncWorkers, lagMonitor, randomId, sleep, syncClients } from '../lib/harness.mjs';
import { fmtInt, fmtMs, printTable } from '../lib/report.mjs';
import { HEAVY_WORKERS } from '../lib/settings.mjs';
import { progress, withConnection } from './common.mjs';
import { heavyRun } from './heavy.mjs';

/** Lateness of a 1 ms timer while each driver runs the heavy workload (and point reads at c=64). */
export async function eventLoop(ctx) {
  const { drivers, file, cfg } = ctx;
  const idleStop = lagMonitor();
  await sleep(Math.min(1000, cfg.lagMs));
  const idle = idleStop();
  const out = {};
  for (const driver of drivers.filter((d) => !d.perQuery)) {
    progress(`event-loop: ${driver.label}`);
    out[driver.id] = await withConnection(driver, file, async (conn) => {
      await heavyRun(ctx, conn, HEAVY_WORKERS, cfg.warmupMs / 2);
      let stop = lagMonitor();
      const h = await heavyRun(ctx, conn, HEAVY_WORKERS, cfg.lagMs);
      const heavyLag = stop();
      const fn = () => conn.get(ctx.sql.point, [randomId(ctx.shape.items)]);
      stop = lagMonitor();
      const p =
        conn.kind === 'sync'
          ? await syncClients({ concurrency: 64, durationMs: cfg.lagMs / 2, fn })
          : await asyncWorkers({ concurrency: 64, durationMs: cfg.lagMs / 2, fn });
      const pointLag = stop();
      return { heavy: { lag: heavyLag, opsPerSec: h.opsPerSec }, point64: { lag: pointLag, opsPerSec: p.opsPerSec } };
    });
  }
  printTable(
    'Event-loop responsiveness: lateness of a 1 ms setInterval (actual interval − 1 ms), ms',
    ['driver', 'heavy p99', 'heavy max', 'heavy req/s', 'point c=64 p99', 'point c=64 max'],
    [
      ['(idle, no queries)', fmtMs(idle.p99), fmtMs(idle.max), '', '', ''],
      ...Object.entries(out).map(([id, r]) => [
        ctx.label(id),
        fmtMs(r.heavy.lag.p99),
        fmtMs(r.heavy.lag.max),
        fmtInt(r.heavy.opsPerSec),
        fmtMs(r.point64.lag.p99),
        fmtMs(r.point64.lag.max),
      ]),
    ],
    [`heavy: ${HEAVY_WORKERS} concurrent clients as in the heavy workload; point: 64 concurrent clients`],
  );
  return { idle, drivers: out };
}
