// Covers two edges. litepool/otel with OpenTelemetry objects that throw (a tracer's startSpan(), a
// real SDK span processor's onStart(), a span's setAttribute()/end(), a histogram's record()): the
// operations keep their outcomes, nothing escapes as an uncaught exception (Node re-throws what a
// diagnostics_channel subscriber throws), one LITEPOOL_OBSERVER warning per instrument() call, a
// span whose start threw is never ended, one whose attributes threw still is, and stop() still
// unsubscribes from every channel. db.schema.addColumn({ ifNotExists }) compares names as SQLite
// does, folding only the ASCII letters: `É` beside `é`, or the Kelvin sign beside `k`, is a new
// column, while `NAME` beside `name` is not.

import type { MeterProvider, Span, TracerProvider } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { channel } from 'node:diagnostics_channel';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { instrument } from '../lib/otel/index.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection, sleep } from './helpers/waits.ts';

const pools = tempPools('otel-schema-fixes');

/** Warnings and uncaught exceptions seen while a test runs. */
let warnings: Error[] = [];
let uncaught: unknown[] = [];
const onWarning = (w: Error): void => void warnings.push(w);
const onUncaught = (error: unknown): void => void uncaught.push(error);
beforeEach(() => {
  warnings = [];
  uncaught = [];
  process.on('warning', onWarning);
  process.on('uncaughtException', onUncaught);
});
afterEach(() => {
  process.off('warning', onWarning);
  process.off('uncaughtException', onUncaught);
});

const observerWarnings = (): string[] => warnings.filter((w) => (w as { code?: string }).code === 'LITEPOOL_OBSERVER').map((w) => w.message);

/** Lets a re-thrown subscriber error and an emitted warning arrive (both come a tick or more later). */
const quiesce = (): Promise<void> => sleep(20);

