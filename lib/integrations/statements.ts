// Owns the one type the integrations run statements through: the operations a Pool, a
// Transaction and a Lease have in common, so a query runs the same way outside a transaction
// (on the pool, routed to readers or the writer) and inside one (on its pinned connection).

import type { Transaction } from '../index.ts';

/** What the pool, a transaction and a lease all offer. */
export type Statements = Pick<Transaction, 'get' | 'all' | 'run' | 'exec' | 'iterate' | 'batch'>;
