// Owns what the tests of calls on a transaction's `tx` share: the statements they run (one that
// never ends by itself, one that fails at the writer, an insert of a value into t) and the check,
// after each test, that no rejection went unhandled.
import { afterEach, beforeEach, expect } from 'vitest';

/** A read that never ends by itself (only an interrupt stops it). */
export const ENDLESS = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c';
/** Inserts `v` into t (v TEXT NOT NULL, the table of tempPools' fresh()). */
export const insert = (v: string): string => `INSERT INTO t (v) VALUES ('${v}')`;
/** Fails at the writer with SQLITE_CONSTRAINT_NOTNULL (t.v is NOT NULL). */
export const FAILING = 'INSERT INTO t (v) VALUES (NULL)';

/** Fails each test of the file after which a rejection went unhandled (registers beforeEach/afterEach). */
export function expectNoUnhandledRejections(): void {
  let unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  beforeEach(() => {
    unhandled = [];
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    // Unhandled rejections are reported once the microtask queue has drained: give them a turn.
    await new Promise((resolve) => setTimeout(resolve, 20));
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });
}
