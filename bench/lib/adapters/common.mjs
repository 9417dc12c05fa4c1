// Owns what every driver adapter shares so that the comparison is fair: the settings every
// connection runs with (WAL, synchronous=NORMAL, a 16,000 KiB page cache, a 5 s busy timeout) and
// the per-connection cache of prepared statements the sync and sqlite3 adapters keep.

export const CACHE_KIB = 16_000;
export const SETUP_PRAGMAS = [
  'PRAGMA journal_mode = WAL',
  'PRAGMA synchronous = NORMAL',
  `PRAGMA cache_size = -${CACHE_KIB}`,
  'PRAGMA busy_timeout = 5000',
];

/** A per-connection cache of prepared statements. */
export function statementCache(prepare) {
  const cache = new Map();
  return (sql) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = prepare(sql);
      cache.set(sql, stmt);
    }
    return stmt;
  };
}
