// Owns the classic workload: five single operations measured one at a time with tinybench (get
// one row, all 100 rows, iterate 100 rows, insert one row, insert 100 rows in a transaction), and
// litepool's other atomic ways of writing 100 rows (batch(), transaction()) when it has them.

import { join } from 'node:path';

import { randomId } from '../lib/harness.mjs';
import { seeded } from '../lib/prng.mjs';
import { BASELINE, fmtInt, fmtRatio, printTable, ratio } from '../lib/report.mjs';
import { progress, settle } from './common.mjs';

/** The five classic single-operation cases, with tinybench. */
export async function classic(ctx) {
  const { Bench } = await import('tinybench');
  const { drivers, file, cfg, dir } = ctx;
  const { buildInsertFile, itemRow } = await import('../lib/data.mjs');
  const cases = ['get one row', 'all 100 rows', 'iterate 100 rows', 'insert one row', 'insert 100 rows (transaction)'];
  const out = {};
  const notes = [];
  const random = seeded(7);
  const rows100 = Array.from({ length: 100 }, (_, i) => itemRow(random, i));
  const one = itemRow(random, 0);
  for (const driver of drivers.filter((d) => !d.perQuery && d.id !== 'sqlite3x4')) {
    progress(`classic: ${driver.label}`);
    const insertFile = join(dir, `classic-${driver.id}.db`);
    buildInsertFile(ctx.BetterSqlite3, insertFile);
    const reader = await driver.open(file);
    const writer = await driver.open(insertFile);
    try {
      const bench = new Bench({ time: cfg.tinyTimeMs, warmupTime: cfg.tinyWarmupMs, throws: true });
      const n = ctx.shape.items - 100;
      const tasks = {
        'get one row': () => reader.get(ctx.sql.getOne, [randomId(ctx.shape.items)]),
        'all 100 rows': () => reader.all(ctx.sql.range100, [randomId(n)]),
        'iterate 100 rows': () => reader.iterate(ctx.sql.range100, [randomId(n)]),
        'insert one row': () => writer.run(ctx.sql.insertItem, one),
        'insert 100 rows (transaction)': () => writer.insertMany(ctx.sql.insertItem, rows100),
      };
      for (const [name, fn] of Object.entries(tasks)) bench.add(name, fn);
      // litepool's other ways of writing 100 rows atomically, when this version has them.
      const variants = [];
      if (driver.id === 'litepool') {
        for (const [id, fn] of [
          ['litepool-batch', writer.insertManyBatch],
          ['litepool-tx', writer.insertManyTx],
        ]) {
          if (!fn) continue;
          const b = new Bench({ time: cfg.tinyTimeMs, warmupTime: cfg.tinyWarmupMs, throws: true });
          b.add('insert 100 rows (transaction)', () => fn(ctx.sql.insertItem, rows100));
          variants.push([id, b]);
        }
      }
      await bench.run();
      for (const [, b] of variants) await b.run();
      const collect = (b) =>
        Object.fromEntries(
          b.tasks.map((t) => [
            t.name,
            { opsPerSec: 1000 / t.result.period, meanMs: t.result.latency.mean, p99Ms: t.result.latency.p99, samples: t.result.latency.samplesCount ?? t.runs },
          ]),
        );
      out[driver.id] = collect(bench);
      for (const [id, b] of variants) out[id] = collect(b);
      if (driver.id === 'litepool') {
        notes.push(`litepool "iterate 100 rows" uses ${reader.iterateMethod}`);
        notes.push(
          'litepool "insert 100 rows (transaction)" is one multi-row INSERT … VALUES (?,?,?,?), … statement through run() ' +
            '(its own implicit transaction); "litepool (batch())" is db.batch() of 100 single-row INSERTs (atomic, one round trip); ' +
            '"litepool (transaction())" is db.transaction() with 100 awaited tx.run() calls',
        );
      } else if (reader.iterateMethod) {
        notes.push(`${driver.label} "iterate 100 rows" uses ${reader.iterateMethod}`);
      }
    } finally {
      await reader.close();
      await writer.close();
      await settle();
    }
  }
  notes.push('better-sqlite3 / node:sqlite insert 100: one prepared INSERT run 100 times inside BEGIN … COMMIT; sqlite3 the same with queued Statement#run calls');
  const ids = Object.keys(out);
  printTable(
    'Single operations (tinybench; one operation at a time), ops/s',
    ['case', ...ids.flatMap((id) => [ctx.label(id), id === BASELINE ? '' : `vs ${BASELINE}`])].filter((h, i) => h !== '' || i === 0),
    cases.map((c) => [
      c,
      ...ids.flatMap((id) =>
        id === BASELINE
          ? [fmtInt(out[id][c]?.opsPerSec)]
          : [fmtInt(out[id][c]?.opsPerSec), fmtRatio(ratio(out[id][c]?.opsPerSec, out[BASELINE]?.[c]?.opsPerSec))],
      ),
    ]),
    notes,
  );
  return { cases, results: out, notes };
}
