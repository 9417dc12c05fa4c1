// Owns how the command line prints results for people: aligned columns, one line per migration.

import type { DownReport, MigrateReport, MigrationStatusEntry } from '../migrations/types.ts';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

function indent(text: string): string {
  return text.replace(/^/gm, '  ');
}

function ms(value: number): string {
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

export function formatMigrate(report: MigrateReport): string {
  const lines: string[] = [];
  if (report.dryRun) {
    lines.push(report.pending.length === 0 ? 'nothing to apply' : 'would apply, in this order:');
    if (report.pending.length > 0) lines.push(indent(table(report.pending.map((m) => [m.version, m.name]))));
  } else {
    if (report.applied.length === 0) lines.push('nothing to apply');
    if (report.applied.length > 0) lines.push(table(report.applied.map((m) => ['applied', m.version, m.name, `(${ms(m.durationMs)})`])));
    if (report.pending.length > 0) lines.push(`not applied (above --to): ${report.pending.map((m) => m.version).join(', ')}`);
  }
  lines.push(`database at ${report.current ?? 'no version (nothing applied)'}`);
  return lines.join('\n');
}

export function formatDown(report: DownReport): string {
  const lines: string[] = [];
  if (report.dryRun) {
    lines.push(report.pending.length === 0 ? 'nothing to revert' : 'would revert, in this order:');
    if (report.pending.length > 0) lines.push(indent(table(report.pending.map((m) => [m.version, m.name]))));
  } else {
    if (report.reverted.length === 0) lines.push('nothing to revert');
    if (report.reverted.length > 0) lines.push(table(report.reverted.map((m) => ['reverted', m.version, m.name, `(${ms(m.durationMs)})`])));
  }
  lines.push(`database at ${report.current ?? 'no version (nothing applied)'}`);
  return lines.join('\n');
}

export function formatStatus(entries: readonly MigrationStatusEntry[]): string {
  if (entries.length === 0) return 'no migrations';
  const rows = [['VERSION', 'NAME', 'STATE', 'APPLIED AT', 'NOTE']];
  for (const e of entries) {
    const note = e.coveredByBaseline
      ? e.state === 'applied'
        ? `by baseline ${e.coveredByBaseline}`
        : `baseline ${e.coveredByBaseline} will stand for it`
      : (e.error ?? (e.kind === 'baseline' ? 'baseline' : ''));
    rows.push([e.version, e.name, e.state, e.appliedAt ?? '', note]);
  }
  return table(rows);
}
