// Owns what a Drizzle session runs on: the pool itself (statements routed like db.all/db.run),
// one of its transactions, or a write lease (the migrator's), and how a transaction begins on
// each of them.
// Runs on the JS thread.

import type { Lease, Pool, Transaction } from '../../index.ts';
import type { Statements } from '../statements.ts';

export type Connection =
  | { readonly kind: 'pool'; readonly pool: Pool }
  | { readonly kind: 'transaction'; readonly tx: Transaction }
  | { readonly kind: 'lease'; readonly lease: Lease };

/** The object statements run through. */
export function statementsOf(connection: Connection): Statements {
  switch (connection.kind) {
    case 'pool':
      return connection.pool;
    case 'transaction':
      return connection.tx;
    case 'lease':
      return connection.lease;
  }
}
