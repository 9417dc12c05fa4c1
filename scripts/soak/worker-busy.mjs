// Owns the body of the worker-termination soak (scripts/soak/worker-terminate.mjs): runs inside a
// worker_threads Worker, opens a pool on the shared database file and keeps it busy — reads,
// writes, a write queue, transactions, a reader lease with an iteration — until the main thread
// terminates the worker. Posts 'busy' once every kind of work is in flight.
//
// No top-level await: V8 (Node 20) aborts the whole process when a worker is terminated while a
// module with top-level await is still being evaluated ("Check failed: (location_) != nullptr"
// in SourceTextModule::ExecuteAsyncModule), and this soak terminates some workers while their
// pool is still opening. The body runs in an async function instead, so those terminations land
// in the same place of the pool's life without that module state.
import { parentPort, workerData } from 'node:worker_threads';

async function main() {
  const { open } = await import(new URL('../../dist/index.js', import.meta.url).href);
  const { file, round } = workerData;
  const db = await open(file, { readers: 2 });
  await db.exec('CREATE TABLE IF NOT EXISTS w (id INTEGER PRIMARY KEY, round INTEGER NOT NULL, payload TEXT NOT NULL)');
  const queue = db.writeQueue({ capacity: 256 });
  const payload = (n) => 'x'.repeat(50 + (n % 200));
  const forever = async (step) => {
    for (let n = 0; ; n++) await step(n);
  };
  const loops = [
    (n) => db.run('INSERT INTO w (round, payload) VALUES (?, ?)', [round, payload(n)]),
    (n) => Promise.all(Array.from({ length: 16 }, (_, i) => queue.enqueue('INSERT INTO w (round, payload) VALUES (?, ?)', [round, payload(n + i)]))),
    () => db.get('SELECT count(*) AS n FROM w WHERE round = ?', [round]),
    () => db.all('SELECT id, length(payload) AS len FROM w ORDER BY id DESC LIMIT 50'),
    (n) => db.transaction(async (tx) => {
      await tx.run('INSERT INTO w (round, payload) VALUES (?, ?)', [round, payload(n)]);
      await tx.get('SELECT max(id) AS m FROM w');
    }),
    async () => {
      const lease = await db.acquire();
      try {
        let rows = 0;
        for await (const row of lease.iterate('SELECT id FROM w ORDER BY id DESC', [], { chunkSize: 32 })) {
          if (row && ++rows >= 200) break;
        }
      } finally {
        await lease.release();
      }
    },
  ];
  let started = 0;
  for (const step of loops) {
    forever(async (n) => {
      await step(n);
      if (n === 0 && ++started === loops.length) parentPort.postMessage('busy');
    });
  }
}

main();
