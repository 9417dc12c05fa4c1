// Covers db.transaction(): commit when the callback resolves, rollback (with the error rethrown
// unchanged) when it throws or when COMMIT fails; the 'deferred', 'immediate' and 'exclusive'
// behaviors, with 'immediate' the default (the write lock is taken at BEGIN); nested transactions
// as SAVEPOINTs (a failing one undoes only its own rows; concurrent ones are serialized); tx.iterate;
// writes from outside (plain writes, transactions, write leases) wait in issue order behind the
// transaction and never become part of it; the transaction timeout (also interrupting a running
// statement), acquireTimeout and abort signals while waiting for the writer, use after the end,
// abort signals, return values, 100 concurrent read-modify-write transactions, and a stray BEGIN
// outside a transaction. One scenario runs in a child process (against the compiled dist/ that
// the global setup builds) so that a pool that stops making progress fails it instead of stalling
// the file.
import { pathToFileURL } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { AcquireTimeoutError, ScopeEndedError, SqliteError, TransactionTimeoutError, open, type Pool, type Transaction } from '../lib/index.ts';
import { runNode } from './helpers/child.ts';
import { distEntry } from './helpers/paths.ts';
import { TABLE_T, holdWriter, tempPools } from './helpers/pools.ts';
import { latch, sleep, track } from './helpers/waits.ts';

const pools = tempPools('tx');
let db: Pool;

/**
 * Runs `body` in a child process against a fresh database holding the table t; `report(value)`
 * sends the result back. The child is killed after `bound` ms (timedOut: true).
 */
async function runIsolated(body: string, bound = 10_000): Promise<{ timedOut: boolean; output: unknown }> {
  const database = pools.file();
  const script = `
    import { open } from ${JSON.stringify(pathToFileURL(distEntry).href)};
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const report = (value) => process.stdout.write(JSON.stringify(value) + '\\n');
    const db = await open(${JSON.stringify(database)}, { readers: 2 });
    await db.exec(${JSON.stringify(TABLE_T)});
    ${body}
    await db.close();
  `;
  const result = await runNode(['--input-type=module', '-e', script], { bound });
  if (result.timedOut) return { timedOut: true, output: result.stdout.trim() || undefined };
  if (result.code !== 0) throw new Error(`child exited with ${result.code}: ${result.stderr}`);
  return { timedOut: false, output: JSON.parse(result.stdout.trim()) };
}

beforeEach(async () => {
  db = await pools.fresh({ readers: 2 });
});

async function values(): Promise<string[]> {
  const rows = await db.all<{ v: string }>('SELECT v FROM t ORDER BY id');
  return rows.map((row) => row.v);
}

