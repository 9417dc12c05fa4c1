// Owns writing metrics in the Prometheus text exposition format (version 0.0.4): HELP and TYPE
// lines, label escaping, histogram series, and the checks of a metric name prefix and of constant
// labels. Pure functions, no state.

import { describeType, invalidArgument, outOfRange, unreadable } from '../errors.ts';
import type { BucketHistogram } from './histogram.ts';

export type Labels = Readonly<Record<string, string | number | boolean>>;

/** A metric name prefix: a string (else a TypeError) of Prometheus' metric name form (else a RangeError). */
export function checkPrefix(value: unknown): string {
  if (typeof value !== 'string') throw invalidArgument(`prefix must be a string, got ${describeType(value)}`);
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(value)) throw outOfRange(`prefix must be a valid Prometheus metric name, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Constant labels: an object (else a TypeError) of label names (Prometheus' form, else a
 * RangeError) to strings, numbers or booleans (else a TypeError). Returns a frozen copy, read once.
 */
export function checkLabels(value: unknown): Labels {
  if (value === undefined) return Object.freeze({});
  let entries: [string, unknown][];
  try {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw invalidArgument(`labels must be an object of label names to values, got ${Array.isArray(value) ? 'an array' : describeType(value)}`);
    }
    entries = Object.entries(value);
  } catch (error) {
    throw unreadable('labels', error);
  }
  for (const [key, label] of entries) {
    if (typeof label !== 'string' && typeof label !== 'number' && typeof label !== 'boolean') {
      throw invalidArgument(`labels.${key} must be a string, number or boolean, got ${describeType(label)}`);
    }
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(key)) throw outOfRange(`label name ${JSON.stringify(key)} is not a valid Prometheus label name`);
  }
  return Object.freeze(Object.fromEntries(entries) as Record<string, string | number | boolean>);
}

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatLabels(labels: Labels): string {
  const parts: string[] = [];
  for (const key of Object.keys(labels)) parts.push(`${key}="${escapeLabelValue(String(labels[key]))}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Builds one exposition text, one metric family at a time. */
export class PrometheusWriter {
  readonly #lines: string[] = [];
  readonly #declared = new Set<string>();
  readonly #constant: Labels;

  /** `constant` labels are added to every series (first), and win over a series' own label of the same name. */
  constructor(constant: Labels = {}) {
    this.#constant = constant;
  }

  #labels(labels: Labels): Labels {
    const constant = this.#constant;
    return Object.keys(constant).length === 0 ? labels : { ...constant, ...labels, ...constant };
  }

  #declare(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    if (this.#declared.has(name)) return;
    this.#declared.add(name);
    this.#lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
  }

  counter(name: string, help: string, labels: Labels, value: number): void {
    this.#declare(name, 'counter', help);
    this.#lines.push(`${name}${formatLabels(this.#labels(labels))} ${formatNumber(value)}`);
  }

  gauge(name: string, help: string, labels: Labels, value: number): void {
    this.#declare(name, 'gauge', help);
    this.#lines.push(`${name}${formatLabels(this.#labels(labels))} ${formatNumber(value)}`);
  }

  /** A histogram recorded in milliseconds, exposed in seconds. */
  histogram(name: string, help: string, labels: Labels, histogram: BucketHistogram): void {
    this.#declare(name, 'histogram', help);
    const all = this.#labels(labels);
    const cumulative = histogram.cumulative();
    histogram.bounds.forEach((bound, i) => {
      this.#lines.push(`${name}_bucket${formatLabels({ ...all, le: formatNumber(bound) })} ${cumulative[i]}`);
    });
    this.#lines.push(`${name}_bucket${formatLabels({ ...all, le: '+Inf' })} ${histogram.count}`);
    this.#lines.push(`${name}_sum${formatLabels(all)} ${formatNumber(histogram.sumMs / 1000)}`);
    this.#lines.push(`${name}_count${formatLabels(all)} ${histogram.count}`);
  }

  toString(): string {
    return this.#lines.length === 0 ? '' : `${this.#lines.join('\n')}\n`;
  }
}
