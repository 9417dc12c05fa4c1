// Covers calls on a transaction's `tx` that are still running when its callback resolves (the
// callback did not await them): they are waited for before the COMMIT (or, in a nested
// transaction, the RELEASE of its savepoint), and so are the calls their continuations make
// meanwhile; when one of them fails, the transaction rolls back (a nested one to its savepoint)
// and rejects with that call's error, the first to fail, and that call's own rejection is not an
// unhandled rejection. A call the callback never took (await, then, catch) fails the transaction
// whenever it failed, whatever the order of completions; one the callback took and that failed
// before the callback resolved stays its business (awaited and caught, the rest commits). The transaction's timeout and signal bound the
// wait; observers see the rollback. Rows, error codes and messages, observer phases; the only
// timings are a short transaction timeout against a query that never ends by itself.
import { beforeEach, describe, expect, it } from 'vitest';
import { ScopeEndedError, SqliteError, TransactionTimeoutError, type Pool, type Transaction, type TransactionEvent } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { ENDLESS, FAILING, expectNoUnhandledRejections, insert } from './helpers/tx-calls.ts';
import { rejection } from './helpers/waits.ts';

const pools = tempPools('tx-pending-calls');

expectNoUnhandledRejections();

let db: Pool;
let events: TransactionEvent[];

beforeEach(async () => {
  events = [];
  db = await pools.fresh({ readers: 2, observers: [{ onTransaction: (event) => void events.push(event) }] });
});