describe('commit and rollback', () => {
  it('commits when the callback resolves: the rows are visible afterwards', async () => {
    await db.transaction(async (tx) => {
      await tx.run('INSERT INTO t (v) VALUES (?)', ['a']);
      await tx.run('INSERT INTO t (v) VALUES (?)', ['b']);
    });
    expect(await values()).toEqual(['a', 'b']);
    // Readers (other connections) see the committed rows too.
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 2 });
  });

  it('rolls back when the callback throws, and rethrows the very same error', async () => {
    await db.run("INSERT INTO t (v) VALUES ('before')");
    const failure = new Error('boom');
    const result = db.transaction(async (tx) => {
      await tx.run('INSERT INTO t (v) VALUES (?)', ['x']);
      await tx.run('INSERT INTO t (v) VALUES (?)', ['y']);
      throw failure;
    });
    await expect(result).rejects.toBe(failure);
    expect(await values()).toEqual(['before']);
  });

  it('rolls back when a statement inside fails, rethrowing the SqliteError', async () => {
    const result = db.transaction(async (tx) => {
      await tx.run('INSERT INTO t (v) VALUES (?)', ['x']);
      await tx.run('INSERT INTO t (v) VALUES (NULL)');
    });
    await expect(result).rejects.toSatisfy((error: unknown) => error instanceof SqliteError && error.code === 'SQLITE_CONSTRAINT_NOTNULL');
    expect(await values()).toEqual([]);
  });

  it('a failing COMMIT (deferred foreign key) rejects, rolls back and leaves no transaction open', async () => {
    const pool = await pools.openAt(pools.file(), { readers: 1, pragmas: { foreign_keys: true } });
    try {
      await pool.exec(
        'CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)',
      );
      await expect(
        pool.transaction(async (tx) => {
          await tx.run('INSERT INTO child (pid) VALUES (5)');
          return 'callback finished';
        }),
      ).rejects.toSatisfy((error: unknown) => error instanceof SqliteError && error.code === 'SQLITE_CONSTRAINT_FOREIGNKEY');
      expect(pool.stats().writer.held).toBe(false);
      await pool.run('INSERT INTO parent (id) VALUES (1)');
      // Committed at once (no transaction left open): the reader sees it.
      expect(await pool.all('SELECT id FROM parent')).toEqual([{ id: 1 }]);
      expect(await pool.all('SELECT pid FROM child')).toEqual([]);
    } finally {
      await pool.close();
    }
  });

  it('a callback that throws while one of its statements is still running rolls that statement back too', async () => {
    const failure = new Error('thrown while a statement runs');
    let pending: Promise<unknown> | undefined;
    await expect(
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('first')");
        pending = tx.run(
          "INSERT INTO t (v) SELECT 'bulk' FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT x FROM c)",
        );
        pending.catch(() => undefined);
        throw failure;
      }),
    ).rejects.toBe(failure);
    await pending?.catch(() => undefined);
    expect(await values()).toEqual([]);
    await db.run("INSERT INTO t (v) VALUES ('after')");
    expect(await values()).toEqual(['after']);
  });

  it('tx.iterate streams from the transaction, including its uncommitted rows; stopping early is fine', async () => {
    await db.transaction(async (tx) => {
      await tx.run("INSERT INTO t (v) VALUES ('a'), ('b'), ('c'), ('d')");
      const all: string[] = [];
      for await (const row of tx.iterate<{ v: string }>('SELECT v FROM t ORDER BY id', [], { chunkSize: 3 })) all.push(row.v);
      expect(all).toEqual(['a', 'b', 'c', 'd']);
      const some: string[] = [];
      for await (const row of tx.iterate<{ v: string }>('SELECT v FROM t ORDER BY id', [], { chunkSize: 1 })) {
        some.push(row.v);
        if (some.length === 2) break;
      }
      expect(some).toEqual(['a', 'b']);
      await tx.run("INSERT INTO t (v) VALUES ('e')");
    });
    expect(await values()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('resolves with the value the callback returns', async () => {
    const value = await db.transaction(async (tx) => {
      const { lastInsertRowid } = await tx.run('INSERT INTO t (v) VALUES (?)', ['r']);
      return { id: lastInsertRowid, label: 'done' };
    });
    expect(value).toEqual({ id: 1, label: 'done' });
    const sync = await db.transaction(() => 42);
    expect(sync).toBe(42);
  });

  it('reads inside the transaction see its own uncommitted writes; readers outside do not', async () => {
    await db.transaction(async (tx) => {
      await tx.run('INSERT INTO t (v) VALUES (?)', ['own']);
      expect(await tx.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
      expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 0 });
    });
    expect(await db.get('SELECT count(*) AS n FROM t')).toEqual({ n: 1 });
  });
});

describe('behaviors', () => {
  for (const behavior of ['deferred', 'immediate', 'exclusive'] as const) {
    it(`behavior '${behavior}' commits and rolls back`, async () => {
      await db.transaction(
        async (tx) => {
          await tx.run('INSERT INTO t (v) VALUES (?)', [behavior]);
        },
        { behavior },
      );
      const failure = new Error(`no ${behavior}`);
      await expect(
        db.transaction(
          async (tx) => {
            await tx.run('INSERT INTO t (v) VALUES (?)', ['discarded']);
            throw failure;
          },
          { behavior },
        ),
      ).rejects.toBe(failure);
      expect(await values()).toEqual([behavior]);
    });
  }

  it("defaults to 'immediate': the write lock is held from BEGIN, before the first write", async () => {
    // A second pool is another connection to the same file: its write fails at once (busyTimeout
    // 0) while the first pool's default transaction is open, even though it has not written yet.
    const other = await open(db.path, { readers: 1, busyTimeout: 0 });
    try {
      await db.transaction(async () => {
        await expect(other.run("INSERT INTO t (v) VALUES ('other')")).rejects.toSatisfy(
          (error: unknown) => error instanceof SqliteError && error.primaryCode === 'SQLITE_BUSY',
        );
      });
      // With 'deferred' no lock is taken until the transaction writes.
      await db.transaction(
        async () => {
          await other.run("INSERT INTO t (v) VALUES ('other')");
        },
        { behavior: 'deferred' },
      );
      expect(await values()).toEqual(['other']);
    } finally {
      await other.close();
    }
  });
});

