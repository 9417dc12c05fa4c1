// The Drizzle schema of the example; drizzle/ holds its migrations in drizzle-kit's format.
import { relations } from 'drizzle-orm';
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const authors = sqliteTable('authors', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
});

export const posts = sqliteTable(
  'posts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    authorId: integer('author_id')
      .notNull()
      .references(() => authors.id),
    title: text('title').notNull(),
    likes: integer('likes').notNull().default(0),
  },
  (t) => [index('posts_author_id_idx').on(t.authorId)],
);

export const authorsRelations = relations(authors, ({ many }) => ({ posts: many(posts) }));
export const postsRelations = relations(posts, ({ one }) => ({ author: one(authors, { fields: [posts.authorId], references: [authors.id] }) }));
