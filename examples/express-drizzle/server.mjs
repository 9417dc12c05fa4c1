// Example: an Express server on litepool through Drizzle ORM. drizzle(pool, { schema }) runs
// Drizzle's query builders and relational queries on the pool; migrate() applies the drizzle-kit
// folder next to this file. Reads run on the reader threads in parallel; each like is a
// read-modify-write transaction on the writer, so 100 concurrent likes count exactly 100.
//
//   npm run build:ts                                    (once: the example imports the built package)
//   node examples/express-drizzle/server.mjs            (serves, fires 200 concurrent requests, prints, exits)
//   node examples/express-drizzle/server.mjs --serve    (keeps serving on http://127.0.0.1:3000)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import express from 'express';
import { open } from 'litepool';
import { drizzle, migrate } from 'litepool/drizzle';
import * as schema from './schema.mjs';

const { authors, posts } = schema;
const serve = process.argv.includes('--serve');
const dir = mkdtempSync(join(tmpdir(), 'litepool-express-drizzle-'));

const pool = await open(join(dir, 'blog.db'), { readers: 4 });
const db = drizzle(pool, { schema });
await migrate(db, { migrationsFolder: fileURLToPath(new URL('./drizzle', import.meta.url)) });

const [ada] = await db.insert(authors).values({ name: 'Ada' }).returning();
await db.insert(posts).values([
  { authorId: ada.id, title: 'Notes on the analytical engine' },
  { authorId: ada.id, title: 'On Bernoulli numbers' },
]);

const app = express();
app.use(express.json());

// Express 5 forwards a rejected promise to the error handler below.
app.get('/posts', async (_request, response) => {
  response.json(
    await db
      .select({ id: posts.id, title: posts.title, likes: posts.likes, author: authors.name })
      .from(posts)
      .innerJoin(authors, eq(posts.authorId, authors.id))
      .orderBy(posts.id),
  );
});

app.get('/authors/:id', async (request, response) => {
  const author = await db.query.authors.findFirst({ where: eq(authors.id, Number(request.params.id)), with: { posts: true } });
  if (!author) return response.status(404).json({ error: 'no such author' });
  response.json(author);
});

app.post('/posts', async (request, response) => {
  const [post] = await db.insert(posts).values({ authorId: request.body.authorId, title: request.body.title }).returning();
  response.status(201).json(post);
});

app.post('/posts/:id/like', async (request, response) => {
  const id = Number(request.params.id);
  const likes = await db.transaction(async (tx) => {
    const post = await tx.select({ likes: posts.likes }).from(posts).where(eq(posts.id, id)).get();
    if (!post) return undefined;
    await tx.update(posts).set({ likes: post.likes + 1 }).where(eq(posts.id, id));
    return post.likes + 1;
  });
  if (likes === undefined) return response.status(404).json({ error: 'no such post' });
  response.json({ id, likes });
});

app.use((error, _request, response, _next) => {
  response.status(500).json({ error: error.message });
});

const server = app.listen(serve ? 3000 : 0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const address = `http://127.0.0.1:${server.address().port}`;
console.log(`listening on ${address}`);

async function shutdown() {
  await new Promise((resolve) => server.close(resolve));
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
}

if (serve) {
  process.once('SIGINT', shutdown);
} else {
  try {
    const started = performance.now();
    const requests = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0 ? fetch(`${address}/posts/1/like`, { method: 'POST' }) : fetch(`${address}/posts`),
    );
    const statuses = (await Promise.all(requests)).map((r) => r.status);
    const ms = performance.now() - started;
    const created = await (
      await fetch(`${address}/posts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ authorId: ada.id, title: 'A third note' }),
      })
    ).json();
    const author = await (await fetch(`${address}/authors/${ada.id}`)).json();
    console.log(`200 concurrent requests (100 likes, 100 listings) in ${ms.toFixed(0)} ms; statuses: ${[...new Set(statuses)].join(', ')}`);
    console.log(`post 1 has ${author.posts[0].likes} likes (always 100); created post ${created.id}; ${author.name} has ${author.posts.length} posts`);
    if (author.posts[0].likes !== 100) throw new Error('likes were lost');
  } finally {
    await shutdown();
  }
}
