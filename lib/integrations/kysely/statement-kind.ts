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
import type { SqlValue } from '../../index.ts';
import type { Statements } from '../statements.ts';

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

/**
 * PRAGMAs that only report (the schema, a check): rows, on any connection, with an argument or not.
 * Other PRAGMAs report their value without one and may change the connection with one.
 */
const REPORTING_PRAGMAS = new Set([
  'table_info', 'table_xinfo', 'table_list', 'index_info', 'index_xinfo', 'index_list', 'foreign_key_list',
  'foreign_key_check', 'integrity_check', 'quick_check', 'database_list', 'collation_list', 'function_list',
  'module_list', 'pragma_list', 'compile_options',
]);

/** Whitespace and comments; a word or a quoted name. */
const SKIP = /(?:\s+|--[^\n]*|\/\*[\s\S]*?(?:\*\/|$))*/y;
const NAME = /[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]/y;

/**
 * How a raw PRAGMA runs: 'report' (rows, anywhere: a PRAGMA that reports, or any PRAGMA without
 * a value), 'set' (a PRAGMA given a value, which may change the connection: run where db.run()
 * runs it, on the writer), or undefined for other statements. An EXPLAIN of a PRAGMA given a
 * value counts as 'set': SQLite applies some PRAGMAs while preparing them.
 */
export function pragmaForm(sql: string): 'report' | 'set' | undefined {
  let at = 0;
  const next = (): string | undefined => {
    SKIP.lastIndex = at;
    SKIP.exec(sql);
    NAME.lastIndex = SKIP.lastIndex;
    const match = NAME.exec(sql);
    at = match ? NAME.lastIndex : SKIP.lastIndex;
    return match?.[0];
  };
  let word = next()?.toUpperCase();
  const explained = word === 'EXPLAIN';
  if (explained) {
    word = next()?.toUpperCase();
    if (word === 'QUERY' && next()?.toUpperCase() === 'PLAN') word = next()?.toUpperCase();
  }
  if (word !== 'PRAGMA') return undefined;
  let name = next();
  const following = (): string | undefined => {
    SKIP.lastIndex = at;
    SKIP.exec(sql);
    at = SKIP.lastIndex;
    return sql[at];
  };
  if (following() === '.') {
    at++;
    name = next();
  }
  while (following() === ';') at++;
  if (at >= sql.length) return 'report';
  return !explained && name !== undefined && REPORTING_PRAGMAS.has(name.toLowerCase()) ? 'report' : 'set';
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
