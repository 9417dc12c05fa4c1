// Covers the request path of lib/request/dispatcher.ts against a fake addon that encodes real
// completion batches (the layout of lib/request/batch-reader.ts): rows decoded, a backlog when
// every native slot is taken (submitted in order as slots free up), writes held at the writer
// gate and let through in order, cancellation of a queued write, a read rerouted to the writer,
// failures decoded into their errors, and the process kept alive only while work is in flight.

import { describe, expect, it } from 'vitest';
import { LitepoolError, SqliteError } from '../lib/errors.ts';
import { Op, Status, Target } from '../lib/native/contract.ts';
import { READERS, WRITER, sessionRoute } from '../lib/request/route.ts';
import type { CompletionRecord } from './helpers/fake-native.ts';
import { fakeDispatcher } from './helpers/fake-dispatcher.ts';

const setup = (slots = 8) => fakeDispatcher(slots);

const query = (sql: string, op: typeof Op.Get | typeof Op.All = Op.Get) =>
  ({ op, route: READERS, sql, values: undefined, names: undefined, rowMode: 'object' }) as const;
const write = (sql: string, signal?: AbortSignal) =>
  ({ op: Op.Run, route: WRITER, sql, values: undefined, names: undefined, groupable: true, signal }) as const;

describe('Dispatcher', () => {
  it('a get resolves with the row built from the column names; all with every row', async () => {
    const { native, dispatcher } = setup();
    const one = dispatcher.run(query('SELECT id, v FROM t'));
    const many = dispatcher.run(query('SELECT id, v FROM t', Op.All));
    const [first, second] = native.submitted;
    native.deliver([
      [first!.slot, Status.Rows, ['id', 'v'], 2, undefined, [1, 'a']],
      [second!.slot, Status.Rows, undefined, 2, undefined, [1, 'a', 2, 'b']],
    ]);
    expect(await one).toEqual({ id: 1, v: 'a' });
    // The second completion sent no names: the statement's names from the first are reused.
    expect(await many).toEqual([
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
    ]);
    expect(dispatcher.counters).toMatchObject({ started: 2, completed: 2 });
  });

  it('with every slot taken, requests wait in order and go out as slots free up', async () => {
    const { native, dispatcher } = setup(2);
    const results = [0, 1, 2, 3, 4].map((i) => dispatcher.run(query(`SELECT ${i}`)));
    expect(native.submitted.map((s) => s.sql)).toEqual(['SELECT 0', 'SELECT 1']);
    expect(dispatcher.queued).toBe(3);
    expect(dispatcher.inFlight).toBe(2);
    native.deliver([[native.submitted[0]!.slot, Status.Rows, ['n'], 1, undefined, []]]);
    expect(native.submitted.map((s) => s.sql)).toEqual(['SELECT 0', 'SELECT 1', 'SELECT 2']);
    while (dispatcher.inFlight > 0) {
      const open = native.submitted.slice(-dispatcher.inFlight);
      native.deliver(open.map((s) => [s.slot, Status.Rows, ['n'], 1, undefined, []] as CompletionRecord));
    }
    expect(native.submitted.map((s) => s.sql)).toEqual([0, 1, 2, 3, 4].map((i) => `SELECT ${i}`));
    expect(await Promise.all(results)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(dispatcher.queued).toBe(0);
  });

  it('writes wait at the writer gate while a session holds it, then go out in order', async () => {
    const { native, gate, dispatcher } = setup();
    const session = await gate.acquire(undefined, undefined);
    const writes = ['INSERT 1', 'INSERT 2'].map((sql) => dispatcher.run(write(sql)));
    // A request of the session passes the gate.
    const inSession = dispatcher.run({ op: Op.Exec, route: sessionRoute(session), sql: 'BEGIN' });
    expect(native.submitted.map((s) => s.sql)).toEqual(['BEGIN']);
    expect(dispatcher.queued).toBe(2);
    native.deliver([[native.submitted[0]!.slot, Status.Done, 0, 0, undefined]]);
    expect(await inSession).toBeUndefined();
    gate.release(session);
    expect(native.submitted.map((s) => s.sql)).toEqual(['BEGIN', 'INSERT 1', 'INSERT 2']);
    expect(native.submitted.slice(1).every((s) => s.target === Target.Writer)).toBe(true);
    native.deliver(native.submitted.slice(1).map((s, i) => [s.slot, Status.Done, 1, i + 1, 7] as CompletionRecord));
    expect(await Promise.all(writes)).toEqual([
      { changes: 1, lastInsertRowid: 1 },
      { changes: 1, lastInsertRowid: 2 },
    ]);
  });

  it('a write cancelled at the gate rejects with the reason and never reaches the addon', async () => {
    const { native, gate, dispatcher } = setup();
    const session = await gate.acquire(undefined, undefined);
    const controller = new AbortController();
    const cancelled = dispatcher.run(write('INSERT cancelled', controller.signal));
    const kept = dispatcher.run(write('INSERT kept'));
    const reason = new Error('changed my mind');
    controller.abort(reason);
    await expect(cancelled).rejects.toBe(reason);
    expect(dispatcher.counters.cancelled).toBe(1);
    gate.release(session);
    expect(native.submitted.map((s) => s.sql)).toEqual(['INSERT kept']);
    native.deliver([[native.submitted[0]!.slot, Status.Done, 1, 1, undefined]]);
    await kept;
    expect(native.cancelled).toEqual([]);
  });

  it('a read that writes is sent on to the writer, and that SQL goes there directly afterwards', async () => {
    const { native, dispatcher } = setup();
    const sql = 'INSERT INTO t VALUES (1) RETURNING id';
    const first = dispatcher.run(query(sql));
    native.deliver([[native.submitted[0]!.slot, Status.NeedsWriter, undefined, undefined, undefined]]);
    expect(native.submitted.map((s) => s.target)).toEqual([Target.Readers, Target.Writer]);
    native.deliver([[native.submitted[1]!.slot, Status.Rows, ['id'], 1, undefined, [1]]]);
    expect(await first).toEqual({ id: 1 });
    const second = dispatcher.run(query(sql));
    expect(native.submitted[2]!.target).toBe(Target.Writer);
    native.deliver([[native.submitted[2]!.slot, Status.Rows, undefined, 1, undefined, [2]]]);
    expect(await second).toEqual({ id: 2 });
  });

  it('failures decode into their errors; a SQLite failure names its worker', async () => {
    const { native, dispatcher } = setup();
    const failures: [number, number][] = [];
    dispatcher.onFailure = (worker, errno) => failures.push([worker, errno]);
    const sqlite = dispatcher.run(query('SELECT broken'));
    const bind = dispatcher.run(query('SELECT ?'));
    const unknown = dispatcher.run(query('SELECT 1'));
    const [a, b, c] = native.submitted;
    native.deliver([
      [a!.slot, Status.SqliteFailed, 2067, 'UNIQUE constraint failed', -1],
      [b!.slot, Status.BindFailed, undefined, 'missing parameter 1', undefined],
      [c!.slot, 99, undefined, undefined, undefined],
    ]);
    const sqliteError = await sqlite.catch((error: unknown) => error);
    expect(sqliteError).toBeInstanceOf(SqliteError);
    expect(sqliteError).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE', sql: 'SELECT broken' });
    expect(failures).toEqual([[-1, 2067]]);
    const bindError = await bind.catch((error: unknown) => error);
    expect(bindError).toBeInstanceOf(RangeError);
    expect(bindError).toBeInstanceOf(LitepoolError);
    expect(bindError).toMatchObject({ code: 'LITEPOOL_BIND', sql: 'SELECT ?', message: 'missing parameter 1' });
    await expect(unknown).rejects.toMatchObject({ code: 'LITEPOOL_INTERNAL' });
    expect(dispatcher.counters).toMatchObject({ started: 3, failed: 3 });
  });

  it('keeps the addon referenced only while requests are in flight, and idle() waits for them', async () => {
    const { native, dispatcher } = setup();
    const start = native.referenced;
    const pending = dispatcher.run(query('SELECT 1'));
    let idle = false;
    const idled = dispatcher.idle().then(() => (idle = true));
    await Promise.resolve();
    expect(idle).toBe(false);
    native.deliver([[native.submitted[0]!.slot, Status.Rows, ['n'], 1, undefined, [1]]]);
    await pending;
    await idled;
    expect(idle).toBe(true);
    // Referenced from the start (a new pool is), let go once nothing is in flight.
    expect(native.referenced).toBe(start - 1);
  });

  it('a timeout cancels an in-flight write natively; the completion settles it with the timeout', async () => {
    const { native, dispatcher } = setup();
    const slow = dispatcher.run({ ...write('UPDATE slow SET x = 1'), timeout: 5 });
    let settled = false;
    slow.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(native.cancelled).toEqual([native.submitted[0]!.slot]);
    // A write may have committed before the interrupt took effect: only its completion says.
    expect(settled).toBe(false);
    native.deliver([[native.submitted[0]!.slot, Status.Cancelled, undefined, undefined, undefined]]);
    await expect(slow).rejects.toMatchObject({ code: 'LITEPOOL_OPERATION_TIMEOUT' });
    expect(dispatcher.counters.cancelled).toBe(1);
  });

  it('a timeout settles an in-flight read at once (it may wait for a reader); its completion only frees the slot', async () => {
    const { native, dispatcher } = setup();
    const slow = dispatcher.run({ ...query('SELECT slow'), timeout: 5 });
    await expect(slow).rejects.toMatchObject({ code: 'LITEPOOL_OPERATION_TIMEOUT' });
    expect(native.cancelled).toEqual([native.submitted[0]!.slot]);
    expect(dispatcher.counters.cancelled).toBe(1);
    expect(dispatcher.inFlight).toBe(1);
    native.deliver([[native.submitted[0]!.slot, Status.Cancelled, undefined, undefined, undefined]]);
    expect(dispatcher.inFlight).toBe(0);
    expect(dispatcher.counters.cancelled).toBe(1);
  });
});
