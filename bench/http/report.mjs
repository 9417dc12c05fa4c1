// Owns how an HTTP benchmark report reads: the markdown tables (per framework: closed-loop
// throughput with ratios against better-sqlite3 and the share of the no-database ceiling, and
// latency per request class at a fixed offered rate), and the update of the generated block of
// the "HTTP server" section of docs/benchmarks.md.

import { readFileSync, writeFileSync } from 'node:fs';

import { BASELINE, CEILINGS, DRIVERS } from './drivers/index.mjs';
import { FRAMEWORKS } from './frameworks/index.mjs';
import { WORKLOADS } from './workloads.mjs';

export const DOCS_BEGIN = '<!-- http-results:begin -->';
export const DOCS_END = '<!-- http-results:end -->';

const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const fmtRatio = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : '–');
const fmtPct = (r) => (Number.isFinite(r) ? `${Math.round(r * 100)}%` : '–');
const fmtMs = (ms) => (!Number.isFinite(ms) ? '–' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const fmtLatency = (c) => (c && c.count > 0 ? `${fmtMs(c.p50)} / ${fmtMs(c.p99)}` : '–');

const find = (cells, q) =>
  cells.find((c) => c.framework === q.framework && c.workload === q.workload && c.mode === q.mode && c.driver === q.driver);

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The drivers and workloads a report holds, in table order. */
function present(report) {
  const drivers = DRIVERS.filter((d) => report.cells.some((c) => c.driver === d.id));
  const workloads = Object.keys(WORKLOADS).filter((w) => report.cells.some((c) => c.workload === w));
  const frameworks = FRAMEWORKS.filter((f) => report.cells.some((c) => c.framework === f.id));
  return { drivers, workloads, frameworks };
}

function closedLoopTable(report, framework, drivers, workloads) {
  const rows = [];
  for (const w of workloads) {
    const cell = (driver) => find(report.cells, { framework, workload: w, mode: 'max', driver });
    const base = cell(BASELINE)?.result?.rps;
    // The higher of the two no-database servers (synchronous replies, batched replies).
    const ceilings = CEILINGS.map((id) => cell(id)?.result?.rps).filter((rps) => rps > 0);
    const ceiling = ceilings.length > 0 ? Math.max(...ceilings) : undefined;
    const classes = WORKLOADS[w].classes.map((c) => c.cls);
    rows.push([
      `**${WORKLOADS[w].label}**`,
      'req/s',
      ...drivers.map((d) => {
        const c = cell(d.id);
        if (!c) return '–';
        if (c.error) return `failed`;
        const parts = [fmtInt(c.result.rps)];
        if (!CEILINGS.includes(d.id) && base) parts.push(d.id === 'litepool' ? `**${fmtRatio(c.result.rps / base)}**` : fmtRatio(c.result.rps / base));
        if (ceiling) parts.push(`${fmtPct(c.result.rps / ceiling)} of ceiling`);
        return parts.join(' · ');
      }),
    ]);
    for (const cls of classes) {
      rows.push([
        '',
        classes.length > 1 ? `${cls} p50 / p99 ms` : 'p50 / p99 ms',
        ...drivers.map((d) => fmtLatency(cell(d.id)?.result?.classes?.[cls])),
      ]);
    }
    rows.push([
      '',
      'CPU cores: server / load generator',
      ...drivers.map((d) => {
        const c = cell(d.id);
        return c?.serverCores === undefined ? '–' : `${c.serverCores.toFixed(2)} / ${c.clientCores.toFixed(2)}`;
      }),
    ]);
  }
  return table(['workload', '', ...drivers.map((d) => d.label)], rows);
}

function fixedRateTable(report, framework, drivers, workloads) {
  const rows = [];
  for (const w of workloads) {
    const cell = (driver) => find(report.cells, { framework, workload: w, mode: 'rate', driver });
    const any = drivers.map((d) => cell(d.id)).find(Boolean);
    if (!any) continue;
    const classes = WORKLOADS[w].classes.map((c) => c.cls);
    classes.forEach((cls, i) => {
      rows.push([
        i === 0 ? `**${WORKLOADS[w].label}**` : '',
        i === 0 ? fmtInt(any.offeredRate) : '',
        classes.length > 1 ? cls : '',
        ...drivers.map((d) => {
          const c = cell(d.id);
          if (!c) return '–';
          if (c.error) return 'failed';
          const short = c.result.rps < 0.95 * c.offeredRate ? ` (only ${fmtInt(c.result.rps)} req/s)` : '';
          return `${fmtLatency(c.result.classes[cls])}${short}`;
        }),
      ]);
    });
  }
  return table(['workload', 'offered req/s', 'class', ...drivers.map((d) => `${d.label} p50 / p99 ms`)], rows);
}

/** The report as markdown: a header (machine, versions, settings, load) and two tables per framework. */
export function renderMarkdown(report, source) {
  const { drivers, workloads, frameworks } = present(report);
  const m = report.machine;
  const v = report.versions;
  const s = report.settings;
  const others = report.cells.map((c) => c.otherCores).filter((x) => x !== undefined);
  const maxOthers = others.length ? Math.max(...others) : undefined;
  const lines = [];
  if (source) lines.push(`<!-- generated by: node bench/http/run.mjs --from=${source} --write-docs -->`);
  lines.push(
    `Machine: ${m.cpuModel} × ${m.cpuCount} cores, ${(m.totalMemoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ${m.platform}-${m.arch}, ` +
      `Node ${m.node}. Run: ${report.mode}, ${report.date.slice(0, 16).replace('T', ' ')} UTC, ${Math.round(report.totalSeconds)} s; ` +
      `load average at start ${m.loadAverageAtStart.map((x) => x.toFixed(2)).join(', ')}` +
      (maxOthers === undefined ? '.' : `; other processes used at most ${maxOthers.toFixed(2)} cores during a measurement.`),
    '',
    `Versions: litepool ${v.litepool.version} (SQLite ${v.litepool.sqlite}${v.litepool.build ? `, ${v.litepool.build} build` : ''}), better-sqlite3 ${v['better-sqlite3'].version} ` +
      `(SQLite ${v['better-sqlite3'].sqlite}), sqlite3 ${v.sqlite3.version} (SQLite ${v.sqlite3.sqlite}), Fastify ${v.fastify.version}; ` +
      `load generator: ${s.loadgen === 'autocannon' ? `autocannon ${v.autocannon.version}` : 'the built-in keep-alive client (bench/http/client.mjs)'}.`,
    '',
    `Settings: ${s.connections} keep-alive connections, ${s.durationMs / 1000} s measured per cell after ${s.warmupMs / 1000} s of warm-up, ` +
      `a fresh server process per cell; fixed rate = ${Math.round(s.rateFraction * 100)}% of the slowest database driver's ` +
      `closed-loop throughput for that workload and framework. Dataset: ${fmtInt(report.dataset.items)} items; ` +
      `${fmtInt(report.dataset.users)} users, ${fmtInt(report.dataset.posts)} posts, ${fmtInt(report.dataset.comments)} comments, ` +
      `${fmtInt(report.dataset.likes)} likes.`,
  );
  for (const f of frameworks) {
    lines.push(
      '',
      `### ${f.label}: closed loop, ${s.connections} connections`,
      '',
      `Throughput (ratio against better-sqlite3 · share of the faster of the two servers with no database), latency from send to last byte.`,
      '',
      closedLoopTable(report, f.id, drivers, workloads),
    );
    const rate = fixedRateTable(report, f.id, drivers, workloads);
    if (rate.split('\n').length > 2) {
      lines.push(
        '',
        `### ${f.label}: fixed offered rate, latency per request class`,
        '',
        'Latency from the moment a request was due to its last byte (waiting for a free connection included); ' +
          '"only N req/s" marks a driver that could not keep up with the offered rate.',
        '',
        rate,
      );
    }
  }
  const failed = report.cells.filter((c) => c.error || c.result?.errors > 0);
  if (failed.length > 0) {
    lines.push('', 'Errors:');
    for (const c of failed) {
      lines.push(
        `- ${c.framework} ${c.workload} ${c.mode} ${c.driver}: ${c.error ?? `${c.result.errors} failed requests (${c.result.errorSamples.join('; ')})`}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Replaces the generated block of the "HTTP server" section of `docsFile` with `markdown`
 * (appends the section, with its markers, when the file has none).
 */
export function writeDocs(docsFile, markdown) {
  const text = readFileSync(docsFile, 'utf8');
  const block = `${DOCS_BEGIN}\n${markdown}${DOCS_END}`;
  const begin = text.indexOf(DOCS_BEGIN);
  const end = text.indexOf(DOCS_END);
  let next;
  if (begin !== -1 && end > begin) next = text.slice(0, begin) + block + text.slice(end + DOCS_END.length);
  else next = `${text.trimEnd()}\n\n## HTTP server\n\n${block}\n`;
  writeFileSync(docsFile, next);
}
