// Owns what a run leaves behind: the results report (schema 1: the machine, the driver versions,
// the settings, the dataset, the SQL, every workload's figures and the targets) written to
// bench/results/<time>-<platform>-<arch>[-quick].json and latest[-quick].json, and, after a
// full run, the chart docs/benchmark-chart.svg.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chartFromReport } from './report.mjs';
import { CONNECTION_WORKERS, HEAVY_WORKERS, MEMORY_CONCURRENCY, MIXED_HEAVY_WORKERS, WRITE_CONCURRENCY } from './settings.mjs';

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = join(BENCH_DIR, 'results');
const CHART_FILE = join(BENCH_DIR, '..', 'docs', 'benchmark-chart.svg');

/**
 * Writes the report of a run and prints where. `drivers` is every driver known (skipped ones
 * included), `label(id)` a driver's display name.
 */
export function writeResults({ quick, totalSeconds, machine, versions, cfg, concurrencies, shape, sql, drivers, results, targets, label }) {
  const date = new Date();
  const report = {
    schema: 1,
    date: date.toISOString(),
    mode: quick ? 'quick' : 'full',
    totalSeconds: Math.round(totalSeconds * 10) / 10,
    machine,
    versions,
    settings: {
      ...cfg,
      concurrencies,
      heavyWorkers: HEAVY_WORKERS,
      connectionWorkers: CONNECTION_WORKERS,
      mixedHeavyWorkers: MIXED_HEAVY_WORKERS,
      writeConcurrency: WRITE_CONCURRENCY,
      memoryConcurrency: MEMORY_CONCURRENCY,
      pragmas: 'journal_mode=WAL, synchronous=NORMAL, cache_size=-16000 (KiB), busy_timeout=5000 on every connection',
      litepool: { readers: 'default' },
    },
    dataset: shape,
    sql,
    drivers: Object.fromEntries(drivers.map((d) => [d.id, { label: d.label, kind: d.kind, ...(d.available ? {} : { skipped: d.skip }) }])),
    results,
    targets,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = date.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
  const suffix = quick ? '-quick' : '';
  const named = join(RESULTS_DIR, `${stamp}-${process.platform}-${process.arch}${suffix}.json`);
  const latest = join(RESULTS_DIR, `latest${suffix}.json`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(named, json);
  writeFileSync(latest, json);
  console.log(`results: ${relative(process.cwd(), named)}, ${relative(process.cwd(), latest)}`);
  if (!quick) {
    const svg = chartFromReport(report, label);
    mkdirSync(dirname(CHART_FILE), { recursive: true });
    writeFileSync(CHART_FILE, svg);
    console.log(`chart: ${relative(process.cwd(), CHART_FILE)}`);
  } else {
    console.log('(quick run: docs/benchmark-chart.svg is only written by a full run)');
  }
}
