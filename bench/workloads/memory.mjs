// Owns the memory workload: RSS growth over N point selects, each driver measured in a child
// process of its own started with --expose-gc and a young generation at its full size
// (`node bench/run.mjs --child=memory ...`, which runs memoryChild here), after a full scan and a
// warm-up, garbage collected before every reading.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { asyncWorkersCount, now, randomId, sleep, syncLoopCount } from '../lib/harness.mjs';
import { BASELINE, fmtInt, printTable } from '../lib/report.mjs';
import { MEMORY_CONCURRENCY } from '../lib/settings.mjs';
import { progress } from './common.mjs';

/** Semi-spaces at their largest size (MiB) from the start in the memory children. */
const YOUNG_GENERATION_FLAG = '--min-semi-space-size=16';

/** The suite's entry point, which starts a memory child when given --child=memory. */
const RUN = fileURLToPath(new URL('../run.mjs', import.meta.url));

/** RSS growth over N point selects, each driver in a child process started with --expose-gc. */
export async function memory(ctx) {
  const { drivers, file, cfg } = ctx;
  const out = {};
  for (const driver of drivers.filter((d) => ['litepool', BASELINE].includes(d.id))) {
    progress(`memory: ${driver.label} (${fmtInt(cfg.memorySelects)} point selects in a child process)`);
    const child = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        // V8 starts the young generation small and grows it (up to 3 x 16 MiB here) once enough
        // objects have survived scavenges, whatever allocates them: when that happens inside the
        // measured window it counts several MB of "growth" that is only V8 sizing itself, and it
        // happens sooner or later by chance. Starting it at its full size leaves only real growth.
        YOUNG_GENERATION_FLAG,
        RUN,
        '--child=memory',
        `--driver=${driver.id}`,
        `--file=${file}`,
        `--count=${cfg.memorySelects}`,
        `--warmup=${cfg.memoryWarmup}`,
      ],
      { encoding: 'utf8', maxBuffer: 16 << 20 },
    );
    const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (child.status !== 0 || !line) {
      out[driver.id] = { error: `child failed (${child.signal ?? child.status}): ${child.stderr.slice(-2000)}` };
      console.error(out[driver.id].error);
      continue;
    }
    out[driver.id] = JSON.parse(line.slice(7));
  }
  const MB = 1024 * 1024;
  printTable(
    `Memory: RSS over ${fmtInt(cfg.memorySelects)} point selects (after a full scan on every connection and a ${fmtInt(cfg.memoryWarmup)}-select warm-up, gc forced before each reading, young generation at full size from the start), MB`,
    ['driver', 'RSS at open', 'RSS after warm-up', 'RSS after', 'growth', 'peak', 'heap growth', 'V8 heap reserved growth', 'selects/s'],
    Object.entries(out)
      .filter(([, r]) => !r.error)
      .map(([id, r]) => [
        ctx.label(id),
        (r.rssOpen / MB).toFixed(1),
        (r.rssBefore / MB).toFixed(1),
        (r.rssAfter / MB).toFixed(1),
        ((r.rssAfter - r.rssBefore) / MB).toFixed(1),
        (r.rssPeak / MB).toFixed(1),
        ((r.heapAfter - r.heapBefore) / MB).toFixed(2),
        r.heapTotalAfter === undefined ? '' : ((r.heapTotalAfter - r.heapTotalBefore) / MB).toFixed(1),
        fmtInt(r.opsPerSec),
      ]),
    [`litepool runs them with ${MEMORY_CONCURRENCY} requests outstanding; better-sqlite3 in a loop`],
  );
  return out;
}

/**
 * Allocates about 128 MB of short-lived arrays, so every page of the young generation (started at
 * its full size) has been written before the first reading, whichever driver allocated little in
 * the warm-up.
 */
function touchYoungGeneration() {
  let sink;
  for (let i = 0; i < 1_000_000; i++) sink = new Array(14).fill(i);
  return sink;
}

/** The memory child: opens one driver, runs the selects, prints RESULT {json}. */
export async function memoryChild(args) {
  const { loadDrivers, driverTable } = await import('../lib/drivers.mjs');
  const { SQL, ITEMS } = await import('../lib/data.mjs');
  const driver = driverTable(await loadDrivers()).find((d) => d.id === args.driver);
  const count = Number(args.count);
  const warmup = Number(args.warmup);
  const forceGc = async () => {
    for (let i = 0; i < 3; i++) {
      globalThis.gc?.();
      await sleep(20);
    }
  };
  const conn = await driver.open(args.file);
  await forceGc();
  const rssOpen = process.memoryUsage.rss();
  let rssPeak = rssOpen;
  const fn = () => conn.get(SQL.point, [randomId(ITEMS)]);
  const runSelects = async (total) => {
    if (conn.kind === 'sync') {
      for (let done = 0; done < total; done += 10_000) {
        syncLoopCount({ total: Math.min(10_000, total - done), fn });
        rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
      }
    } else {
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 20);
      try {
        await asyncWorkersCount({ concurrency: MEMORY_CONCURRENCY, total, fn });
      } finally {
        clearInterval(sampler);
      }
    }
  };
  // Fills the page cache of every connection first (a pool spreads requests unevenly over its
  // readers, so point selects alone may leave some cold until the measured run): the growth then
  // measures what the selects leave behind, not caches filling up to their cacheSize.
  const scan = () => conn.all(SQL.scanItems, []);
  if (conn.kind === 'sync') scan();
  else await Promise.all(Array.from({ length: 16 }, scan));
  await runSelects(warmup);
  touchYoungGeneration();
  await forceGc();
  const rssBefore = process.memoryUsage.rss();
  const { heapUsed: heapBefore, heapTotal: heapTotalBefore } = process.memoryUsage();
  const started = now();
  await runSelects(count);
  const elapsedMs = now() - started;
  rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  await forceGc();
  const rssAfter = process.memoryUsage.rss();
  const { heapUsed: heapAfter, heapTotal: heapTotalAfter } = process.memoryUsage();
  await conn.close();
  console.log(
    `RESULT ${JSON.stringify({ count, warmup, rssOpen, rssBefore, rssAfter, rssPeak, heapBefore, heapAfter, heapTotalBefore, heapTotalAfter, elapsedMs, opsPerSec: (count * 1000) / elapsedMs, gcExposed: typeof globalThis.gc === 'function' })}`,
  );
}