describe('nested transactions', () => {
  it('a nested transaction that throws rolls back only its own rows; the outer commits', async () => {
    const inner = new Error('inner');
    await db.transaction(async (tx) => {
      await tx.run('INSERT INTO t (v) VALUES (?)', ['outer-1']);
      await expect(
        tx.transaction(async (nested) => {
          await nested.run('INSERT INTO t (v) VALUES (?)', ['inner-1']);
          await nested.run('INSERT INTO t (v) VALUES (?)', ['inner-2']);
          throw inner;
        }),
      ).rejects.toBe(inner);
      const kept = await tx.transaction(async (nested) => {
        await nested.run('INSERT INTO t (v) VALUES (?)', ['inner-ok']);
        return 'kept';
      });
      expect(kept).toBe('kept');
      await tx.run('INSERT INTO t (v) VALUES (?)', ['outer-2']);
    });
    expect(await values()).toEqual(['outer-1', 'inner-ok', 'outer-2']);
  });

  it('two nested transactions started together (Promise.all) are serialized and both complete', async () => {
    const results = await db.transaction(async (tx) => {
      const nestedWork = (label: string) =>
        tx.transaction(async (nested) => {
          for (let i = 0; i < 5; i++) {
            await nested.run('INSERT INTO t (v) VALUES (?)', [`${label}${i}`]);
            await sleep(1);
          }
          return label;
        });
      return Promise.all([nestedWork('a'), nestedWork('b')]);
    });
    expect(results).toEqual(['a', 'b']);
    // Serialized: all of the first one's rows come before any of the second one's.
    expect(await values()).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2', 'b3', 'b4']);
  });

  it('concurrent nested transactions: a failing one does not disturb the other', async () => {
    const failure = new Error('second fails');
    const outcome = await db.transaction(async (tx) => {
      return Promise.allSettled([
        tx.transaction(async (nested) => {
          await nested.run("INSERT INTO t (v) VALUES ('n1')");
          await sleep(5);
          await nested.run("INSERT INTO t (v) VALUES ('n2')");
        }),
        tx.transaction(async (nested) => {
          await nested.run("INSERT INTO t (v) VALUES ('bad')");
          throw failure;
        }),
        tx.transaction(async (nested) => {
          await nested.run("INSERT INTO t (v) VALUES ('n3')");
        }),
      ]);
    });
    expect(outcome.map((entry) => entry.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcome[1] as PromiseRejectedResult).reason).toBe(failure);
    expect(await values()).toEqual(['n1', 'n2', 'n3']);
  });

  it('a nested transaction whose outer transaction rolls back leaves nothing', async () => {
    const failure = new Error('outer fails');
    await expect(
      db.transaction(async (tx) => {
        await tx.transaction((nested) => nested.run("INSERT INTO t (v) VALUES ('released savepoint')"));
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await values()).toEqual([]);
  });
});

describe('writes from outside', () => {
  it('wait for the transaction and land after its writes', async () => {
    let outside: ReturnType<typeof track<unknown>> | undefined;
    await db.transaction(async (tx) => {
      await tx.run("INSERT INTO t (v) VALUES ('tx-1')");
      outside = track(db.run("INSERT INTO t (v) VALUES ('outside')"));
      await sleep(50);
      expect(outside.settled()).toBe(false);
      await tx.run("INSERT INTO t (v) VALUES ('tx-2')");
      await sleep(20);
      expect(outside.settled()).toBe(false);
    });
    await outside!.promise;
    expect(await values()).toEqual(['tx-1', 'tx-2', 'outside']);
  });

  it('never become part of a transaction that rolls back', async () => {
    let outside: Promise<unknown> | undefined;
    const failure = new Error('roll back');
    await expect(
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('tx-1')");
        outside = db.run("INSERT INTO t (v) VALUES ('outside')");
        outside.catch(() => undefined);
        await sleep(30);
        await tx.run("INSERT INTO t (v) VALUES ('tx-2')");
        throw failure;
      }),
    ).rejects.toBe(failure);
    await outside;
    expect(await values()).toEqual(['outside']);
  });

  it('a write queued before the next transaction runs before that transaction', async () => {
    const first = await holdWriter(db, 'first');
    const outside = db.run("INSERT INTO t (v) VALUES ('outside')");
    const second = db.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('second')"));
    await sleep(20);
    first.release();
    await Promise.all([first.done, outside, second]);
    // Writes and transactions wait for the writer in the order they were issued.
    expect(await values()).toEqual(['first', 'outside', 'second']);
  });

  it('a write queued before a write lease runs before that lease', async () => {
    const first = await holdWriter(db, 'first');
    const outside = db.run("INSERT INTO t (v) VALUES ('outside')");
    const leased = db.acquire({ write: true }).then(async (lease) => {
      try {
        await lease.run("INSERT INTO t (v) VALUES ('lease')");
      } finally {
        await lease.release();
      }
    });
    await sleep(20);
    first.release();
    await Promise.all([first.done, outside, leased]);
    expect(await values()).toEqual(['first', 'outside', 'lease']);
  });

  it('several writes queued behind a transaction all run, in order, once it commits', async () => {
    // Run in a child process with a time bound: a pool that stops making progress here would
    // otherwise stall this whole file instead of failing one test.
    const result = await runIsolated(
      `
      let started; const begun = new Promise((resolve) => (started = resolve));
      let finish; const gate = new Promise((resolve) => (finish = resolve));
      const transaction = db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('tx')");
        started();
        await gate;
      });
      await begun;
      const outside = [0, 1, 2, 3, 4].map((i) => db.run('INSERT INTO t (v) VALUES (?)', ['out-' + i]));
      await sleep(20);
      finish();
      await transaction;
      await Promise.all(outside);
      report((await db.all('SELECT v FROM t ORDER BY id')).map((row) => row.v));
      `,
    );
    expect(result).toEqual({ timedOut: false, output: ['tx', 'out-0', 'out-1', 'out-2', 'out-3', 'out-4'] });
  });
});

