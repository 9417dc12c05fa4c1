// Owns the benchmark datasets and the SQL every driver runs: the 100,000-row `items` table for
// point reads, the users/posts/comments/likes schema of the heavy workload, and the empty tables
// the insert workloads write to. Datasets are generated once per run with better-sqlite3 in one
// transaction, from a seeded generator, and the file is shared by every driver.

import { seeded } from './prng.mjs';

export const ITEMS = 100_000;

export const SQL = {
  point: 'SELECT id, name, email, score, created_at FROM items WHERE id = ?',
  simple: 'SELECT id, name FROM items WHERE id = ?',
  getOne: 'SELECT * FROM items WHERE id = ?',
  range100: 'SELECT * FROM items WHERE id >= ? ORDER BY id LIMIT 100',
  heavy:
    'SELECT p.id, p.title, u.name AS author, COUNT(c.id) AS comments, COUNT(l.id) AS likes ' +
    'FROM posts p JOIN users u ON p.user_id = u.id ' +
    'LEFT JOIN comments c ON c.post_id = p.id LEFT JOIN likes l ON l.post_id = p.id ' +
    'WHERE p.id = ? GROUP BY p.id, p.title, u.name',
  postById: 'SELECT id, user_id, title, created_at FROM posts WHERE id = ?',
  scanItems: 'SELECT count(*) AS n, sum(length(name) + length(email)) AS bytes FROM items',
  insertItem: 'INSERT INTO inserts (name, email, score, created_at) VALUES (?, ?, ?, ?)',
  insertEvent: 'INSERT INTO events (kind, payload, ts) VALUES (?, ?, ?)',
};

const WORDS =
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo consequat'.split(
    ' ',
  );

function text(random, words) {
  let out = WORDS[Math.floor(random() * WORDS.length)];
  for (let i = 1; i < words; i++) out += ` ${WORDS[Math.floor(random() * WORDS.length)]}`;
  return out;
}

/** One row for the `items`/`inserts` tables. */
export function itemRow(random, i) {
  return [`user ${i} ${text(random, 2)}`, `user${i}@example.com`, Math.round(random() * 1e6) / 100, 1_700_000_000 + i];
}

/**
 * Builds the shared database file: items (point reads), users/posts/comments/likes (heavy
 * load) with an index on every foreign key, then ANALYZE so every driver plans with the same
 * statistics. Returns the dataset's shape.
 */
export function buildDataset(BetterSqlite3, file, { users, postsPerUser = 10, commentsPerPost = 50, likesPerPost = 100 }) {
  const db = new BetterSqlite3(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -64000');
  db.exec(`
    CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, score REAL NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL);
    CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), title TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts(id), user_id INTEGER NOT NULL REFERENCES users(id), body TEXT NOT NULL);
    CREATE TABLE likes (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts(id), user_id INTEGER NOT NULL REFERENCES users(id));
  `);
  const random = seeded(42);
  const posts = users * postsPerUser;
  const comments = posts * commentsPerPost;
  const likes = posts * likesPerPost;
  db.transaction(() => {
    const item = db.prepare('INSERT INTO items (id, name, email, score, created_at) VALUES (?, ?, ?, ?, ?)');
    for (let i = 1; i <= ITEMS; i++) item.run(i, ...itemRow(random, i));
    const user = db.prepare('INSERT INTO users (id, name, email) VALUES (?, ?, ?)');
    for (let i = 1; i <= users; i++) user.run(i, `${text(random, 2)} ${i}`, `u${i}@example.com`);
    const post = db.prepare('INSERT INTO posts (id, user_id, title, body, created_at) VALUES (?, ?, ?, ?, ?)');
    for (let i = 1; i <= posts; i++) {
      post.run(i, 1 + Math.floor((i - 1) / postsPerUser), text(random, 6), text(random, 40), 1_700_000_000 + i);
    }
    const comment = db.prepare('INSERT INTO comments (post_id, user_id, body) VALUES (?, ?, ?)');
    for (let i = 0; i < comments; i++) {
      comment.run(1 + Math.floor(random() * posts), 1 + Math.floor(random() * users), text(random, 12));
    }
    const like = db.prepare('INSERT INTO likes (post_id, user_id) VALUES (?, ?)');
    for (let i = 0; i < likes; i++) like.run(1 + Math.floor(random() * posts), 1 + Math.floor(random() * users));
  })();
  db.exec(`
    CREATE INDEX posts_user_id ON posts(user_id);
    CREATE INDEX comments_post_id ON comments(post_id);
    CREATE INDEX comments_user_id ON comments(user_id);
    CREATE INDEX likes_post_id ON likes(post_id);
    CREATE INDEX likes_user_id ON likes(user_id);
    ANALYZE;
  `);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const plan = db
    .prepare(`EXPLAIN QUERY PLAN ${SQL.heavy}`)
    .all(1)
    .map((r) => r.detail);
  db.close();
  return { items: ITEMS, users, posts, comments, likes, heavyPlan: plan };
}

/** An empty database for the insert workloads (one per driver, so none inherits another's pages). */
export function buildInsertFile(BetterSqlite3, file) {
  const db = new BetterSqlite3(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL');
  db.exec(`
    CREATE TABLE inserts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, score REAL NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, ts INTEGER NOT NULL);
  `);
  db.close();
}
