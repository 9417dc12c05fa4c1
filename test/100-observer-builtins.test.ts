// The built-in observers fed with events directly: histograms, Prometheus text, the query logger,
// the profiler's ranking and plan capture, the SQL keyword lexer and the policies.
import { afterAll, describe, expect, it } from 'vitest';
import { open, type Pool } from '../lib/index.ts';
import { BucketHistogram, QuantileHistogram } from '../lib/observers/histogram.ts';
import { MetricsCollector, QueryLogger, QueryProfiler, policies, type ObservedPool, type QueryEvent } from '../lib/observers/index.ts';
import { statementKeywords } from '../lib/observers/sql-keywords.ts';

function event(overrides: Partial<QueryEvent> = {}): QueryEvent {
  return {
    operation: 'get',
    sql: 'SELECT 1',
    role: 'reader',
    connectionId: 0,
    queuedMs: 0.2,
    execMs: 0.5,
    totalMs: 0.8,
    rows: 1,
    changes: 0,
    inTransaction: false,
    ...overrides,
  };
}

function observed(db: Pool): ObservedPool {
  return {
    get path() {
      return db.path;
    },
    get closed() {
      return db.closed;
    },
    stats: () => db.stats(),
    all: (sql) => db.all(sql),
  };
}

const pools: Pool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe('histograms', () => {
  it('bucket histogram counts every value in exactly one bucket and interpolates quantiles inside it', () => {
    const h = new BucketHistogram([0.001, 0.01, 0.1]);
    for (const ms of [0.5, 1, 2, 5, 50, 500]) h.record(ms);
    expect([...h.counts]).toEqual([2, 2, 1, 1]);
    expect(h.cumulative()).toEqual([2, 4, 5, 6]);
    expect(h.count).toBe(6);
    expect(h.sumMs).toBeCloseTo(558.5);
    const median = h.quantile(0.5);
    expect(median).toBeGreaterThan(1);
    expect(median).toBeLessThanOrEqual(10);
    expect(h.quantile(1)).toBe(100);
  });

  it('quantile histogram stays within one bucket (about 4.4%) of the exact quantile', () => {
    const h = new QuantileHistogram();
    const values: number[] = [];
    for (let i = 1; i <= 10_000; i++) values.push(i / 100);
    for (const v of values) h.record(v);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = values[Math.ceil(q * values.length) - 1]!;
      const got = h.quantile(q);
      expect(got).toBeGreaterThanOrEqual(exact);
      expect(got / exact).toBeLessThan(1.045);
    }
    expect(h.quantile(1)).toBe(100);
    expect(h.meanMs).toBeCloseTo(50.005, 3);
    h.reset();
    expect(h.quantile(0.5)).toBe(0);
  });
});

