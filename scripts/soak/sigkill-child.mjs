// Owns the child process of the SIGKILL soak (scripts/soak/sigkill.mjs): mixed writes until it is
// killed. Opens the database (synchronous 'normal', group commit on, two readers), continues after
// the largest id already there, and runs at once: a write queue with 32 entries in flight (group
// commit), plain run() calls, transactions of 5 rows, batches of 4 rows, insertMany of 50 rows,
// checkpoints (PASSIVE, FULL, RESTART, TRUNCATE) and reads. Every row carries its group (one per
// transaction, batch or insertMany; a single row is its own group) and the group's size, so that
// the parent can check all-or-nothing. A line with the ids of an operation is printed only after
// its promise resolved (stdout on a pipe is synchronous on Linux: the line is in the pipe before
// the next write starts). Never exits by itself; a failure goes to stderr with exit code 1.
// Usage: node sigkill-child.mjs <database>
const { open, WriteQueue } = await import(new URL('../../dist/index.js', import.meta.url).href);

const [database] = process.argv.slice(2);
if (!database) {
  process.stderr.write('usage: sigkill-child.mjs <database>\n');
  process.exit(2);
}

function die(error) {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
}

const INSERT = 'INSERT INTO acks (id, grp, size, pad) VALUES (?, ?, ?, ?)';
const pad = (id) => `p${id}`.padEnd(40, '.');

try {
  const db = await open(database, { readers: 2, synchronous: 'normal', groupCommit: true });
  await db.exec('CREATE TABLE IF NOT EXISTS acks (id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, size INTEGER NOT NULL, pad TEXT NOT NULL)');
  let next = (await db.get('SELECT coalesce(max(id), 0) AS id FROM acks')).id + 1;
  const take = (n) => {
    const ids = Array.from({ length: n }, (_, i) => next + i);
    next += n;
    return ids;
  };
  const ack = (ids) => process.stdout.write(`${ids.join(' ')}\n`);
  const forever = async (step) => {
    for (;;) await step();
  };

  const queue = db.writeQueue(WriteQueue.forCritical());
  const launch = () => {
    const [id] = take(1);
    queue.enqueue(INSERT, [id, id, 1, pad(id)]).then(() => {
      ack([id]);
      launch();
    }, die);
  };
  for (let i = 0; i < 32; i++) launch();

  const loops = [
    async () => {
      const [id] = take(1);
      await db.run(INSERT, [id, id, 1, pad(id)]);
      ack([id]);
    },
    async () => {
      const ids = take(5);
      await db.transaction(async (tx) => {
        for (const id of ids) await tx.run(INSERT, [id, ids[0], ids.length, pad(id)]);
      });
      ack(ids);
    },
    async () => {
      const ids = take(4);
      await db.batch(ids.map((id) => ({ sql: INSERT, params: [id, ids[0], ids.length, pad(id)] })));
      ack(ids);
    },
    async () => {
      const ids = take(50);
      await db.insertMany('acks', ids.map((id) => ({ id, grp: ids[0], size: ids.length, pad: pad(id) })));
      ack(ids);
    },
    async () => {
      const mode = ['PASSIVE', 'FULL', 'RESTART', 'TRUNCATE'][Math.floor(Math.random() * 4)];
      await db.exec(`PRAGMA wal_checkpoint(${mode})`);
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    },
    async () => {
      await db.get('SELECT count(*) AS n, max(id) AS m FROM acks');
    },
  ];
  for (const step of loops) forever(step).catch(die);
} catch (error) {
  die(error);
}
