// Covers paired observer events: a transaction's 'begin' and its 'commit' or 'rollback'
// (onTransaction), a migration's 'start' and its 'applied' or 'failed' (onMigration), reach an
// observer both or neither. One attached while a transaction or migration runs (by db.observe(),
// also from inside another observer's hook) gets no end of it, and the whole pair of the next one;
// one removed meanwhile gets no end (also when added again before the end); one added twice and
// removed once stays attached and gets it. Before, an observer attached mid-transaction got a
// 'commit' or 'rollback' whose 'begin' it never saw (and one mid-migration an 'applied' without
// its 'start'). Event orderings only: no timings.
import { describe, expect, it } from 'vitest';
import type { MigrationDefinition, MigrationEvent, Observer, TransactionEvent } from '../lib/index.ts';
import { tempPools } from './helpers/pools.ts';
import { rejection } from './helpers/waits.ts';

const pools = tempPools('observer-pairs');

/** An observer that records the phases it sees, and the `seen` list it records into. */
function recorder(): { observer: Observer; seen: string[] } {
  const seen: string[] = [];
  const observer: Observer = {
    onTransaction: (e: TransactionEvent) => void seen.push(e.phase),
    onMigration: (e: MigrationEvent) => void seen.push(`${e.phase} ${e.version}`),
  };
  return { observer, seen };
}

describe('onTransaction: begin and end reach an observer both or neither', () => {
  it('an observer attached mid-transaction gets no commit or rollback of it, and the next transactions whole', async () => {
    const db = await pools.fresh({ readers: 2 });
    const late = recorder();
    // No observer before: the begin was not even built.
    await db.transaction(async (tx) => {
      await tx.run("INSERT INTO t (v) VALUES ('a')");
      db.observe(late.observer);
    });
    const failure = new Error('rolled back');
    expect(
      await rejection(
        db.transaction(async () => {
          throw failure;
        }),
      ),
    ).toBe(failure);
    await db.transaction(async (tx) => void (await tx.run("INSERT INTO t (v) VALUES ('b')")));
    expect(late.seen).toEqual(['begin', 'rollback', 'begin', 'commit']);
  });

  it('with an observer attached since before, the one attached mid-transaction still gets none of it', async () => {
    const db = await pools.fresh({ readers: 2 });
    const early = recorder();
    const late = recorder();
    const later = recorder();
    db.observe(early.observer);
    await db.transaction(async () => void db.observe(late.observer));
    await rejection(
      db.transaction(async () => {
        db.observe(later.observer);
        throw new Error('rolled back');
      }),
    );
    expect(early.seen).toEqual(['begin', 'commit', 'begin', 'rollback']);
    expect(late.seen).toEqual(['begin', 'rollback']);
    expect(later.seen).toEqual([]);
  });

  it("one attached by another observer's begin hook gets no end of that transaction", async () => {
    const db = await pools.fresh({ readers: 2 });
    const inner = recorder();
    let added = false;
    db.observe({
      onTransaction: (e) => {
        if (e.phase === 'begin' && !added) {
          added = true;
          db.observe(inner.observer);
        }
      },
    });
    await db.transaction(async (tx) => void (await tx.run("INSERT INTO t (v) VALUES ('a')")));
    await db.transaction(async (tx) => void (await tx.run("INSERT INTO t (v) VALUES ('b')")));
    expect(inner.seen).toEqual(['begin', 'commit']);
  });

  it('one removed mid-transaction gets no end, also when added again before the end; one added twice and removed once gets it', async () => {
    const db = await pools.fresh({ readers: 2 });
    const removed = recorder();
    const readded = recorder();
    const twice = recorder();
    const stopRemoved = db.observe(removed.observer);
    const stopReadded = db.observe(readded.observer);
    const stopTwice = db.observe(twice.observer);
    db.observe(twice.observer);
    await db.transaction(async () => {
      stopRemoved();
      stopReadded();
      db.observe(readded.observer);
      stopTwice();
    });
    await db.transaction(async () => undefined);
    expect(removed.seen).toEqual(['begin']);
    expect(readded.seen).toEqual(['begin', 'begin', 'commit']);
    expect(twice.seen).toEqual(['begin', 'commit', 'begin', 'commit']);
  });
});

describe('onMigration: start and end reach an observer both or neither', () => {
  it('an observer attached during a migration gets no applied or failed of it, and the next migrations whole', async () => {
    const db = await pools.fresh({ readers: 2 });
    const early = recorder();
    const late = recorder();
    const failing = recorder();
    const applied: MigrationDefinition[] = [
      {
        version: '1.0.0',
        name: 'first',
        up: async (tx) => {
          db.observe(late.observer);
          await tx.run('CREATE TABLE m (x)');
        },
      },
      { version: '1.1.0', name: 'second', up: 'CREATE TABLE n (x)' },
    ];
    await db.migrate({ migrations: applied });
    expect(late.seen).toEqual(['start 1.1.0', 'applied 1.1.0']);
    // A failed one: the observer attached during it gets no 'failed'; the one attached before gets both.
    db.observe(early.observer);
    const fails: MigrationDefinition = {
      version: '1.2.0',
      name: 'fails',
      up: async () => {
        db.observe(failing.observer);
        throw new Error('migration fails');
      },
    };
    expect(await rejection(db.migrate({ migrations: [...applied, fails] }))).toMatchObject({ code: 'LITEPOOL_MIGRATION_FAILED' });
    expect(early.seen).toEqual(['start 1.2.0', 'failed 1.2.0']);
    expect(failing.seen).toEqual([]);
  });
});
