// End-to-end example: opens a pool on an embedded database file, writes and reads concurrently,
// prints the pool's stats, closes it. Run with `npm run demo`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'litepool';

const dir = mkdtempSync(join(tmpdir(), 'litepool-demo-'));
const file = join(dir, 'demo.db');

try {
  const db = await open(file, { readers: 4, pragmas: { foreign_keys: true } });
  console.log(`opened ${file} (SQLite ${(await db.get('SELECT sqlite_version() AS v')).v})`);

  await db.exec(`
    CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), title TEXT NOT NULL);
    CREATE INDEX posts_user ON posts(user_id);
  `);

  // 200 concurrent writes: all serialized on the one writer thread, none sees SQLITE_BUSY.
  let started = performance.now();
  await Promise.all(Array.from({ length: 200 }, (_, i) => db.run('INSERT INTO users (name) VALUES (?)', [`user-${i}`])));
  await Promise.all(
    Array.from({ length: 2000 }, (_, i) =>
      db.run('INSERT INTO posts (user_id, title) VALUES (:user, :title)', { user: 1 + (i % 200), title: `post ${i}` }),
    ),
  );
  console.log(`2,200 concurrent writes in ${(performance.now() - started).toFixed(0)} ms`);

  // 20,000 concurrent reads spread over the reader threads, while the event loop stays free.
  started = performance.now();
  const authors = await Promise.all(
    Array.from({ length: 20_000 }, (_, i) =>
      db.get('SELECT u.name, COUNT(p.id) AS posts FROM users u JOIN posts p ON p.user_id = u.id WHERE u.id = ? GROUP BY u.id', [
        1 + (i % 200),
      ]),
    ),
  );
  const elapsed = performance.now() - started;
  console.log(`20,000 concurrent reads in ${elapsed.toFixed(0)} ms (${Math.round(20_000 / (elapsed / 1000)).toLocaleString('en-US')} reads/s)`);
  console.log('sample row:', authors[42]);

  const top = await db.all('SELECT user_id, COUNT(*) AS n FROM posts GROUP BY user_id ORDER BY n DESC, user_id LIMIT 3');
  console.log('top authors:', top);

  try {
    await db.run('INSERT INTO users (name) VALUES (?)', ['user-1']);
  } catch (error) {
    console.log(`a duplicate insert is rejected with ${error.name} ${error.code}`);
  }

  console.log('stats:', JSON.stringify(db.stats()));
  await db.close();
  console.log('closed cleanly');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