async function values(): Promise<string[]> {
  return (await db.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((row) => row.v);
}

const phases = () => events.map((event) => event.phase);

function isNotNull(error: unknown): boolean {
  return error instanceof SqliteError && error.code === 'SQLITE_CONSTRAINT_NOTNULL' && /NOT NULL constraint failed: t\.v/.test(error.message);
}

describe('a call still running when the callback resolves', () => {
  it('that fails rolls the whole transaction back and rejects it with that error; no unhandled rejection', async () => {
    let call: Promise<unknown> | undefined;
    const error = await rejection(
      db.transaction(async (tx) => {
        void tx.run(insert('a'));
        call = tx.run(FAILING);
        void tx.run(insert('b'));
      }),
    );
    expect(isNotNull(error)).toBe(true);
    // The very error the call rejects with.
    expect(await rejection(call!)).toBe(error);
    expect(await values()).toEqual([]);
    expect(phases()).toEqual(['begin', 'rollback']);
    expect(events[1]!.error).toBe(error);
    // The writer is free and clean.
    await db.run(insert('after'));
    expect(await values()).toEqual(['after']);
  });

  it('the first of several to fail is the one the transaction rejects with', async () => {
    const error = await rejection(
      db.transaction(async (tx) => {
        void tx.run(insert('a'));
        void tx.exec('INSERT INTO missing_one VALUES (1)');
        void tx.all('SELECT * FROM missing_two');
      }),
    );
    expect(error).toBeInstanceOf(SqliteError);
    expect((error as SqliteError).code).toBe('SQLITE_ERROR');
    expect((error as SqliteError).message).toMatch(/no such table: missing_one/);
    expect(await values()).toEqual([]);
  });

  it('fails it even with a .catch() attached: the callback returned before the outcome was known', async () => {
    let caught: unknown;
    const error = await rejection(
      db.transaction(async (tx) => {
        await tx.run(insert('a'));
        tx.run(FAILING).catch((reason: unknown) => void (caught = reason));
      }),
    );
    expect(isNotNull(error)).toBe(true);
    expect(caught).toBe(error);
    expect(await values()).toEqual([]);
  });

  it('that succeed are waited for and committed with it; later calls on tx are refused', async () => {
    let saved: Promise<unknown>[] = [];
    const result = await db.transaction((tx) => {
      saved = [tx.run(insert('a')), tx.batch([{ sql: insert('b') }, { sql: insert('c') }]), tx.get('SELECT count(*) AS n FROM t')];
      return 'done';
    });
    expect(result).toBe('done');
    expect(await values()).toEqual(['a', 'b', 'c']);
    expect(await saved[2]).toEqual({ n: 3 });
    expect(phases()).toEqual(['begin', 'commit']);
  });

  it("counts the calls its continuations make meanwhile: a chain commits whole, or not at all when a link fails", async () => {
    let chain: Promise<unknown> | undefined;
    await db.transaction((tx) => {
      chain = tx
        .run(insert('a'))
        .then(() => tx.run(insert('b')))
        .then(() => tx.run(insert('c')));
    });
    await chain;
    expect(await values()).toEqual(['a', 'b', 'c']);

    let failing: Promise<unknown> | undefined;
    const error = await rejection(
      db.transaction((tx) => {
        failing = tx
          .run(insert('d'))
          .then(() => tx.run(insert('e')))
          .then(() => tx.run(FAILING));
        failing.catch(() => undefined);
      }),
    );
    expect(isNotNull(error)).toBe(true);
    expect(await rejection(failing!)).toBe(error);
    expect(await values()).toEqual(['a', 'b', 'c']);
    expect(phases()).toEqual(['begin', 'commit', 'begin', 'rollback']);
  });
});

describe('a call that settled before the callback resolved', () => {
  it('awaited and caught: the rest commits', async () => {
    await db.transaction(async (tx) => {
      await tx.run(insert('a'));
      await tx.run(FAILING).catch(() => undefined);
      await tx.run(insert('b'));
    });
    expect(await values()).toEqual(['a', 'b']);
    expect(phases()).toEqual(['begin', 'commit']);
  });

  it('never taken, failing while the callback still awaits another call: rolled back, every time', async () => {
    // The awaited call and the failing one complete in one batch or in two: either way the same.
    for (let round = 0; round < 30; round++) {
      const outcome = await rejection(
        db.transaction(async (tx) => {
          const first = tx.run(insert('a'));
          void tx.run(FAILING);
          await first;
        }),
      );
      expect(isNotNull(outcome)).toBe(true);
    }
    expect(await values()).toEqual([]);
  });

  it('never taken and refused at the call (a parameter of no SQL type): rolled back with that error', async () => {
    const outcome = await rejection(
      db.transaction(async (tx) => {
        void tx.run('INSERT INTO t (v) VALUES (?)', [Symbol('no SQL type')] as never);
        await tx.run(insert('a'));
      }),
    );
    expect((outcome as { code?: string }).code).toBe('LITEPOOL_INVALID_ARGUMENT');
    expect(await values()).toEqual([]);
    expect(phases()).toEqual(['begin', 'rollback']);
  });

  it('not awaited, caught, and failed before a later awaited call: the rest commits', async () => {
    let caught: unknown;
    await db.transaction(async (tx) => {
      tx.run(FAILING).catch((reason: unknown) => void (caught = reason));
      // The writer runs in order: by the time this resolves, the failing call has failed.
      await tx.run(insert('a'));
    });
    expect(isNotNull(caught)).toBe(true);
    expect(await values()).toEqual(['a']);
  });
});

describe('nested transactions', () => {
  it('a call still running when a nested callback resolves fails the nested transaction only: its savepoint is rolled back', async () => {
    let nested: unknown;
    await db.transaction(async (tx) => {
      await tx.run(insert('outer-1'));
      nested = await rejection(
        tx.transaction((inner) => {
          void inner.run(insert('inner'));
          void inner.run(FAILING);
        }),
      );
      await tx.run(insert('outer-2'));
    });
    expect(isNotNull(nested)).toBe(true);
    expect(await values()).toEqual(['outer-1', 'outer-2']);
    expect(phases()).toEqual(['begin', 'commit']);
  });

  it('a nested call that succeeds is released into its parent', async () => {
    await db.transaction(async (tx) => {
      await tx.transaction((inner) => {
        void inner.run(insert('inner-1')).then(() => inner.run(insert('inner-2')));
      });
      await tx.run(insert('outer'));
    });
    expect(await values()).toEqual(['inner-1', 'inner-2', 'outer']);
  });

  it('a nested transaction still running when its parent resolves is waited for: committed when it succeeds', async () => {
    let nested: Promise<unknown> | undefined;
    await db.transaction(async (tx) => {
      await tx.run(insert('outer'));
      nested = tx.transaction(async (inner) => {
        await inner.run(insert('inner-1'));
        await new Promise((resolve) => setTimeout(resolve, 20));
        await inner.run(insert('inner-2'));
        return 'inner done';
      });
    });
    expect(await nested).toBe('inner done');
    expect(await values()).toEqual(['outer', 'inner-1', 'inner-2']);
  });

  it('... and rolls the parent back, rejecting it with its error, when it fails', async () => {
    const failure = new Error('nested fails');
    let nested: Promise<unknown> | undefined;
    const error = await rejection(
      db.transaction(async (tx) => {
        await tx.run(insert('outer'));
        nested = tx.transaction(async (inner) => {
          await inner.run(insert('inner'));
          await new Promise((resolve) => setTimeout(resolve, 20));
          throw failure;
        });
      }),
    );
    expect(error).toBe(failure);
    expect(await rejection(nested!)).toBe(failure);
    expect(await values()).toEqual([]);
    expect(phases()).toEqual(['begin', 'rollback']);
    expect(events[1]!.error).toBe(failure);
  });

  it('one level down: a call still running in a nested transaction its parent did not await fails the whole transaction', async () => {
    const error = await rejection(
      db.transaction(async (tx) => {
        await tx.run(insert('outer'));
        void tx.transaction(async (inner) => {
          await inner.run(insert('inner'));
          void inner.run(FAILING);
        });
      }),
    );
    expect(isNotNull(error)).toBe(true);
    expect(await values()).toEqual([]);
  });
});

describe('the timeout and the signal bound the wait', () => {
  it('a slow call still running past the timeout: rolled back, TransactionTimeoutError, the writer free', async () => {
    let slow: Promise<unknown> | undefined;
    const error = await rejection(
      db.transaction(
        (tx) => {
          void tx.run(insert('a'));
          slow = tx.get(ENDLESS);
        },
        { timeout: 150 },
      ),
    );
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    expect((error as TransactionTimeoutError).code).toBe('LITEPOOL_TRANSACTION_TIMEOUT');
    // The slow call was interrupted; its rejection was taken care of.
    await rejection(slow!);
    expect(db.stats().writer.held).toBe(false);
    expect(db.stats().writer.busy).toBe(false);
    expect(await values()).toEqual([]);
    expect(phases()).toEqual(['begin', 'rollback']);
    expect(events[1]!.error).toBe(error);
    await db.run(insert('after'));
    expect(await values()).toEqual(['after']);
  });

  it('an abort while waiting: rolled back, rejects with the abort reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stop waiting');
    const transaction = db.transaction(
      (tx) => {
        void tx.run(insert('a'));
        void tx.get(ENDLESS);
      },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(reason), 50);
    expect(await rejection(transaction)).toBe(reason);
    expect(await values()).toEqual([]);
    expect(phases()).toEqual(['begin', 'rollback']);
  });

  it('a call made after the transaction ended is refused as before', async () => {
    let saved: Transaction | undefined;
    await db.transaction((tx) => {
      saved = tx;
      void tx.run(insert('a'));
    });
    const late = saved!.run(insert('late'));
    expect(await rejection(late)).toBeInstanceOf(ScopeEndedError);
    expect(await values()).toEqual(['a']);
  });
});
