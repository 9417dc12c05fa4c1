// Owns the choice between the pool's two result shapes for a Kysely query: rows (db.all, which
// runs on a reader and goes on to the writer when SQLite reports the statement is not read-only)
// or a run result (db.run on the writer: changes and the last inserted rowid).
//
// Built queries are told apart by their operation node: SELECT, and INSERT/UPDATE/DELETE with
// RETURNING (or EXPLAIN), return rows; other DML and DDL do not. For raw SQL (`sql` templates,
// CompiledQuery.raw) SQLite itself is asked, once per SQL text: the program `EXPLAIN` lists has a
// ResultRow instruction exactly when the statement returns rows. PRAGMAs are never asked about
// nor remembered (pragmaForm tells how they run): whether one reports rows can change with the
// schema (`PRAGMA table_info(t)` before and after t is created), SQLite applies some while it
// prepares them, EXPLAIN or not, and a cached EXPLAIN program is not redone after a schema change.
// Runs on the JS thread.

import type { RootOperationNode } from 'kysely';
import { pragmaForm } from '../../input/pragma-form.ts';
import type { SqlValue } from '../../index.ts';
import type { Statements } from '../statements.ts';

export { pragmaForm };

export type StatementKind = 'rows' | 'run';

const WRITES = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode', 'MergeQueryNode']);
/** Raw SQL texts remembered; past this the memory starts over (it is only a shortcut). */
const MAX_REMEMBERED = 1000;

/** True for INSERT, UPDATE, DELETE and MERGE queries built with Kysely. */
export function isWriteNode(node: RootOperationNode): boolean {
  return WRITES.has(node.kind);
}

/** The kind of a built query, or undefined for raw SQL (which only SQLite can tell). */
export function kindOfNode(node: RootOperationNode): StatementKind | undefined {
  switch (node.kind) {
    case 'SelectQueryNode':
      return 'rows';
    case 'InsertQueryNode':
    case 'UpdateQueryNode':
    case 'DeleteQueryNode':
      return node.returning !== undefined || node.explain !== undefined ? 'rows' : 'run';
    case 'MergeQueryNode':
      return node.returning !== undefined ? 'rows' : 'run';
    case 'RawNode':
      return undefined;
    default:
      // Schema statements (CREATE/ALTER/DROP ...) return no rows.
      return node.kind.startsWith('Create') || node.kind.startsWith('Drop') || node.kind.startsWith('Alter') ? 'run' : undefined;
  }
}

/** Remembers, per raw SQL text, whether SQLite says the statement returns rows (PRAGMAs are not asked). */
export class RawStatementKinds {
  readonly #known = new Map<string, StatementKind>();

  /** The kind of `sql`, asking SQLite on `target` (the connection that will run it) the first time. */
  async of(target: Statements, sql: string, params: readonly SqlValue[]): Promise<StatementKind> {
    const known = this.#known.get(sql);
    if (known !== undefined) return known;
    let program: unknown[][];
    try {
      program = await target.all(`EXPLAIN ${sql}`, params, { rowMode: 'array' });
    } catch {
      // SQLite could not compile it (a table created later, a statement EXPLAIN does not take):
      // run it for rows, which works for every statement, and ask again next time.
      return 'rows';
    }
    // EXPLAIN's columns: addr, opcode, p1, p2, p3, p4, p5, comment.
    const kind: StatementKind = program.some((instruction) => instruction[1] === 'ResultRow') ? 'rows' : 'run';
    if (this.#known.size >= MAX_REMEMBERED) this.#known.clear();
    this.#known.set(sql, kind);
    return kind;
  }
}
