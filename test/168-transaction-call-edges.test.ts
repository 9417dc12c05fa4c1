// Covers the tracking of calls on a transaction's `tx` (lib/api/running-calls.ts,
// docs/transactions.md) in the cases around its edges: promise combinators, calls taken late or
// never, a callback that throws with calls running, calls on handles that have ended, nested
// transactions whose parent is aborted while they wait for their calls, iterations left in every
// state (each pull is a call), nested transactions refused at the call, and insertMany. Every case
// checks the table afterwards (committed or rolled back as documented) and that no rejection went
// unhandled.
import { beforeEach, describe, expect, it } from 'vitest';
import { ScopeEndedError, SqliteError, TransactionTimeoutError, type Pool, type Transaction } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { ENDLESS, FAILING, expectNoUnhandledRejections, insert } from './helpers/tx-calls.ts';
import { rejection, sleep } from './helpers/waits.ts';

const pools = tempPools('tx-call-edges');

expectNoUnhandledRejections();

let db: Pool;

beforeEach(async () => {
  db = await pools.fresh({ readers: 2 });
});

async function values(): Promise<string[]> {
  return (await db.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((row) => row.v);
}

const isNotNull = (error: unknown): boolean => error instanceof SqliteError && error.code === 'SQLITE_CONSTRAINT_NOTNULL';
const isScopeEnded = (error: unknown): boolean => error instanceof ScopeEndedError && error.code === 'LITEPOOL_SCOPE_ENDED';

describe('calls refused at the call, never taken', () => {
  it("a tx.exec('COMMIT') refused with LITEPOOL_MISUSE rolls the transaction back", async () => {
    const error = await rejection(
      db.transaction(async (tx) => {
        void tx.exec('COMMIT');
        await tx.run(insert('a'));
      }),
    );
    expect((error as { code?: string }).code).toBe('LITEPOOL_MISUSE');
    expect(await values()).toEqual([]);
  });
});

describe('promise combinators', () => {
  it('Promise.allSettled awaited: the callback took the failure, the rest commits', async () => {
    const statuses = await db.transaction(async (tx) => {
      const settled = await Promise.allSettled([tx.run(insert('a')), tx.run(FAILING), tx.run(insert('b'))]);
      return settled.map((entry) => entry.status);
    });
    expect(statuses).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await values()).toEqual(['a', 'b']);
  });

  it('Promise.allSettled not awaited: the failure comes after the callback resolved, so it rolls back', async () => {
    const error = await rejection(
      db.transaction((tx) => {
        void Promise.allSettled([tx.run(insert('a')), tx.run(FAILING)]);
      }),
    );
    expect(isNotNull(error)).toBe(true);
    expect(await values()).toEqual([]);
  });

  it('Promise.all awaited and caught: the calls still running are waited for and commit', async () => {
    await db.transaction(async (tx) => {
      await Promise.all([tx.run(insert('a')), tx.run(FAILING), tx.run(insert('b'))]).catch(() => undefined);
    });
    expect(await values()).toEqual(['a', 'b']);
  });
});

describe('calls taken late', () => {
  it('failed unseen, then taken (after a timer) before the callback resolved: its business, the rest commits', async () => {
    await db.transaction(async (tx) => {
      const call = tx.run(FAILING);
      await tx.run(insert('a'));
      await sleep(20);
      expect(isNotNull(await rejection(call))).toBe(true);
    });
    expect(await values()).toEqual(['a']);
  });

  it('failed unseen, taken only after the callback resolved: rolled back; the late handler gets the same error', async () => {
    let call: Promise<unknown> | undefined;
    const error = await rejection(
      db.transaction(async (tx) => {
        call = tx.run(FAILING);
        await tx.run(insert('a'));
      }),
    );
    await sleep(10);
    expect(await rejection(call!)).toBe(error);
    expect(isNotNull(error)).toBe(true);
    expect(await values()).toEqual([]);
  });

  it('a batch failing unseen rolls back the rows of the calls awaited around it', async () => {
    const error = await rejection(
      db.transaction(async (tx) => {
        void tx.batch([{ sql: insert('a') }, { sql: FAILING }]);
        await tx.run(insert('b'));
      }),
    );
    expect(isNotNull(error)).toBe(true);
    expect(await values()).toEqual([]);
  });
});

describe('a callback that throws synchronously with calls running', () => {
  it('rejects with its error, cancels the running call, commits nothing; the writer is free', async () => {
    const boom = new Error('boom');
    let slow: Promise<unknown> | undefined;
    const error = await rejection(
      db.transaction((tx) => {
        void tx.run(insert('a'));
        slow = tx.get(ENDLESS);
        throw boom;
      }),
    );
    expect(error).toBe(boom);
    await rejection(slow!);
    expect(db.stats().writer.held).toBe(false);
    expect(await values()).toEqual([]);
    await db.run(insert('after'));
    expect(await values()).toEqual(['after']);
  });
});