describe('timeouts, aborts and the end of the scope', () => {
  it('past its timeout it rejects with TransactionTimeoutError, rolls back, and frees the writer', async () => {
    let lateCall: Promise<unknown> | undefined;
    const result = db.transaction(
      async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('in-timed-out')");
        await sleep(300);
        lateCall = tx.run("INSERT INTO t (v) VALUES ('late')");
        lateCall.catch(() => undefined);
      },
      { timeout: 100 },
    );
    await expect(result).rejects.toSatisfy(
      (error: unknown) => error instanceof TransactionTimeoutError && (error as TransactionTimeoutError).code === 'LITEPOOL_TRANSACTION_TIMEOUT',
    );
    // The writer is free: a plain write goes through right away.
    await db.run("INSERT INTO t (v) VALUES ('after')");
    expect(await values()).toEqual(['after']);
    expect(db.stats().writer.held).toBe(false);
    // The callback carries on after the timeout; what it tries then is refused.
    await sleep(350);
    await expect(lateCall).rejects.toBeInstanceOf(ScopeEndedError);
    expect(await values()).toEqual(['after']);
  });

  it('a statement still running at the timeout is interrupted; the transaction rolls back', async () => {
    const result = db.transaction(
      async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('in-timed-out')");
        await tx.get('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c');
      },
      { timeout: 100 },
    );
    await expect(result).rejects.toBeInstanceOf(TransactionTimeoutError);
    expect(db.stats().writer.held).toBe(false);
    expect(db.stats().writer.busy).toBe(false);
    await db.run("INSERT INTO t (v) VALUES ('after')");
    expect(await values()).toEqual(['after']);
  });

  it('waiting for the writer can be aborted: the callback never runs and the queue moves on', async () => {
    const gate = latch();
    const holder = db.transaction(async (tx) => {
      await tx.run("INSERT INTO t (v) VALUES ('holder')");
      await gate.promise;
    });
    const controller = new AbortController();
    const reason = new Error('gave up waiting');
    let ran = false;
    const waiting = db.transaction(
      async (tx) => {
        ran = true;
        await tx.run("INSERT INTO t (v) VALUES ('aborted')");
      },
      { signal: controller.signal },
    );
    const behind = db.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('behind')"));
    await sleep(20);
    expect(db.stats().leasesWaiting).toBe(2);
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(db.stats().leasesWaiting).toBe(1);
    gate.open();
    await holder;
    await behind;
    expect(ran).toBe(false);
    expect(await values()).toEqual(['holder', 'behind']);
  });

  it('waiting for the writer is bounded by acquireTimeout (AcquireTimeoutError)', async () => {
    const pool = await pools.openAt(pools.file(), { readers: 1, acquireTimeout: 100 });
    try {
      const gate = latch();
      const holder = pool.transaction(() => gate.promise);
      let ran = false;
      await expect(
        pool.transaction(() => {
          ran = true;
        }),
      ).rejects.toSatisfy((error: unknown) => error instanceof AcquireTimeoutError && (error as AcquireTimeoutError).code === 'LITEPOOL_ACQUIRE_TIMEOUT');
      expect(ran).toBe(false);
      gate.open();
      await holder;
      expect(await pool.transaction(() => 'free again')).toBe('free again');
    } finally {
      await pool.close();
    }
  });

  it('using tx after the callback ended rejects with ScopeEndedError', async () => {
    let saved: Transaction | undefined;
    await db.transaction((tx) => {
      saved = tx;
    });
    const attempts = [
      saved!.run("INSERT INTO t (v) VALUES ('late')"),
      saved!.get('SELECT 1'),
      saved!.all('SELECT 1'),
      saved!.exec('SELECT 1'),
      saved!.transaction(() => 1),
    ];
    for (const attempt of attempts) attempt.catch(() => undefined);
    for (const attempt of attempts) {
      await expect(attempt).rejects.toSatisfy(
        (error: unknown) => error instanceof ScopeEndedError && (error as ScopeEndedError).code === 'LITEPOOL_SCOPE_ENDED',
      );
    }
    expect(await values()).toEqual([]);
  });

  it('aborting its signal mid-way rejects with the signal reason and rolls back', async () => {
    const controller = new AbortController();
    const reason = new Error('stop it');
    setTimeout(() => controller.abort(reason), 50);
    const result = db.transaction(
      async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('aborted')");
        await sleep(300);
      },
      { signal: controller.signal },
    );
    await expect(result).rejects.toBe(reason);
    await db.run("INSERT INTO t (v) VALUES ('after')");
    expect(await values()).toEqual(['after']);
  });

  it('aborting with the default reason rejects with an AbortError', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const result = db.transaction(
      async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES ('aborted')");
        await sleep(200);
      },
      { signal: controller.signal },
    );
    const error = await result.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(controller.signal.aborted).toBe(true);
    expect(error).toBe(controller.signal.reason);
    expect((error as Error).name).toBe('AbortError');
    expect(await values()).toEqual([]);
  });

  it('an already-aborted signal rejects without running the callback', async () => {
    const reason = new Error('too late');
    let ran = false;
    const result = db.transaction(
      async () => {
        ran = true;
      },
      { signal: AbortSignal.abort(reason) },
    );
    await expect(result).rejects.toBe(reason);
    expect(ran).toBe(false);
    expect(db.stats().writer.held).toBe(false);
    await db.run("INSERT INTO t (v) VALUES ('after')");
    expect(await values()).toEqual(['after']);
  });
});

