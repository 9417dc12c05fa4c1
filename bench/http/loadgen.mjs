// Owns the load generator process of the HTTP benchmark. It receives one cell's settings over IPC
// ({type:'run', config}), loads the server, and answers {type:'result', …}; it sends
// {type:'measuring'} when the warm-up ends, so the benchmark can read the server's CPU time over
// exactly the measured window.
//
// Two modes, both over `connections` keep-alive connections on 127.0.0.1:
// - 'max': closed loop: each connection sends its next request as soon as the previous response
//   has arrived. Latency = send to last byte of the response.
// - 'rate': a fixed offered rate, whatever the server's speed: every millisecond a timer releases
//   the requests that have come due, each goes out on a free connection or waits for one.
//   Latency = release to last byte, so time spent waiting for a connection (a slow server) is
//   counted; the lateness of the release timer itself is reported apart (clientLateness).
//
// Every request has a class (point, heavy, write) and latencies are kept per class, so the mixed
// workload reports the point requests' percentiles apart from the heavy ones'.
//
// The built-in client (client.mjs) is the default; `tool: 'autocannon'` runs autocannon instead
// for single-class workloads, as a cross-check (its latencies have 1 ms resolution).

import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

import { Connection } from './client.mjs';
import { WORKLOADS, requestSource, requestText } from './workloads.mjs';

const now = () => performance.now();

/** Growable latency samples (ms) with percentiles. */
class Samples {
  #data = new Float64Array(1 << 14);
  length = 0;
  push(value) {
    if (this.length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.length++] = value;
  }
  summary() {
    const n = this.length;
    if (n === 0) return { count: 0 };
    const sorted = this.#data.slice(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i];
    const at = (q) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
    return { count: n, mean: sum / n, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: sorted[n - 1] };
  }
}