describe('MetricsCollector', () => {
  it('counts operations, errors and statements, and writes valid Prometheus text', async () => {
    const db = await open(':memory:');
    pools.push(db);
    const metrics = new MetricsCollector({ labels: { service: 'api' } });
    metrics.onAttach(observed(db));
    for (let i = 0; i < 10; i++) metrics.onQuery(event({ queuedMs: i, execMs: 2 * i }));
    metrics.onQuery(event({ operation: 'run', sql: 'INSERT INTO t VALUES (?)', role: 'writer', rows: 0, changes: 1, error: { code: 'SQLITE_CONSTRAINT_UNIQUE', message: 'x' } }));
    metrics.onTransaction({ phase: 'begin', durationMs: 0 });
    metrics.onTransaction({ phase: 'commit', durationMs: 3 });
    metrics.onAcquire({ write: true, waitedMs: 1 });
    metrics.onQueue({ kind: 'dropped', depth: 5 });

    const snap = metrics.snapshot();
    expect(snap.operations.get!.count).toBe(10);
    expect(snap.operations.get!.queued.sumMs).toBe(45);
    expect(snap.operations.run!.errors).toBe(1);
    expect(snap.errors).toEqual({ SQLITE_CONSTRAINT_UNIQUE: 1 });
    expect(snap.statements.map((s) => [s.sql, s.count])).toEqual([['SELECT 1', 10], ['INSERT INTO t VALUES (?)', 1]]);
    expect(snap.transactions).toMatchObject({ begun: 1, committed: 1, rolledBack: 0 });
    expect(snap.acquires.write.count).toBe(1);
    expect(snap.queue.dropped).toBe(1);
    expect(snap.pools).toHaveLength(1);

    const text = metrics.toPrometheus();
    const lines = text.trimEnd().split('\n');
    // Every sample line is `name{labels} value`; every family is declared once before its samples.
    const declared = new Set<string>();
    for (const line of lines) {
      if (line.startsWith('# TYPE ')) {
        const name = line.split(' ')[2]!;
        expect(declared.has(name)).toBe(false);
        declared.add(name);
      } else if (!line.startsWith('# HELP ')) {
        expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? [-+0-9.eInfNa]+$/);
        const family = line.split(/[{ ]/)[0]!.replace(/_(bucket|sum|count)$/, '');
        expect(declared.has(family) || declared.has(line.split(/[{ ]/)[0]!)).toBe(true);
      }
    }
    expect(text).toContain('litepool_queries_total{service="api",operation="get",role="reader",outcome="ok"} 10');
    expect(text).toContain('litepool_query_errors_total{service="api",code="SQLITE_CONSTRAINT_UNIQUE"} 1');
    expect(text).toContain('litepool_query_exec_seconds_count{service="api",operation="get"} 10');
    expect(text).toContain('litepool_query_exec_seconds_bucket{service="api",operation="get",le="+Inf"} 10');
    expect(text).toContain(`litepool_readers{service="api",database=":memory:",state="idle"}`);
  });

  it('escapes label values and folds statements past maxStatements into one series', () => {
    const metrics = new MetricsCollector({ maxStatements: 2 });
    metrics.onQuery(event({ sql: 'SELECT "a\\b"\nFROM t' }));
    metrics.onQuery(event({ sql: 'SELECT 2' }));
    metrics.onQuery(event({ sql: 'SELECT 3' }));
    metrics.onQuery(event({ sql: 'SELECT 4' }));
    const snap = metrics.snapshot();
    expect(snap.statements.map((s) => s.sql).sort()).toEqual(['SELECT "a\\b"\nFROM t', 'SELECT 2', 'other'].sort());
    expect(snap.statements.find((s) => s.sql === 'other')!.count).toBe(2);
    expect(metrics.toPrometheus()).toContain('statement="SELECT \\"a\\\\b\\"\\nFROM t"');
  });

  it('rejects bad options with typed errors', () => {
    expect(() => new MetricsCollector({ buckets: [1, 0.5] })).toThrow(RangeError);
    expect(() => new MetricsCollector({ prefix: '9bad' })).toThrow(RangeError);
    expect(() => new MetricsCollector({ labels: { 'bad-name': 'x' } })).toThrow(RangeError);
    expect(() => new MetricsCollector({ maxStatements: -1 })).toThrow(RangeError);
    // A misspelt option is refused, not ignored.
    expect(() => new MetricsCollector({ maxStatement: 5 } as never)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT', message: expect.stringMatching(/unknown option maxStatement\b/) }),
    );
    expect(() => new MetricsCollector(null as never)).toThrow(expect.objectContaining({ code: 'LITEPOOL_INVALID_ARGUMENT' }));
  });
});

describe('QueryLogger', () => {
  function recorder() {
    const lines: { level: string; obj: Record<string, unknown>; message: string | undefined }[] = [];
    const logger = {
      info: (obj: object, message?: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, message }),
      warn: (obj: object, message?: string) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, message }),
    };
    return { lines, logger };
  }

  it('logs slow queries with warn, failures, and a sample of the rest', () => {
    const { lines, logger } = recorder();
    let n = 0;
    const log = new QueryLogger({ logger, slowMs: 10, sampleRate: 0.5, random: () => (n++ % 2 === 0 ? 0.1 : 0.9) });
    log.onQuery(event({ totalMs: 25, queuedMs: 20, execMs: 5 }));
    log.onQuery(event({ error: { code: 'SQLITE_ERROR', message: 'no such table' } }));
    for (let i = 0; i < 10; i++) log.onQuery(event());
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(2);
    expect(lines[0]!.message).toContain('slow get');
    expect(lines[0]!.obj).toMatchObject({ queuedMs: 20, execMs: 5, sql: 'SELECT 1' });
    expect(lines[1]!.message).toContain('SQLITE_ERROR');
    expect(lines.filter((l) => l.level === 'info')).toHaveLength(5);
  });

  it('redacts parameter values by default, logs them only when asked, and omits them on request', () => {
    const params = ['secret-token', 42, new Uint8Array(3), null];
    const redacted = recorder();
    new QueryLogger({ logger: redacted.logger, slowMs: 0 }).onQuery(event({ params }));
    expect(JSON.stringify(redacted.lines[0]!.obj)).not.toContain('secret-token');
    expect(redacted.lines[0]!.obj['params']).toEqual(['<text 12 chars>', '<number>', '<blob 3 bytes>', 'null']);
    const raw = recorder();
    new QueryLogger({ logger: raw.logger, slowMs: 0, params: 'log' }).onQuery(event({ params }));
    expect(raw.lines[0]!.obj['params']).toBe(params);
    const omit = recorder();
    const omitting = new QueryLogger({ logger: omit.logger, slowMs: 0, params: 'omit' });
    expect(omitting.wantsParams).toBe(false);
    omitting.onQuery(event({ params }));
    expect(omit.lines[0]!.obj).not.toHaveProperty('params');
  });

  it('rejects bad options with typed errors', () => {
    expect(() => new QueryLogger({ logger: {} as never })).toThrow(TypeError);
    expect(() => new QueryLogger({ sampleRate: 2 })).toThrow(RangeError);
    expect(() => new QueryLogger({ slowMs: -1 })).toThrow(RangeError);
    expect(() => new QueryLogger({ params: 'all' as never })).toThrow(RangeError);
    expect(() => new QueryLogger({ slowMS: 5 } as never)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' }));
    expect(() => new QueryProfiler({ explainOver: 5 } as never)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' }));
    expect(() => new QueryProfiler({ maxStatements: 0 })).toThrow(expect.objectContaining({ code: 'LITEPOOL_OUT_OF_RANGE' }));
    expect(() => new QueryProfiler({ explainOverMs: '5' as never })).toThrow(expect.objectContaining({ name: 'TypeError', code: 'LITEPOOL_INVALID_ARGUMENT' }));
  });
});