describe('handles that have ended', () => {
  it("a nested transaction's handle used after it was released is refused, inside its parent", async () => {
    let late: Promise<unknown> | undefined;
    await db.transaction(async (tx) => {
      let inner: Transaction | undefined;
      await tx.transaction((nested) => void (inner = nested));
      late = inner!.run(insert('late'));
      expect(isScopeEnded(await rejection(late))).toBe(true);
      await tx.run(insert('a'));
    });
    expect(await values()).toEqual(['a']);
  });

  it('a call the callback makes after the timeout ended the transaction is refused, and nothing lands', async () => {
    let late: Promise<unknown> | undefined;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const error = await rejection(
      db.transaction(
        async (tx) => {
          await sleep(120);
          late = tx.run(insert('late'));
          late.catch(() => undefined);
          done();
        },
        { timeout: 40 },
      ),
    );
    expect(error).toBeInstanceOf(TransactionTimeoutError);
    await finished;
    expect(isScopeEnded(await rejection(late!))).toBe(true);
    expect(await values()).toEqual([]);
  });
});

describe('timeout and signal with calls running', () => {
  it('the transaction rejects after the callback heard of its cancelled call', async () => {
    const order: string[] = [];
    const transaction = db.transaction(
      (tx) => {
        tx.get(ENDLESS).catch(() => void order.push('call'));
      },
      { timeout: 80 },
    );
    transaction.catch(() => void order.push('transaction'));
    expect(await rejection(transaction)).toBeInstanceOf(TransactionTimeoutError);
    await sleep(5);
    expect(order).toEqual(['call', 'transaction']);
  });

  it('aborted while a nested transaction waits for its calls: nothing commits, both reject, none unhandled', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    let nested: Promise<unknown> | undefined;
    const transaction = db.transaction(
      async (tx) => {
        await tx.run(insert('outer'));
        nested = tx.transaction((inner) => {
          void inner.run(insert('inner'));
          void inner.get(ENDLESS);
        });
        nested.catch(() => undefined);
      },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(reason), 60);
    expect(await rejection(transaction)).toBe(reason);
    // It ended with its parent: ScopeEndedError, as a nested transaction still running gets.
    expect(isScopeEnded(await rejection(nested!))).toBe(true);
    expect(db.stats().writer.held).toBe(false);
    expect(await values()).toEqual([]);
  });

  it('a call on the parent handle, made untaken inside a nested transaction, fails the parent', async () => {
    let nested: Promise<unknown> | undefined;
    const error = await rejection(
      db.transaction(async (tx) => {
        nested = tx.transaction(async (inner) => {
          void tx.run(FAILING);
          await inner.run(insert('inner'));
        });
        await nested;
        await tx.run(insert('outer'));
      }),
    );
    await nested;
    expect(isNotNull(error)).toBe(true);
    expect(await values()).toEqual([]);
  });
});

describe('iterate() on tx', () => {
  const ROWS = 600;
  beforeEach(async () => {
    await db.exec(`WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < ${ROWS}) INSERT INTO t (v) SELECT 'r' || i FROM r`);
  });
  const written = async () => (await values()).filter((v) => !v.startsWith('r'));

  it('broken out of: the transaction commits and the writer is clean', async () => {
    const seen = await db.transaction(async (tx) => {
      let n = 0;
      for await (const _ of tx.iterate('SELECT * FROM t')) if (++n === 300) break;
      await tx.run(insert('a'));
      return n;
    });
    expect(seen).toBe(300);
    expect(await written()).toEqual(['a']);
  });

  it('partially consumed when the callback resolves: commits; next() then rejects ScopeEndedError, return() resolves', async () => {
    let iterator: AsyncGenerator<unknown, void, undefined> | undefined;
    await db.transaction(async (tx) => {
      iterator = tx.iterate('SELECT * FROM t', undefined, { chunkSize: 10 });
      await iterator.next();
      void tx.run(insert('a'));
    });
    expect(isScopeEnded(await rejection(iterator!.next()))).toBe(true);
    expect(await iterator!.return(undefined)).toEqual({ value: undefined, done: true });
    expect(await written()).toEqual(['a']);
    await db.run(insert('after'));
    expect(await written()).toEqual(['a', 'after']);
  });

  it('never consumed: nothing runs, the transaction commits', async () => {
    await db.transaction(async (tx) => {
      tx.iterate('SELECT * FROM t');
      await tx.run(insert('a'));
    });
    expect(await written()).toEqual(['a']);
  });
});