async function runBuiltin(config, onMeasuring) {
  const { port, connections, warmupMs, durationMs, mode, rate } = config;
  const next = requestSource(config.workload, config.shape);
  const perClass = new Map();
  const classStats = (cls) => {
    let s = perClass.get(cls);
    if (!s) perClass.set(cls, (s = { samples: new Samples(), errors: 0 }));
    return s;
  };
  for (const { cls } of WORKLOADS[config.workload].classes) classStats(cls);
  const lateness = new Samples();
  let measuring = false;
  let stopped = false;
  let measureStart = 0;
  let cpuStart;
  let disconnects = 0;
  let maxBacklog = 0;
  const errorSamples = [];

  const record = (cls, ms, status, error) => {
    const s = classStats(cls);
    if (error || status < 200 || status >= 300) {
      s.errors++;
      if (errorSamples.length < 5) errorSamples.push(error ? error.message : `HTTP ${status}`);
    } else s.samples.push(ms);
  };

  // ── connections (a connection the server closes is replaced, and counted) ──
  const all = [];
  const free = [];
  let start;
  const open = async () => {
    const conn = await Connection.open(port, () => {
      if (stopped) return;
      disconnects++;
      setTimeout(() => {
        if (!stopped) open().then((c) => start(c), () => {});
      }, 10);
    });
    if (stopped) conn.close();
    else all.push(conn);
    return conn;
  };

  // ── closed loop ──
  const issue = (conn) => {
    if (stopped || conn.closed) return;
    const req = next();
    const t0 = now();
    conn.request(requestText(req), (status, error) => {
      if (measuring && !stopped) record(req.cls, now() - t0, status, error);
      issue(conn);
    });
  };

  // ── fixed rate ──
  const interval = 1000 / (rate || 1);
  const queue = [];
  let head = 0;
  let due = 0;
  let timer;
  const send = (conn, r) => {
    conn.request(r.text, (status, error) => {
      if (measuring && !stopped) record(r.cls, now() - r.releasedAt, status, error);
      if (!conn.closed) free.push(conn);
      dispatch();
    });
  };
  const dispatch = () => {
    while (head < queue.length && free.length > 0) {
      const conn = free.pop();
      if (conn.closed) continue;
      const r = queue[head];
      queue[head++] = undefined;
      send(conn, r);
    }
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  };
  const tick = () => {
    if (stopped) return;
    const t = now();
    while (due <= t) {
      const req = next();
      if (measuring) lateness.push(t - due);
      queue.push({ cls: req.cls, text: requestText(req), releasedAt: t });
      due += interval;
    }
    if (measuring && queue.length - head > maxBacklog) maxBacklog = queue.length - head;
    dispatch();
    timer = setTimeout(tick, 1);
  };

  start = mode === 'rate' ? (conn) => (free.push(conn), dispatch()) : issue;
  for (let i = 0; i < connections; i++) await open();
  if (mode === 'rate') {
    free.push(...all);
    due = now();
    tick();
  } else for (const conn of [...all]) issue(conn);

  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  measuring = true;
  measureStart = now();
  cpuStart = process.cpuUsage();
  onMeasuring();
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  stopped = true;
  const elapsedMs = now() - measureStart;
  const cpu = process.cpuUsage(cpuStart);
  clearTimeout(timer);
  for (const conn of all) conn.close();

  const classes = {};
  let completed = 0;
  let errors = 0;
  for (const [cls, s] of perClass) {
    classes[cls] = { ...s.samples.summary(), errors: s.errors };
    completed += s.samples.length;
    errors += s.errors;
  }
  return {
    tool: 'builtin',
    elapsedMs,
    completed,
    errors,
    errorSamples,
    rps: (completed * 1000) / elapsedMs,
    classes,
    disconnects,
    ...(mode === 'rate'
      ? { offeredRate: rate, clientLateness: lateness.summary(), maxBacklog, unsent: queue.length - head }
      : {}),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

async function runAutocannon(config, onMeasuring) {
  const { classes } = WORKLOADS[config.workload];
  if (classes.length !== 1) throw new Error(`autocannon reports one latency histogram: use the built-in client for ${config.workload}`);
  const autocannon = createRequire(import.meta.url)('autocannon');
  const next = requestSource(config.workload, config.shape);
  const timer = setTimeout(() => onMeasuring(), config.warmupMs);
  let cpuStart = process.cpuUsage();
  setTimeout(() => (cpuStart = process.cpuUsage()), config.warmupMs);
  const result = await autocannon({
    url: `http://127.0.0.1:${config.port}`,
    connections: config.connections,
    duration: config.durationMs / 1000,
    ...(config.mode === 'rate' ? { overallRate: config.rate } : {}),
    warmup: { connections: config.connections, duration: config.warmupMs / 1000 },
    requests: [
      {
        setupRequest: (request) => {
          const r = next();
          return {
            ...request,
            method: r.method,
            path: r.path,
            body: r.body,
            headers: r.body === undefined ? {} : { 'content-type': 'application/json' },
          };
        },
      },
    ],
  });
  clearTimeout(timer);
  const cpu = process.cpuUsage(cpuStart);
  const l = result.latency;
  const errors = result.errors + result.timeouts + result.non2xx;
  const completed = result['2xx'];
  return {
    tool: `autocannon ${createRequire(import.meta.url)('autocannon/package.json').version}`,
    elapsedMs: result.duration * 1000,
    completed,
    errors,
    errorSamples: [],
    rps: completed / result.duration,
    classes: {
      [classes[0].cls]: { count: completed, mean: l.mean, p50: l.p50, p90: l.p90, p99: l.p99, p999: l.p99_9, max: l.max, errors },
    },
    ...(config.mode === 'rate' ? { offeredRate: config.rate } : {}),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

process.once('message', async (message) => {
  if (message?.type !== 'run') return;
  const run = message.config.tool === 'autocannon' ? runAutocannon : runBuiltin;
  try {
    const result = await run(message.config, () => process.send({ type: 'measuring' }));
    process.send({ type: 'result', result }, () => process.exit(0));
  } catch (error) {
    process.send({ type: 'error', message: String(error?.stack ?? error) }, () => process.exit(1));
  }
});