describe('concurrency and misuse', () => {
  it('100 concurrent read-modify-write transactions each add exactly 1', async () => {
    await db.exec('CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (0)');
    await Promise.all(
      Array.from({ length: 100 }, () =>
        db.transaction(async (tx) => {
          const row = await tx.get<{ n: number }>('SELECT n FROM counter');
          await sleep(0);
          await tx.run('UPDATE counter SET n = ?', [row!.n + 1]);
        }),
      ),
    );
    expect(await db.get('SELECT n FROM counter')).toEqual({ n: 100 });
  });

  it("run('BEGIN') outside a transaction is refused (LITEPOOL_MISUSE) and leaves no transaction open", async () => {
    await expect(db.run('BEGIN')).rejects.toSatisfy((error: unknown) => (error as { code?: string }).code === 'LITEPOOL_MISUSE');
    await expect(db.exec('BEGIN IMMEDIATE')).rejects.toSatisfy((error: unknown) => (error as { code?: string }).code === 'LITEPOOL_MISUSE');
    // Autocommit again: a plain write is committed at once, so readers (other connections) see it.
    await db.run("INSERT INTO t (v) VALUES ('autocommitted')");
    expect(await db.get('SELECT v FROM t')).toEqual({ v: 'autocommitted' });
    // And a real transaction can begin.
    await db.transaction((tx) => tx.run("INSERT INTO t (v) VALUES ('in-tx')"));
    expect(await values()).toEqual(['autocommitted', 'in-tx']);
  });
});
