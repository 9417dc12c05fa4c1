// Owns telling from its text how a PRAGMA statement runs: one that only reports (the schema, a
// check) or has no value reads; one given a value may change the connection it runs on, and SQLite
// applies some (the flag PRAGMAs) already while preparing them, EXPLAIN or not, so they must never
// be prepared where a read runs. Used by the Kysely dialect and by ObservedPool.all(). Runs on the
// JS thread (pure).

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
