// Owns a small SQL lexer for policies: the first keyword of every statement in a text, skipping
// whitespace, comments, string literals and quoted identifiers. It never decides routing (SQLite's
// own analysis does that); policies use it to refuse statement kinds before they reach SQLite.

/** Upper-case first keyword of each statement in `sql` (empty statements are skipped). */
export function statementKeywords(sql: string): string[] {
  const keywords: string[] = [];
  let expectKeyword = true;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i]!;
    if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i + 2);
      i = end < 0 ? n : end + 1;
    } else if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (ch === "'" || ch === '"' || ch === '`' || ch === '[') {
      const close = ch === '[' ? ']' : ch;
      let j = i + 1;
      for (;;) {
        const at = sql.indexOf(close, j);
        if (at < 0) {
          j = n;
          break;
        }
        // A doubled quote is an escaped one (not for brackets).
        if (close !== ']' && sql[at + 1] === close) {
          j = at + 2;
          continue;
        }
        j = at + 1;
        break;
      }
      expectKeyword = false;
      i = j;
    } else if (ch === ';') {
      expectKeyword = true;
      i++;
    } else if (/\s/.test(ch)) {
      i++;
    } else if (/[A-Za-z_]/.test(ch)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$]/.test(sql[j]!)) j++;
      if (expectKeyword) keywords.push(sql.slice(i, j).toUpperCase());
      expectKeyword = false;
      i = j;
    } else {
      expectKeyword = false;
      i++;
    }
  }
  return keywords;
}
