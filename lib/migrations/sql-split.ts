// Owns splitting a migration's SQL text into statements, so that a failure can name the statement
// (and its line) that failed. The split follows the state machine of SQLite's own
// sqlite3_complete(): a semicolon ends a statement unless it sits inside a string, an identifier
// quote, a comment, or the body of a CREATE TRIGGER (which ends at `END;`).

/** One statement of a SQL text, and the line (1-based) it starts on. */
export interface SqlStatement {
  sql: string;
  line: number;
}

const enum Token {
  Semi = 0,
  Space = 1,
  Other = 2,
  Explain = 3,
  Create = 4,
  Temp = 5,
  Trigger = 6,
  End = 7,
}

// trans[state][token] from SQLite's complete.c. States: 0 invalid, 1 start, 2 normal, 3 explain,
// 4 create, 5 trigger, 6 semi (inside a trigger), 7 end (inside a trigger).
const TRANS: readonly (readonly number[])[] = [
  [1, 0, 2, 3, 4, 2, 2, 2],
  [1, 1, 2, 3, 4, 2, 2, 2],
  [1, 2, 2, 2, 2, 2, 2, 2],
  [1, 3, 3, 2, 4, 2, 2, 2],
  [1, 4, 2, 2, 2, 4, 5, 2],
  [6, 5, 5, 5, 5, 5, 5, 5],
  [6, 6, 5, 5, 5, 5, 5, 7],
  [1, 7, 5, 5, 5, 5, 5, 5],
];

const KEYWORDS: ReadonlyMap<string, Token> = new Map([
  ['explain', Token.Explain],
  ['create', Token.Create],
  ['temp', Token.Temp],
  ['temporary', Token.Temp],
  ['trigger', Token.Trigger],
  ['end', Token.End],
]);

function isIdentifierChar(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code === 0x24 || code >= 0x80
  );
}

/**
 * The statements of `text`, in order, each without the comments and blank space before it. A
 * last statement without a closing semicolon is kept. Unterminated strings or comments run to the
 * end of the text (SQLite reports the error when the statement runs).
 */
export function splitStatements(text: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let state = 0;
  let start = -1; // index of the first token of the current statement
  let i = 0;
  const n = text.length;
  const push = (end: number) => {
    if (start >= 0) {
      const sql = text.slice(start, end).trim();
      if (sql !== '' && sql !== ';') statements.push({ sql, line: lineOf(text, start) });
    }
    start = -1;
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    let token: Token;
    const tokenStart = i;
    if (c === 0x3b) {
      token = Token.Semi;
      i++;
    } else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d) {
      token = Token.Space;
      i++;
    } else if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a) {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      token = Token.Space;
    } else if (c === 0x2d && text.charCodeAt(i + 1) === 0x2d) {
      const close = text.indexOf('\n', i + 2);
      i = close < 0 ? n : close + 1;
      token = Token.Space;
    } else if (c === 0x5b) {
      const close = text.indexOf(']', i + 1);
      i = close < 0 ? n : close + 1;
      token = Token.Other;
    } else if (c === 0x27 || c === 0x22 || c === 0x60) {
      // A quote doubled inside the literal continues it.
      const quote = text[i]!;
      let j = i + 1;
      for (;;) {
        const close = text.indexOf(quote, j);
        if (close < 0) {
          j = n;
          break;
        }
        if (text[close + 1] === quote) {
          j = close + 2;
          continue;
        }
        j = close + 1;
        break;
      }
      i = j;
      token = Token.Other;
    } else if (isIdentifierChar(c)) {
      let j = i + 1;
      while (j < n && isIdentifierChar(text.charCodeAt(j))) j++;
      token = KEYWORDS.get(text.slice(i, j).toLowerCase()) ?? Token.Other;
      i = j;
    } else {
      token = Token.Other;
      i++;
    }
    if (token !== Token.Space && token !== Token.Semi && start < 0) start = tokenStart;
    const next = TRANS[state]![token]!;
    if (token === Token.Semi && next === 1) push(i);
    state = next;
  }
  push(n);
  return statements;
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** The first `count` words of a statement, upper case, skipping blank space and comments. */
function leadingWords(sql: string, count: number): string[] {
  const words: string[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n && words.length < count) {
    const c = sql.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d) {
      i++;
    } else if (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d) {
      const close = sql.indexOf('\n', i + 2);
      i = close < 0 ? n : close + 1;
    } else if (c === 0x2f && sql.charCodeAt(i + 1) === 0x2a) {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
    } else if (isIdentifierChar(c)) {
      let j = i + 1;
      while (j < n && isIdentifierChar(sql.charCodeAt(j))) j++;
      words.push(sql.slice(i, j).toUpperCase());
      i = j;
    } else {
      break;
    }
  }
  return words;
}

/**
 * `'BEGIN'`, `'COMMIT'`, `'END'` or `'ROLLBACK'` when the statement starts or ends a transaction,
 * else undefined. SAVEPOINT, RELEASE and `ROLLBACK [TRANSACTION] TO` work inside a transaction
 * and are not reported.
 */
export function transactionControl(sql: string): string | undefined {
  const [first, second, third] = leadingWords(sql, 3);
  if (first === 'BEGIN' || first === 'COMMIT' || first === 'END') return first;
  if (first === 'ROLLBACK' && second !== 'TO' && !(second === 'TRANSACTION' && third === 'TO')) return first;
  return undefined;
}

/**
 * True when the statement sets PRAGMA foreign_keys, which SQLite ignores inside a transaction
 * ("a no-op within a transaction"): in a migration that runs in one, it never does what it says.
 */
export function setsForeignKeys(sql: string): boolean {
  const [first] = leadingWords(sql, 1);
  if (first !== 'PRAGMA') return false;
  // PRAGMA [schema.]name = value | (value), names bare or quoted ('', "", ``, []), comments anywhere.
  let i = skipBlank(sql, skipBlank(sql, 0) + 'PRAGMA'.length);
  let name = readName(sql, i);
  if (name === undefined) return false;
  i = skipBlank(sql, name.end);
  if (sql[i] === '.') {
    name = readName(sql, skipBlank(sql, i + 1));
    if (name === undefined) return false;
    i = skipBlank(sql, name.end);
  }
  return name.text.toLowerCase() === 'foreign_keys' && (sql[i] === '=' || sql[i] === '(');
}

/** The index of the first character at or after `i` that is no blank and in no comment. */
function skipBlank(sql: string, i: number): number {
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i]!)) i++;
    if (sql.startsWith('--', i)) {
      const close = sql.indexOf('\n', i + 2);
      i = close < 0 ? sql.length : close + 1;
    } else if (sql.startsWith('/*', i)) {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? sql.length : close + 2;
    } else {
      return i;
    }
  }
}

/** A name at `i`, bare or quoted (its text unquoted), and where it ends; undefined when none is there. */
function readName(sql: string, i: number): { text: string; end: number } | undefined {
  const open = sql[i];
  const close = open === '[' ? ']' : open === '"' || open === "'" || open === '`' ? open : undefined;
  if (close !== undefined) {
    let text = '';
    for (let j = i + 1; j < sql.length; j++) {
      if (sql[j] !== close) text += sql[j];
      else if (close !== ']' && sql[j + 1] === close) text += sql[++j];
      else return { text, end: j + 1 };
    }
    return undefined;
  }
  let j = i;
  while (j < sql.length && isIdentifierChar(sql.charCodeAt(j))) j++;
  return j > i ? { text: sql.slice(i, j), end: j } : undefined;
}
