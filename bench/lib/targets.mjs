// Owns the project's performance targets: which figures of a run are compared with which goal
// (point reads at c=64, the heavy workload, event-loop lateness, RSS growth, concurrent inserts),
// whether each is met, and the table that reports them.

import { BASELINE, fmtInt, fmtRatio, printTable, ratio } from './report.mjs';

/** The targets the results of a run allow to evaluate: { name, measured, unit, goal, pass }[]. */
export function evaluateTargets(results) {
  const t = [];
  const add = (name, value, goal, pass, unit = 'x') =>
    t.push({ name, measured: value, unit, goal, pass: value === undefined ? undefined : pass });
  const ps = results['point-select'];
  if (ps) {
    const r = ratio(ps.litepool?.c64, ps[BASELINE]?.c64);
    add('point SELECT at c=64 vs better-sqlite3', r, '>= 1.0x', r >= 1.0);
  }
  const hv = results.heavy;
  if (hv) {
    const r1 = ratio(hv.litepool?.opsPerSec, hv[BASELINE]?.opsPerSec);
    add('heavy load vs better-sqlite3', r1, '>= 1.8x', r1 >= 1.8);
    const r2 = ratio(hv.litepool?.opsPerSec, hv.sqlite3x4?.opsPerSec);
    add('heavy load vs sqlite3 (4 conns)', r2, '>= 1.25x', r2 >= 1.25);
  }
  const el = results['event-loop']?.drivers?.litepool;
  if (el) {
    const worst = Math.max(el.heavy.lag.p99, el.point64.lag.p99);
    add('event-loop p99 lateness during litepool workloads (worst of heavy, point c=64)', worst, '< 2 ms', worst < 2, 'ms');
  }
  const mem = results.memory?.litepool;
  if (mem && !mem.error) {
    const mb = (mem.rssAfter - mem.rssBefore) / (1024 * 1024);
    add(`RSS growth over ${fmtInt(mem.count)} point selects`, mb, '< 20 MB', mb < 20, 'MB');
  }
  const wr = results.write;
  if (wr) {
    const r = ratio(wr.litepool?.rowsPerSec, wr[BASELINE]?.rowsPerSec);
    add('64 concurrent inserts vs better-sqlite3 autocommit', r, '>= 3x', r >= 3);
  }
  return t;
}

/** Prints the targets table (nothing when no target could be evaluated). */
export function printTargets(targets) {
  if (targets.length === 0) return;
  printTable(
    'Targets',
    ['target', 'measured', 'goal', 'met'],
    targets.map((t) => [
      t.name,
      t.measured === undefined ? '—' : t.unit === 'x' ? fmtRatio(t.measured) : `${t.measured.toFixed(2)} ${t.unit}`,
      t.goal,
      t.pass === undefined ? '—' : t.pass ? 'yes' : 'NO',
    ]),
  );
}
