// Owns transactions held open across calls their holder does not sequence itself: a query
// builder's begin/commit/rollback (Kysely), an HTTP request's hooks (Fastify). The transaction
// runs inside the pool's own db.transaction() (db.read() for a read-only one) and ends when the
// holder calls commit() or rollback(), so every rule of the pool applies unchanged: the writer is
// held and outside writes wait, BEGIN IMMEDIATE by default, the transaction timeout, statements
// refused with SQLITE_ABORT once SQLite has rolled the transaction back by itself, and rollback on
// any failure.
// Runs on the JS thread.

import { LitepoolError, type Lease, type Pool, type Transaction, type TransactionBehavior } from '../index.ts';

/** A transaction begun now and ended later by whoever holds it. */
export interface HeldTransaction<S> {
  /** The connection-bound handle: every statement of the transaction runs through it. */
  readonly scope: S;
  /** Commits. Rejects with the reason the transaction failed instead (its timeout, a failed COMMIT). */
  commit(): Promise<void>;
  /** Rolls back. Resolves once the transaction has ended, however it ended. */
  rollback(): Promise<void>;
  /**
   * Why the transaction ended before its holder ended it (its timeout, an abort), once it has:
   * statements sent after that fail with ScopeEndedError, and this says why.
   */
  readonly failure: unknown;
}

export interface HoldOptions {
  behavior?: TransactionBehavior | undefined;
  /** Longest the transaction may stay open (default: db.transaction()'s own, 30 s). */
  timeout?: number | undefined;
  /** Aborting it before the writer is granted stops the wait. */
  signal?: AbortSignal | undefined;
}

/** The holder asked for a rollback: thrown inside the pool's transaction to make it roll back. */
class RollbackRequested extends Error {}

/**
 * Begins a write transaction on `pool` (the writer held, `BEGIN <behavior>`), resolved once it
 * has begun, and ended by `commit()` or `rollback()` at most `timeout` ms later.
 */
export function holdTransaction(pool: Pool, options: HoldOptions = {}): Promise<HeldTransaction<Transaction>> {
  const settings = {
    ...(options.behavior === undefined ? {} : { behavior: options.behavior }),
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
  return hold<Transaction>((body) => pool.transaction(body, settings));
}

/**
 * Begins a read transaction: one reader pinned, one snapshot for every statement until
 * `commit()` or `rollback()` (which do the same), at most the pool's `maxReadDuration`.
 */
export function holdSnapshot(pool: Pool, options: Pick<HoldOptions, 'signal'> = {}): Promise<HeldTransaction<Lease>> {
  return hold<Lease>((body) => pool.read(body, options.signal === undefined ? undefined : { signal: options.signal }));
}

function hold<S>(run: (body: (scope: S) => Promise<void>) => Promise<void>): Promise<HeldTransaction<S>> {
  let decide!: (commit: boolean) => void;
  const decision = new Promise<boolean>((resolve) => {
    decide = resolve;
  });
  let begun = false;
  let failure: unknown;
  let outcome: Promise<void> | undefined;
  const commit = (): Promise<void> => {
    decide(true);
    return outcome!;
  };
  const rollback = (): Promise<void> => {
    decide(false);
    return outcome!.then(
      () => undefined,
      () => undefined,
    );
  };
  return new Promise<HeldTransaction<S>>((resolveHeld, rejectHeld) => {
    const body = async (scope: S): Promise<void> => {
      if (begun) {
        // The pool's `retry` replays a transaction whose COMMIT failed with a transient error.
        // The statements of a held transaction were sent by its holder and cannot be replayed.
        throw new LitepoolError(
          'LITEPOOL_ROLLED_BACK',
          'the transaction failed with a transient error at COMMIT and was rolled back; a transaction begun ' +
            'through an integration is not replayed by the pool: run it again',
        );
      }
      begun = true;
      resolveHeld({
        scope,
        commit,
        rollback,
        get failure() {
          return failure;
        },
      });
      if (!(await decision)) throw new RollbackRequested('rollback requested');
    };
    outcome = run(body);
    // Failing before it began (no writer within acquireTimeout, an abort): nothing was held.
    outcome.then(undefined, (error: unknown) => {
      if (!begun) rejectHeld(error);
      else if (!(error instanceof RollbackRequested)) failure = error;
    });
  });
}
