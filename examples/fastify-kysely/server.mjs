// Example: a Fastify server on litepool through Kysely. The litepool plugin opens the pool and
// closes it with the app; Kysely runs on it through LitepoolDialect; Kysely's Migrator creates
// the schema. Reads run on the reader threads in parallel, each transfer is one transaction on
// the writer, so concurrent transfers never collide and the total never drifts.
//
//   npm run build:ts                                   (once: the example imports the built package)
//   node examples/fastify-kysely/server.mjs            (serves, fires 200 concurrent requests, prints, exits)
//   node examples/fastify-kysely/server.mjs --serve    (keeps serving on http://127.0.0.1:3000)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Kysely, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import litepool from 'litepool/fastify';
import { LitepoolDialect } from 'litepool/kysely';

const serve = process.argv.includes('--serve');
const dir = mkdtempSync(join(tmpdir(), 'litepool-fastify-kysely-'));

const migrations = {
  '001_accounts': {
    async up(db) {
      await db.schema
        .createTable('account')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('balance', 'integer', (c) => c.notNull().check(sql`balance >= 0`))
        .execute();
      await db.insertInto('account').values([1, 2, 3, 4].map((id) => ({ id, owner: `owner ${id}`, balance: 1000 }))).execute();
    },
  },
  '002_transfers': {
    async up(db) {
      await db.schema
        .createTable('transfer')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('from_id', 'integer', (c) => c.notNull().references('account.id'))
        .addColumn('to_id', 'integer', (c) => c.notNull().references('account.id'))
        .addColumn('amount', 'integer', (c) => c.notNull())
        .execute();
    },
  },
};

const app = Fastify({ logger: false });
await app.register(litepool, { path: join(dir, 'bank.db'), readers: 4 });
const db = new Kysely({ dialect: new LitepoolDialect({ pool: app.litepool }) });
app.addHook('onClose', () => db.destroy());

const { error } = await new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateToLatest();
if (error) throw error;

app.get('/accounts', async () => db.selectFrom('account').selectAll().orderBy('id').execute());

app.get('/accounts/:id', async (request, reply) => {
  const account = await db.selectFrom('account').selectAll().where('id', '=', Number(request.params.id)).executeTakeFirst();
  return account ?? reply.code(404).send({ error: 'no such account' });
});

app.post('/transfers', async (request, reply) => {
  const { from, to, amount } = request.body;
  try {
    return await db.transaction().execute(async (trx) => {
      const source = await trx.selectFrom('account').select('balance').where('id', '=', from).executeTakeFirstOrThrow();
      if (source.balance < amount) return reply.code(409).send({ error: 'insufficient funds' });
      await trx.updateTable('account').set({ balance: source.balance - amount }).where('id', '=', from).execute();
      await trx.updateTable('account').set((eb) => ({ balance: eb('balance', '+', amount) })).where('id', '=', to).execute();
      return trx.insertInto('transfer').values({ from_id: from, to_id: to, amount }).returning(['id', 'amount']).executeTakeFirstOrThrow();
    });
  } catch (failure) {
    request.log.error(failure);
    return reply.code(500).send({ error: failure.message });
  }
});

app.get('/stats', async () => app.litepool.stats());

const address = await app.listen({ host: '127.0.0.1', port: serve ? 3000 : 0 });
console.log(`listening on ${address}`);

if (!serve) {
  try {
    const started = performance.now();
    const requests = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0
        ? fetch(`${address}/transfers`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ from: 1 + (i % 4), to: 1 + ((i + 1) % 4), amount: 7 }),
          })
        : fetch(`${address}/accounts/${1 + (i % 4)}`),
    );
    const statuses = (await Promise.all(requests)).map((r) => r.status);
    const ms = performance.now() - started;
    const accounts = await (await fetch(`${address}/accounts`)).json();
    const total = accounts.reduce((sum, a) => sum + a.balance, 0);
    const { count } = await db.selectFrom('transfer').select((eb) => eb.fn.countAll().as('count')).executeTakeFirstOrThrow();
    console.log(`200 concurrent requests (100 transfers, 100 reads) in ${ms.toFixed(0)} ms; statuses: ${JSON.stringify(countBy(statuses))}`);
    console.log(`transfers recorded: ${count}; balances: ${accounts.map((a) => a.balance).join(', ')}; total ${total} (always 4000)`);
    if (total !== 4000 || count !== 100) throw new Error('the books do not balance');
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function countBy(values) {
  const counts = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