describe('QueryProfiler', () => {
  it('ranks statements by total execution time and sums SQLite counters', () => {
    const profiler = new QueryProfiler({ explainOverMs: 1e9 });
    const counters = { fullScanSteps: 100, sorts: 1, autoIndexes: 0, vmSteps: 1000 };
    for (let i = 0; i < 100; i++) profiler.onQuery(event({ sql: 'SELECT cheap', execMs: 0.1, counters }));
    for (let i = 0; i < 3; i++) profiler.onQuery(event({ sql: 'SELECT costly', execMs: 40, rows: 10, counters }));
    const [first, second] = profiler.top(2);
    expect(first!.sql).toBe('SELECT costly');
    expect(first!.calls).toBe(3);
    expect(first!.totalMs).toBeCloseTo(120);
    expect(first!.rows).toBe(30);
    expect(first!.fullScanSteps).toBe(300);
    expect(first!.sorts).toBe(3);
    expect(second!.sql).toBe('SELECT cheap');
    expect(second!.vmSteps).toBe(100_000);
    expect(profiler.top(1)).toHaveLength(1);
  });

  it('captures the query plan once for a statement over the threshold', async () => {
    const db = await open(':memory:');
    pools.push(db);
    await db.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT)');
    let lookups = 0;
    const profiler = new QueryProfiler({ explainOverMs: 5 });
    profiler.onAttach({ ...observed(db), all: (sql) => (lookups++, db.all(sql)) });
    const sql = "SELECT * FROM big WHERE v = 'x'";
    profiler.onQuery(event({ sql, execMs: 1 }));
    profiler.onQuery(event({ sql, execMs: 9 }));
    profiler.onQuery(event({ sql, execMs: 9 }));
    await profiler.settled();
    expect(lookups).toBe(1);
    expect(profiler.top(1)[0]!.plan!.join(' ')).toMatch(/SCAN big/);
  });
});