describe('insertMany', () => {
  it('a row failing in a late block rolls back every block, none unhandled', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ v: i === 15_000 ? null : `r${i}` }));
    expect(isNotNull(await rejection(db.insertMany('t', rows)))).toBe(true);
    expect(await values()).toEqual([]);
  });

  it('aborted while blocks are in flight: rolled back with the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const rows = Array.from({ length: 200_000 }, (_, i) => ({ v: `r${i}` }));
    const inserting = db.insertMany('t', rows, { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 5);
    expect(await rejection(inserting)).toBe(reason);
    expect(await values()).toEqual([]);
  });
});

describe('nested transactions and iterations are calls like the others', () => {
  it('a tx.transaction() refused at the call (not a function, options given), never taken, rolls the transaction back', async () => {
    for (const call of [(tx: Transaction) => tx.transaction('nope' as never), (tx: Transaction) => (tx.transaction as (...args: unknown[]) => Promise<unknown>)(async () => undefined, { timeout: 5 })]) {
      const error = await rejection(
        db.transaction(async (tx) => {
          void call(tx);
          await tx.run(insert('a'));
        }),
      );
      expect((error as { code?: string }).code).toBe('LITEPOOL_INVALID_ARGUMENT');
      expect(await values()).toEqual([]);
    }
  });

  it("an iteration's next() still on its way when the callback resolves is waited for: it gets its row, which commits", async () => {
    let first: Promise<IteratorResult<unknown>> | undefined;
    await db.transaction((tx) => {
      first = tx.iterate("INSERT INTO t (v) VALUES ('via-iterate') RETURNING v").next();
    });
    expect(await first).toEqual({ value: { v: 'via-iterate' }, done: false });
    expect(await values()).toEqual(['via-iterate']);
  });

  it("an iteration's next() never taken that fails (a missing table, a second iteration) rolls the transaction back", async () => {
    const missing = await rejection(
      db.transaction(async (tx) => {
        void tx.iterate('SELECT * FROM missing').next();
        await tx.run(insert('a'));
      }),
    );
    expect((missing as { code?: string }).code).toBe('SQLITE_ERROR');
    const second = await rejection(
      db.transaction(async (tx) => {
        // Open after its first row: chunks of one row, three rows.
        const rows = tx.iterate('SELECT column1 FROM (VALUES (1), (2), (3))', [], { chunkSize: 1 });
        await rows.next();
        void tx.iterate('SELECT 1').next();
        await tx.run(insert('b'));
        await rows.return(undefined);
      }),
    );
    expect((second as { code?: string }).code).toBe('LITEPOOL_MISUSE');
    expect(await values()).toEqual([]);
  });
});

describe('nested transactions ended with their parent settle then', () => {
  /** Settles within `ms`, or says it is still pending. */
  const within = (promise: Promise<unknown>, ms: number): Promise<unknown> =>
    Promise.race([promise.then(() => 'resolved', (error: unknown) => error), sleep(ms).then(() => 'pending')]);

  it('a nested transaction whose callback never settles rejects with ScopeEndedError when its parent times out', async () => {
    let nested: Promise<unknown> | undefined;
    const parent = db.transaction(
      async (tx) => {
        await tx.run(insert('outer'));
        nested = tx.transaction(() => new Promise<never>(() => undefined));
        nested.catch(() => undefined);
      },
      { timeout: 100 },
    );
    expect(await rejection(parent)).toBeInstanceOf(TransactionTimeoutError);
    expect(isScopeEnded(await within(nested!, 1000))).toBe(true);
    expect(await values()).toEqual([]);
  });

  it('one whose callback returned but whose own nested transaction hangs rejects too, both levels', async () => {
    let first: Promise<unknown> | undefined;
    let second: Promise<unknown> | undefined;
    const parent = db.transaction(
      (tx) => {
        first = tx.transaction((inner) => {
          second = inner.transaction(() => new Promise<never>(() => undefined));
          second.catch(() => undefined);
        });
        first.catch(() => undefined);
      },
      { timeout: 100 },
    );
    expect(await rejection(parent)).toBeInstanceOf(TransactionTimeoutError);
    expect(isScopeEnded(await within(first!, 1000))).toBe(true);
    expect(isScopeEnded(await within(second!, 1000))).toBe(true);
    expect(db.stats().writer.held).toBe(false);
    await db.run(insert('after'));
    expect(await values()).toEqual(['after']);
  });
});