/** The litepool tracing-channel events someone still listens to. */
function listened(): string[] {
  const names = ['query', 'transaction', 'acquire', 'checkpoint', 'backup'].flatMap((name) =>
    ['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map((event) => `litepool:${name}:${event}`),
  );
  return names.filter((name) => channel(`tracing:${name}`).hasSubscribers);
}

type Throws = { start?: (n: number) => boolean; attribute?: boolean; end?: boolean; record?: boolean };

/** Providers whose objects throw as `throws` says, counting the spans started and ended and the values recorded. */
function throwingProviders(throws: Throws) {
  const counts = { started: 0, ended: 0, recorded: 0, startCalls: 0 };
  const span = {
    setAttribute() {
      if (throws.attribute) throw new Error('setAttribute throws');
      return span;
    },
    setAttributes() {
      if (throws.attribute) throw new Error('setAttributes throws');
      return span;
    },
    setStatus: () => span,
    end() {
      counts.ended++;
      if (throws.end) throw new Error('end throws');
    },
  };
  const tracerProvider = {
    getTracer: () => ({
      startSpan() {
        if (throws.start?.(++counts.startCalls)) throw new Error('startSpan throws');
        counts.started++;
        return span as unknown as Span;
      },
    }),
  } as unknown as TracerProvider;
  const histogram = {
    record() {
      counts.recorded++;
      if (throws.record) throw new Error('record throws');
    },
  };
  const meterProvider = {
    getMeter: () => ({ createHistogram: () => histogram, createObservableUpDownCounter: () => ({ addCallback() {}, removeCallback() {} }) }),
  } as unknown as MeterProvider;
  return { counts, tracerProvider, meterProvider };
}

/** A query, a failing write, a transaction and a checkpoint, with their outcomes. */
async function workload(db: Awaited<ReturnType<typeof pools.fresh>>): Promise<void> {
  expect(await db.get('SELECT 1 AS x')).toEqual({ x: 1 });
  expect(await rejection(db.run('INSERT INTO nope VALUES (1)'))).toMatchObject({ code: 'SQLITE_ERROR' });
  expect(await db.transaction((tx) => tx.get('SELECT count(*) AS n FROM t'))).toEqual({ n: 0 });
  expect(await db.checkpoint()).toMatchObject({ busy: false });
}

describe('instrument() with OpenTelemetry objects that throw', () => {
  it('a tracer whose startSpan() throws: outcomes kept, no uncaught exception, one warning, nothing ended', async () => {
    const db = await pools.fresh();
    const p = throwingProviders({ start: () => true });
    const stop = instrument(db, { tracerProvider: p.tracerProvider, meterProvider: p.meterProvider });
    await workload(db);
    await quiesce();
    expect(uncaught).toEqual([]);
    expect(observerWarnings()).toEqual([expect.stringMatching(/litepool\/otel.*startSpan throws/)]);
    expect(p.counts).toMatchObject({ started: 0, ended: 0, recorded: 0 });
    expect(p.counts.startCalls).toBeGreaterThanOrEqual(4);
    stop();
    expect(listened()).toEqual([]);
  });

  it('keeps tracing after a start that threw, and never ends the span that did not start', async () => {
    const db = await pools.fresh();
    const p = throwingProviders({ start: (n) => n === 1 });
    const stop = instrument(db, { tracerProvider: p.tracerProvider, meterProvider: p.meterProvider });
    expect(await db.get('SELECT 1 AS x')).toEqual({ x: 1 }); // its start throws
    expect(await db.get('SELECT 2 AS x')).toEqual({ x: 2 });
    await quiesce();
    expect(uncaught).toEqual([]);
    expect(p.counts).toMatchObject({ startCalls: 2, started: 1, ended: 1 });
    expect(observerWarnings()).toHaveLength(1);
    stop();
    expect(listened()).toEqual([]);
  });

  it('a real SDK span processor whose onStart() throws', async () => {
    const db = await pools.fresh();
    const ended: ReadableSpan[] = [];
    const tracerProvider = new BasicTracerProvider({
      spanProcessors: [
        {
          onStart() {
            throw new Error('processor onStart throws');
          },
          onEnd: (span) => void ended.push(span),
          forceFlush: async () => {},
          shutdown: async () => {},
        },
      ],
    });
    const stop = instrument(db, { tracerProvider });
    await workload(db);
    await quiesce();
    expect(uncaught).toEqual([]);
    expect(observerWarnings()).toEqual([expect.stringMatching(/processor onStart throws/)]);
    expect(ended).toEqual([]);
    stop();
    expect(listened()).toEqual([]);
  });

  for (const [what, throws, message] of [
    ["a span's setAttribute()", { attribute: true }, /setAttributes? throws/],
    ["a span's end()", { end: true }, /end throws/],
    ["a histogram's record()", { record: true }, /record throws/],
  ] as const) {
    it(`${what} that throws: every span still ended, stop() still unsubscribes`, async () => {
      const db = await pools.fresh();
      const p = throwingProviders(throws);
      const stop = instrument(db, { tracerProvider: p.tracerProvider, meterProvider: p.meterProvider });
      await workload(db);
      await quiesce();
      expect(uncaught).toEqual([]);
      expect(observerWarnings()).toEqual([expect.stringMatching(message)]);
      expect(p.counts.started).toBeGreaterThanOrEqual(4);
      expect(p.counts.ended).toBe(p.counts.started);
      expect(p.counts.recorded).toBeGreaterThanOrEqual(4);
      stop();
      expect(listened()).toEqual([]);
    });
  }

  it('warns once per instrument() call', async () => {
    const db = await pools.fresh();
    const a = throwingProviders({ end: true });
    const b = throwingProviders({ record: true });
    const stopA = instrument(db, { tracerProvider: a.tracerProvider, meterProvider: a.meterProvider });
    const stopB = instrument(db, { tracerProvider: b.tracerProvider, meterProvider: b.meterProvider });
    for (let i = 0; i < 3; i++) await workload(db);
    await quiesce();
    expect(uncaught).toEqual([]);
    expect(observerWarnings().sort()).toEqual([expect.stringMatching(/record throws/), expect.stringMatching(/end throws/)]);
    stopA();
    stopB();
    expect(listened()).toEqual([]);
  });

  it('a transaction that throws null ends its span as failed', async () => {
    const db = await pools.fresh();
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    const stop = instrument(db, { tracerProvider });
    expect(await rejection(db.transaction(() => Promise.reject(null)))).toBe(null);
    await quiesce();
    expect(uncaught).toEqual([]);
    expect(observerWarnings()).toEqual([]);
    const transaction = spans.getFinishedSpans().find((s) => s.name === 'TRANSACTION')!;
    expect(transaction.attributes['error.type']).toBe('_OTHER');
    stop();
  });
});

describe('schema.addColumn({ ifNotExists }) folds only ASCII letters, as SQLite does', () => {
  it('adds `É` beside `é` and the Kelvin sign beside `k`', async () => {
    const db = await pools.fresh({}, 'CREATE TABLE t (id INTEGER PRIMARY KEY, "é" TEXT, k TEXT)');
    expect(await db.schema.addColumn('t', 'É', 'TEXT', { ifNotExists: true })).toBe(true);
    expect(await db.schema.addColumn('t', '\u212A', 'TEXT', { ifNotExists: true })).toBe(true);
    expect((await db.schema.columns('t')).map((c) => c.name)).toEqual(['id', 'é', 'k', 'É', '\u212A']);
    await db.run('INSERT INTO t (id, "é", "É", k, "\u212A") VALUES (1, ?, ?, ?, ?)', ['small', 'capital', 'k', 'kelvin']);
    expect(await db.get('SELECT "é" AS a, "É" AS b, k AS c, "\u212A" AS d FROM t')).toEqual({ a: 'small', b: 'capital', c: 'k', d: 'kelvin' });
    // Present now, in either spelling SQLite folds together.
    expect(await db.schema.addColumn('t', 'É', 'TEXT', { ifNotExists: true })).toBe(false);
    expect(await db.schema.addColumn('t', 'K', 'TEXT', { ifNotExists: true })).toBe(false);
  });

  it('still finds an ASCII name in another letter case', async () => {
    const db = await pools.fresh({}, 'CREATE TABLE t (id INTEGER PRIMARY KEY, "Näme" TEXT)');
    expect(await db.schema.addColumn('t', 'NäME', 'TEXT', { ifNotExists: true })).toBe(false);
    expect(await db.schema.addColumn('t', 'nämE', 'TEXT', { ifNotExists: true })).toBe(false);
    expect(await db.schema.addColumn('t', 'NÄME', 'TEXT', { ifNotExists: true })).toBe(true);
    expect((await db.schema.columns('t')).map((c) => c.name)).toEqual(['id', 'Näme', 'NÄME']);
  });
});
