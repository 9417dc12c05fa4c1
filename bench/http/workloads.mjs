// Owns the HTTP benchmark's workloads: which request classes each one sends and in what
// proportion, and the request text of each class (random ids over the bench/ datasets; insert
// bodies from the seeded row generator of bench/lib/data.mjs).

import { itemRow } from '../lib/data.mjs';
import { seeded } from '../lib/prng.mjs';

export const WORKLOADS = {
  point: { label: 'point read', classes: [{ cls: 'point', weight: 1 }] },
  heavy: { label: 'heavy read (join + group by)', classes: [{ cls: 'heavy', weight: 1 }] },
  mixed: {
    label: '90% point + 10% heavy',
    classes: [
      { cls: 'point', weight: 0.9 },
      { cls: 'heavy', weight: 0.1 },
    ],
  },
  write: { label: 'write (POST, one INSERT)', classes: [{ cls: 'write', weight: 1 }] },
};

/** Which drivers run a workload: the no-database ceiling only where it means something. */
export const runsOn = (workload, driver) => !driver.ceiling || workload === 'point' || workload === 'write';

/**
 * Returns `next()` → { cls, method, path, body }: a request of a class drawn with the workload's
 * weights (ids uniform over the dataset; insert bodies from 1,024 seeded rows, in turn).
 */
export function requestSource(workload, shape) {
  const { classes } = WORKLOADS[workload];
  const cumulative = [];
  let sum = 0;
  for (const c of classes) cumulative.push((sum += c.weight));
  const bodies = [];
  if (classes.some((c) => c.cls === 'write')) {
    const random = seeded(7);
    for (let i = 0; i < 1024; i++) {
      const [name, email, score, created_at] = itemRow(random, i);
      bodies.push(JSON.stringify({ name, email, score, created_at }));
    }
  }
  let written = 0;
  const build = {
    point: () => ({ cls: 'point', method: 'GET', path: `/point?id=${1 + Math.floor(Math.random() * shape.items)}`, body: undefined }),
    heavy: () => ({ cls: 'heavy', method: 'GET', path: `/heavy?id=${1 + Math.floor(Math.random() * shape.posts)}`, body: undefined }),
    write: () => ({ cls: 'write', method: 'POST', path: '/items', body: bodies[written++ & 1023] }),
  };
  if (classes.length === 1) return build[classes[0].cls];
  return () => {
    const r = Math.random() * sum;
    let i = 0;
    while (i < cumulative.length - 1 && r >= cumulative[i]) i++;
    return build[classes[i].cls]();
  };
}

/** The HTTP/1.1 request text of a request (keep-alive is HTTP/1.1's default). */
export function requestText({ method, path, body }) {
  if (body === undefined) return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
  return (
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}
