// Owns how benchmark results are shown: number formatting, the plain-text tables printed on stdout
// (with ratios against better-sqlite3), and the SVG bar chart of throughput ratios written to
// docs/benchmark-chart.svg.

export const BASELINE = 'better-sqlite3';

export function fmtInt(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return '—';
  return Math.round(n).toLocaleString('en-US');
}

export function fmtMs(n, digits = 2) {
  if (n === undefined || n === null || Number.isNaN(n)) return '—';
  return n >= 100 ? n.toFixed(0) : n.toFixed(digits);
}

export function fmtRatio(r) {
  if (r === undefined || r === null || !Number.isFinite(r)) return '—';
  return r >= 10 ? `${r.toFixed(1)}x` : `${r.toFixed(2)}x`;
}

export function ratio(value, base) {
  if (!Number.isFinite(value) || !Number.isFinite(base) || base === 0) return undefined;
  return value / base;
}

/** Prints a table: headers, rows of cells; columns after the first are right-aligned. */
export function printTable(title, headers, rows, notes = []) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? String(c ?? '').padEnd(widths[i]) : String(c ?? '').padStart(widths[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(headers));
  console.log(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  for (const note of notes) console.log(`  · ${note}`);
}

/** The chart's bar groups (workload → one bar per driver) from a run's results and settings. */
export function chartGroups(results, settings, label) {
  const groups = [];
  const bar = (driver, value, base) => ({ driver, label: label(driver), ratio: ratio(value, base) });
  const ids = (obj) => Object.keys(obj).filter((id) => id !== BASELINE && typeof obj[id] === 'object');
  const ps = results['point-select'];
  if (ps) {
    for (const c of settings.concurrencies) {
      groups.push({ label: `point SELECT, c=${c}`, bars: ids(ps).map((id) => bar(id, ps[id][`c${c}`], ps[BASELINE]?.[`c${c}`])) });
    }
  }
  const co = results['connection-overhead'];
  if (co) {
    groups.push({
      label: `${settings.connectionQueries / 1000}k SELECTs, ${settings.connectionWorkers} workers`,
      bars: ids(co).map((id) => bar(id, co[id].opsPerSec, co[BASELINE]?.opsPerSec)),
    });
  }
  const hv = results.heavy;
  if (hv) {
    groups.push({
      label: `heavy JOIN, ${settings.heavyWorkers} clients`,
      bars: ids(hv).map((id) => bar(id, hv[id].opsPerSec, hv[BASELINE]?.opsPerSec)),
    });
  }
  const cl = results.classic;
  if (cl) {
    for (const c of cl.cases) {
      const bars = ids(cl.results)
        .filter((id) => cl.results[id][c])
        .map((id) => bar(id, cl.results[id][c].opsPerSec, cl.results[BASELINE]?.[c]?.opsPerSec));
      groups.push({ label: c.replace(' (transaction)', ' in a transaction'), bars });
    }
  }
  const wr = results.write;
  if (wr) {
    groups.push({
      label: `single-row INSERTs (${settings.writeConcurrency} outstanding)`,
      bars: ids(wr).map((id) => bar(id, wr[id].rowsPerSec, wr[BASELINE]?.rowsPerSec)),
    });
  }
  return groups;
}

const COLORS = {
  litepool: '#2563eb',
  sqlite3: '#f59e0b',
  sqlite3x4: '#d97706',
  'node-sqlite': '#16a34a',
  'open-per-query': '#9ca3af',
  'litepool-batch': '#60a5fa',
  'litepool-tx': '#bfdbfe',
};

const esc = (s) => String(s).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/**
 * A horizontal grouped bar chart, log scale, of throughput ratios against better-sqlite3 (the
 * 1.0x line). groups: [{ label, bars: [{ driver, label, ratio }] }].
 */
export function renderChart({ title, subtitle, groups, legend }) {
  const barH = 13;
  const barGap = 3;
  const groupGap = 16;
  const left = 250;
  const plotW = 560;
  const right = 70;
  const width = left + plotW + right;
  // Legend: items laid out left to right, wrapping; widths estimated from the label length.
  const legendItems = [];
  let lx = 16;
  let ly = 70;
  for (const item of legend) {
    const w = 17 + item.label.length * 6.6 + 22;
    if (lx + w > width - 16) {
      lx = 16;
      ly += 20;
    }
    legendItems.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[item.driver] ?? '#6b7280'}"/><text x="${lx + 17}" y="${ly + 0.5}" class="legend">${esc(item.label)}</text>`,
    );
    lx += w;
  }
  const top = ly + 34;
  const ratios = groups.flatMap((g) => g.bars.map((b) => b.ratio)).filter((r) => Number.isFinite(r) && r > 0);
  const ticks = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20];
  const lo = Math.min(0.5, ...ticks.filter((t) => t <= Math.min(...ratios)).slice(-1));
  const hi = Math.max(2, ...ticks.filter((t) => t >= Math.max(...ratios)).slice(0, 1));
  const x = (r) => left + ((Math.log10(r) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotW;
  let y = top;
  const parts = [];
  for (const group of groups) {
    const h = group.bars.length * (barH + barGap) - barGap;
    parts.push(
      `<text x="${left - 10}" y="${y + h / 2 + 4}" text-anchor="end" class="group">${esc(group.label)}</text>`,
    );
    for (const bar of group.bars) {
      const r = bar.ratio;
      if (Number.isFinite(r) && r > 0) {
        const x0 = x(Math.max(lo, Math.min(1, r)));
        const x1 = x(Math.min(hi, Math.max(1, r)));
        parts.push(
          `<rect x="${x0.toFixed(1)}" y="${y}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${barH}" fill="${COLORS[bar.driver] ?? '#6b7280'}"><title>${esc(`${group.label} — ${bar.label}: ${fmtRatio(r)} better-sqlite3`)}</title></rect>`,
        );
        const labelX = r >= 1 ? x1 + 4 : x0 - 4;
        parts.push(
          `<text x="${labelX.toFixed(1)}" y="${y + barH - 3}" text-anchor="${r >= 1 ? 'start' : 'end'}" class="value">${fmtRatio(r)}</text>`,
        );
      } else {
        parts.push(`<text x="${x(1) + 4}" y="${y + barH - 3}" class="value">n/a</text>`);
      }
      y += barH + barGap;
    }
    y += groupGap;
  }
  const plotBottom = y - groupGap + 6;
  const axis = [];
  for (const t of ticks.filter((t) => t >= lo && t <= hi)) {
    axis.push(
      `<line x1="${x(t).toFixed(1)}" y1="${top - 6}" x2="${x(t).toFixed(1)}" y2="${plotBottom}" class="${t === 1 ? 'one' : 'grid'}"/>`,
      `<text x="${x(t).toFixed(1)}" y="${plotBottom + 16}" text-anchor="middle" class="tick">${t}x</text>`,
    );
  }
  const height = plotBottom + 44;
  return `<!-- Owns the published benchmark chart: throughput ratios against better-sqlite3 (log scale), drawn from a results file by bench/run.mjs or bench/markdown.mjs. -->
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">
<style>
  .title { font-size: 17px; font-weight: 600; fill: #111827; }
  .subtitle { font-size: 12px; fill: #4b5563; }
  .group { font-size: 12px; fill: #111827; }
  .value { font-size: 11px; fill: #374151; }
  .tick { font-size: 11px; fill: #4b5563; }
  .legend { font-size: 12px; fill: #111827; }
  .grid { stroke: #e5e7eb; stroke-width: 1; }
  .one { stroke: #111827; stroke-width: 1.5; }
  .foot { font-size: 11px; fill: #6b7280; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="16" y="26" class="title">${esc(title)}</text>
<text x="16" y="44" class="subtitle">${esc(subtitle)}</text>
${legendItems.join('\n')}
${axis.join('\n')}
${parts.join('\n')}
<text x="16" y="${height - 10}" class="foot">Throughput relative to better-sqlite3 (the 1x line), log scale. Right of the line: faster than better-sqlite3; left: slower.</text>
</svg>
`;
}

const LEGEND_ORDER = ['litepool', 'litepool-batch', 'litepool-tx', 'sqlite3', 'sqlite3x4', 'node-sqlite', 'open-per-query'];

/** The whole chart for a results file (the report object run.mjs writes). */
export function chartFromReport(report, label) {
  const { machine, versions } = report;
  const groups = chartGroups(report.results, report.settings, label);
  const legend = LEGEND_ORDER.filter((id) => groups.some((g) => g.bars.some((b) => b.driver === id))).map((id) => ({
    driver: id,
    label: label(id),
  }));
  return renderChart({
    title: `litepool vs better-sqlite3, sqlite3${versions['node:sqlite']?.skipped ? '' : ', node:sqlite'} — throughput ratio`,
    subtitle: `${machine.cpuModel} × ${machine.cpuCount} · ${machine.platform}-${machine.arch} · Node ${machine.node} · ${report.date.slice(0, 10)} · ${report.mode} run`,
    groups,
    legend,
  });
}
