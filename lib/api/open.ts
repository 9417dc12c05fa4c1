// Owns open(): validating the options, starting the native pool, wiring the parts of a pool
// (dispatcher, writer gate, reader pins, connection keeper) and opening every connection.
// Runs on the JS thread.

import { ConnectionKeeper } from '../connections/health.ts';
import { HealthProbe } from '../connections/health-probe.ts';
import { Holders } from '../connections/holders.ts';
import { ReaderPins } from '../connections/reader-pins.ts';
import { WriterGate } from '../connections/writer-gate.ts';
import { SqliteError } from '../errors.ts';
import { nativeConfig, resolveOptions, type ResolvedOptions } from '../input/options.ts';
import { buildsNewFile, migrateNewDatabase, newFileOptions } from '../migrations/new-database.ts';
import { binding } from '../native/binding.ts';
import { stopAtExit, stoppedAtClose } from '../native/exit-stop.ts';
import { ObserverHub } from '../observers/hub.ts';
import { QueryPlans } from '../observers/query-plans.ts';
import { Dispatcher } from '../request/dispatcher.ts';
import type { SchemaHost } from '../maintenance/schema.ts';
import { Toolkit } from '../maintenance/toolkit.ts';
import type { Job } from '../request/job.ts';
import type { PoolOptions } from '../options-types.ts';
import type { PoolContext } from './context.ts';
import { defaultOptions } from './operations.ts';
import { Pool } from './pool.ts';
import { openedParts } from './pool-itself.ts';
import { startReplica } from './replication.ts';

/**
 * Opens a pool on the database at `path` (created when missing unless `create: false`;
 * `':memory:'` for a private in-memory database on a single connection).
 *
 * @example
 * const db = await open('app.db', { readers: 4 });
 * await db.exec('CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT)');
 * await db.run('INSERT INTO users (name) VALUES (?)', ['Ada']);
 * const user = await db.get<{ id: number; name: string }>('SELECT * FROM users WHERE name = ?', ['Ada']);
 * await db.close();
 */
export async function open(path: string, options?: PoolOptions): Promise<Pool> {
  const resolved = resolveOptions(path, options);
  // The `migrations` option on a file that does not exist: built and migrated under a temporary
  // name, then linked into place (a first migration that fails leaves no file). Then the pool
  // opens on the file as on any existing one (its migrate finds nothing pending, or migrates the
  // file another process created meanwhile).
  if (buildsNewFile(resolved)) await migrateNewDatabase(resolved.file, resolved.migrations!, (file) => open(file, newFileOptions(options)));
  return start(resolved);
}

/** Opens the pool `resolved` describes and applies its `migrations` (see open()). */
async function start(resolved: ResolvedOptions): Promise<Pool> {
  const { NativePool } = binding();
  let dispatcher: Dispatcher | undefined;
  const native = new NativePool(nativeConfig(resolved), (buffer, capacity, objects, length, ...inline) =>
    dispatcher!.onBatch(buffer, capacity, objects ?? inline, length),
  );
  stopAtExit(native);
  const gate = new WriterGate<Job>(
    (job) => dispatcher!.writerTurn(job),
    (job, reason) => dispatcher!.fail(job, reason),
  );
  dispatcher = new Dispatcher(native, gate, resolved.safeIntegers, resolved.readers > 0);
  const pins = new ReaderPins(dispatcher, resolved.readers);
  const observers = new ObserverHub(resolved.path);
  observers.plans = new QueryPlans(dispatcher);
  const context: PoolContext = {
    requests: dispatcher,
    writer: gate,
    readers: pins,
    defaults: defaultOptions(resolved.queryTimeout),
    holders: new Holders(),
    transactionAges: () => native.stats().transactionMillis,
    observers,
  };
  const idleMillis = () => native.stats().idleMillis;
  const keeper = new ConnectionKeeper(context, idleMillis, resolved.readers, resolved.idleTimeout, resolved.onConnection, resolved.acquireTimeout);
  keeper.failShared = (reason) => dispatcher!.failShared(reason);
  const probe = resolved.healthCheck
    ? new HealthProbe(context, idleMillis, resolved.readers, resolved.healthCheck.intervalMs, (worker) => keeper.replace(worker))
    : undefined;
  const replica = startReplica(resolved);
  let pool: Pool | undefined;
  // db.schema runs its statements through the pool's own get/all and transactions.
  const schemaHost: SchemaHost = { all: (sql, params) => pool!.all(sql, params), transaction: (fn) => pool!.transaction(fn) };
  // On a LiteFS replica the toolkit refuses the maintenance that writes, as the replica refuses writes.
  const toolkit = new Toolkit(context, resolved, schemaHost, probe, () => dispatcher!.inFlight + dispatcher!.queued > 0, replica, () => native.stats());
  try {
    await dispatcher.track(native.startWriter());
    await Promise.all(native.startReaders().map((slot) => dispatcher!.track(slot)));
    await keeper.initialize();
    // From now on a fatal failure replaces its connection (a failed open simply fails open()).
    dispatcher.onFailure = (worker, errno) => keeper.reportFailure(worker, errno);
  } catch (error) {
    replica?.stop();
    await keeper.stop();
    native.abort();
    stoppedAtClose(native);
    if (error instanceof SqliteError) {
      throw new SqliteError(error.errno, `${error.message} (opening ${JSON.stringify(resolved.path)})`);
    }
    throw error;
  }
  pool = new Pool(openedParts({ native, dispatcher, gate, pins, keeper, toolkit, context, options: resolved, replica }));
  observers.setPool(pool);
  for (const checked of resolved.observers) observers.add(checked.observer, checked);
  observers.connections('open', resolved.readers);
  try {
    await toolkit.start();
    // The `migrations` option: applied before the pool is handed out.
    if (resolved.migrations) await pool.migrate(resolved.migrations);
  } catch (error) {
    await pool.close().catch(() => undefined);
    throw error;
  }
  return pool;
}