describe('statementKeywords', () => {
  it.each([
    ['SELECT 1', ['SELECT']],
    ['  -- comment; DROP\n select 1; /* CREATE; */ insert into t values (1);', ['SELECT', 'INSERT']],
    ["SELECT 'a;b; DROP TABLE t'; UPDATE t SET x = 1", ['SELECT', 'UPDATE']],
    ['SELECT "we""ird;" FROM [x;y]; ALTER TABLE t ADD c', ['SELECT', 'ALTER']],
    [';;  ; create index i on t(x)', ['CREATE']],
    ['WITH c AS (SELECT 1) DELETE FROM t', ['WITH']],
    ['', []],
  ])('%j', (sql, expected) => {
    expect(statementKeywords(sql)).toEqual(expected);
  });
});

describe('policies', () => {
  it('denyDdl refuses CREATE, DROP and ALTER in any statement, and lets the rest through', () => {
    const policy = policies.denyDdl();
    const q = (sql: string) => () => policy.beforeQuery!({ operation: 'exec', sql, role: 'writer' });
    expect(q('SELECT 1; DROP TABLE users')).toThrow(/DROP/);
    expect(q('create table t (x)')).toThrow(/CREATE/);
    expect(q("INSERT INTO notes VALUES ('CREATE TABLE x')")).not.toThrow();
  });

  it('denyFullScans refuses SCAN of a table unless allowed, and asks for plans', () => {
    const policy = policies.denyFullScans({ allowTables: ['Settings'] });
    expect(policy.wantsQueryPlan).toBe(true);
    const check = (plan: string[]) => () => policy.beforeQuery!({ operation: 'all', sql: 'x', role: 'reader', plan });
    expect(check(['SCAN users'])).toThrow(/full scan of table users/);
    expect(check(['SCAN users USING COVERING INDEX ix'])).toThrow(/users/);
    expect(check(['SEARCH users USING INTEGER PRIMARY KEY (rowid=?)'])).not.toThrow();
    expect(check(['SCAN settings'])).not.toThrow();
    expect(check(['SCAN CONSTANT ROW'])).not.toThrow();
    expect(check(['SCAN (subquery-1)'])).not.toThrow();
    // Its options are checked where they are given.
    expect(() => policies.denyFullScans({ allowTable: ['x'] } as never)).toThrow(expect.objectContaining({ code: 'LITEPOOL_INVALID_ARGUMENT' }));
    expect(() => policies.denyFullScans({ allowTables: 'settings' as never })).toThrow(expect.objectContaining({ code: 'LITEPOOL_INVALID_ARGUMENT' }));
    expect(() => policies.denyFullScans({ allowTables: [1] as never })).toThrow(expect.objectContaining({ code: 'LITEPOOL_INVALID_ARGUMENT' }));
  });

  it('readOnly refuses run, exec, batch and reads known to write', () => {
    const policy = policies.readOnly();
    const q = (operation: 'get' | 'run' | 'exec' | 'batch', writes?: boolean) => () =>
      policy.beforeQuery!({ operation, sql: 'x', role: operation === 'get' ? 'reader' : 'writer', ...(writes === undefined ? {} : { writes }) });
    expect(q('run')).toThrow(/read-only/);
    expect(q('exec')).toThrow(/read-only/);
    expect(q('batch')).toThrow(/read-only/);
    expect(q('get', true)).toThrow(/read-only/);
    expect(q('get')).not.toThrow();
  });
});
