// Covers hostile database files: a crafted schema must not run code the user did not ask for,
// and a damaged or lying file must give typed errors, never a crash, a hang or a write to it.
// - Every connection runs with trusted_schema OFF; views over functions SQLite marks direct-only
//   (sqlite_log) fail on use, and views over virtual tables that are not innocuous (fts5vocab,
//   dbstat) fail while trusted_schema is OFF and work on a lease where the user turned it ON.
// - Triggers in the file that call load_extension() or sqlite_log(), or write to an FTS5 shadow
//   table (patched into the file, since DEFENSIVE refuses to create it), make the user's write
//   fail with a SqliteError, and roll it back whole.
// - DEFENSIVE is on: writes to shadow tables and to sqlite_schema (writable_schema) are refused.
// - A view that never ends is stopped by the operation's timeout; a circular view is an error.
// - Wrong headers (magic, page size), a page count far beyond the file, zeroed pages, malformed
//   schema SQL give SqliteError SQLITE_NOTADB / SQLITE_CORRUPT from open() and leave the file as
//   it was; a b-tree whose page points to itself gives SQLITE_CORRUPT on the scan, and the pool
//   goes on serving.
import { readFileSync, statSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OperationTimeoutError, SqliteError, open, type Pool } from '../lib/index.ts';

let dir: string;
/** A database with an FTS5 table, built by a pool (DDL the pool allows) and then closed. */
let template: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'litepool-hostile-'));
  template = join(dir, 'template.db');
  const db = await open(template, { readers: 1 });
  await db.exec(`
    CREATE TABLE t (id INTEGER PRIMARY KEY, v);
    CREATE TABLE audit (x);
    CREATE TABLE ft_datx (id INTEGER PRIMARY KEY, block BLOB);
    CREATE VIRTUAL TABLE ft USING fts5(body);
    INSERT INTO ft (body) VALUES ('hello world'), ('hostile files');
    INSERT INTO t (v) VALUES (1), (2), (3);
  `);
  await db.close();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let copies = 0;
/** A copy of the template with `sql` run on it (by a pool), or with its bytes patched. */
async function craft(sql?: string, patch?: (bytes: Buffer) => void): Promise<string> {
  const file = join(dir, `crafted-${++copies}.db`);
  writeFileSync(file, readFileSync(template));
  if (sql) {
    const db = await open(file, { readers: 1 });
    await db.exec(sql);
    await db.close();
  }
  if (patch) {
    const bytes = readFileSync(file);
    patch(bytes);
    writeFileSync(file, bytes);
  }
  return file;
}

/** Replaces `from` by `to` (same length) everywhere in the file's bytes. */
function replaceText(bytes: Buffer, from: string, to: string): void {
  expect(to.length).toBe(from.length);
  let at = bytes.indexOf(from);
  expect(at, `'${from}' is in the file`).toBeGreaterThanOrEqual(0);
  while (at >= 0) {
    bytes.write(to, at, 'latin1');
    at = bytes.indexOf(from, at + 1);
  }
}

async function rejection(promise: Promise<unknown>): Promise<SqliteError> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    return error as SqliteError;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
}

async function expectServing(db: Pool): Promise<void> {
  expect(await db.get('SELECT 1 AS one')).toEqual({ one: 1 });
  expect(await db.run('INSERT INTO audit (x) VALUES (?)', ['served'])).toMatchObject({ changes: 1 });
  await db.run("DELETE FROM audit WHERE x = 'served'");
}

describe('a crafted schema runs no code the user did not ask for', () => {
  it('every connection runs with trusted_schema OFF', async () => {
    const db = await open(await craft(), { readers: 2 });
    try {
      expect(await db.get('PRAGMA trusted_schema')).toEqual({ trusted_schema: 0 });
      expect(await db.transaction((tx) => tx.get('PRAGMA trusted_schema'))).toEqual({ trusted_schema: 0 });
    } finally {
      await db.close();
    }
  });

  it('a view calling a direct-only function (sqlite_log) fails on use, even with trusted_schema ON', async () => {
    const db = await open(await craft("CREATE VIEW v_log AS SELECT sqlite_log(1, 'from a view') AS x"), { readers: 1 });
    try {
      const error = await rejection(db.get('SELECT * FROM v_log'));
      expect(error).toBeInstanceOf(SqliteError);
      expect(error.code).toBe('SQLITE_ERROR');
      expect(error.message).toMatch(/unsafe use of sqlite_log/);
      const lease = await db.acquire({ write: true });
      try {
        await lease.exec('PRAGMA trusted_schema = ON');
        await expect(lease.get('SELECT * FROM v_log')).rejects.toThrow(/unsafe use of sqlite_log/);
      } finally {
        await lease.exec('PRAGMA trusted_schema = OFF');
        await lease.release();
      }
      await expectServing(db);
    } finally {
      await db.close();
    }
  });

  it('views over virtual tables that are not innocuous fail with trusted_schema OFF, and work where the user turns it ON', async () => {
    const file = await craft("CREATE VIRTUAL TABLE ft_v USING fts5vocab(ft, 'row'); CREATE VIEW v_vocab AS SELECT * FROM ft_v; CREATE VIEW v_stat AS SELECT name FROM dbstat");
    const db = await open(file, { readers: 1 });
    try {
      for (const view of ['v_vocab', 'v_stat']) {
        const error = await rejection(db.get(`SELECT * FROM ${view}`));
        expect(error).toBeInstanceOf(SqliteError);
        expect(error.code).toBe('SQLITE_ERROR');
        expect(error.message).toMatch(/unsafe use of virtual table/);
      }
      // Used directly (the user's own query), the virtual table works.
      expect(await db.get("SELECT term FROM ft_v WHERE term = 'hello'")).toEqual({ term: 'hello' });
      const lease = await db.acquire({ write: true });
      try {
        await lease.exec('PRAGMA trusted_schema = ON');
        expect(await lease.get("SELECT term FROM v_vocab WHERE term = 'hello'")).toEqual({ term: 'hello' });
      } finally {
        await lease.exec('PRAGMA trusted_schema = OFF');
        await lease.release();
      }
      // Back to OFF on the writer too.
      await expect(db.transaction((tx) => tx.get('SELECT * FROM v_vocab'))).rejects.toThrow(/unsafe use of virtual table/);
      await expectServing(db);
    } finally {
      await db.close();
    }
  });

  it('triggers calling load_extension() or sqlite_log() make the write fail and roll it back whole', async () => {
    const file = await craft(`
      CREATE TRIGGER t_insert AFTER INSERT ON t BEGIN SELECT load_extension('/nonexistent/evil.so'); END;
      CREATE TRIGGER t_delete AFTER DELETE ON t BEGIN INSERT INTO audit (x) VALUES (sqlite_log(1, 'from a trigger')); END;
    `);
    const db = await open(file, { readers: 1 });
    try {
      const insert = await rejection(db.run('INSERT INTO t (v) VALUES (4)'));
      expect(insert).toBeInstanceOf(SqliteError);
      expect(insert.message).toMatch(/unsafe use of load_extension/);
      const remove = await rejection(db.run('DELETE FROM t WHERE id = 1'));
      expect(remove).toBeInstanceOf(SqliteError);
      expect(remove.message).toMatch(/unsafe use of sqlite_log/);
      expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }]);
      expect(await db.all('SELECT x FROM audit')).toEqual([]);
      await expectServing(db);
    } finally {
      await db.close();
    }
  });

  it('a trigger patched into the file to write an FTS5 shadow table makes the write fail; the index stays intact', async () => {
    // DEFENSIVE refuses to create this trigger, so the file is patched: ft_datx becomes ft_data.
    const file = await craft("CREATE TRIGGER t_update AFTER UPDATE ON t BEGIN INSERT INTO ft_datx (id, block) VALUES (999, x'00'); END", (bytes) =>
      replaceText(bytes, 'INSERT INTO ft_datx', 'INSERT INTO ft_data'),
    );
    const db = await open(file, { readers: 1 });
    try {
      const error = await rejection(db.run('UPDATE t SET v = v + 10'));
      expect(error).toBeInstanceOf(SqliteError);
      expect(error.code).toBe('SQLITE_ERROR');
      expect(error.message).toMatch(/shadow table|may not be modified|unsafe/);
      expect(await db.all('SELECT v FROM t ORDER BY id')).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }]);
      expect(await db.get('SELECT count(*) AS n FROM ft_data WHERE id = 999')).toEqual({ n: 0 });
      await db.run("INSERT INTO ft (ft) VALUES ('integrity-check')");
      expect(await db.all("SELECT rowid FROM ft WHERE ft MATCH 'hostile'")).toEqual([{ rowid: 2 }]);
      await expectServing(db);
    } finally {
      await db.close();
    }
  });

  it('DEFENSIVE: direct writes to a shadow table and to sqlite_schema are refused', async () => {
    const db = await open(await craft(), { readers: 1 });
    try {
      const shadow = await rejection(db.run("INSERT INTO ft_data VALUES (998, x'00')"));
      expect(shadow).toBeInstanceOf(SqliteError);
      expect(shadow.message).toMatch(/ft_data may not be modified/);
      const schema = await rejection(db.exec("PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = 'CREATE TABLE audit (y)' WHERE name = 'audit'"));
      expect(schema).toBeInstanceOf(SqliteError);
      expect(schema.message).toMatch(/may not be modified/);
      const trigger = await rejection(db.exec("CREATE TRIGGER bad AFTER UPDATE ON t BEGIN INSERT INTO ft_data VALUES (997, x'00'); END"));
      expect(trigger).toBeInstanceOf(SqliteError);
      expect(trigger.message).toMatch(/shadow table/);
      await expectServing(db);
    } finally {
      await db.close();
    }
  });

  it('a view that never ends is stopped by the timeout; a circular view is an error', async () => {
    const file = await craft(`
      CREATE VIEW v_forever AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c;
    `);
    const db = await open(file, { readers: 1 });
    try {
      await expect(db.get('SELECT n FROM v_forever', [], { timeout: 200 })).rejects.toBeInstanceOf(OperationTimeoutError);
      await db.exec('CREATE VIEW v_a AS SELECT * FROM t');
      await db.exec('CREATE VIEW v_b AS SELECT * FROM v_a; DROP VIEW v_a; CREATE VIEW v_a AS SELECT * FROM v_b');
      const circular = await rejection(db.get('SELECT * FROM v_a'));
      expect(circular).toBeInstanceOf(SqliteError);
      expect(circular.message).toMatch(/circularly defined/);
      await expectServing(db);
    } finally {
      await db.close();
    }
  });
});

describe('damaged or lying files', () => {
  const headers: { name: string; patch: (bytes: Buffer) => void; code: string }[] = [
    { name: 'a wrong magic string', patch: (b) => b.write('SQLite format 4', 0, 'latin1'), code: 'SQLITE_NOTADB' },
    { name: 'a page size that is not a power of two', patch: (b) => b.writeUInt16BE(1000, 16), code: 'SQLITE_NOTADB' },
    { name: 'a page count far beyond the file (2^31 - 16 pages)', patch: (b) => b.writeUInt32BE(0x7ffffff0, 28), code: 'SQLITE_CORRUPT' },
    { name: 'the schema records on page 1 zeroed', patch: (b) => b.fill(0, 600, b.readUInt16BE(16)), code: 'SQLITE_CORRUPT' },
    { name: 'schema SQL that does not parse', patch: (b) => replaceText(b, 'CREATE TABLE audit', 'CREATE TABLX audit'), code: 'SQLITE_CORRUPT' },
  ];
  for (const header of headers) {
    it(`${header.name}: open() rejects with ${header.code} and leaves the file as it was`, async () => {
      const file = await craft(undefined, header.patch);
      const before = readFileSync(file);
      const error = await rejection(open(file, { readers: 2 }));
      expect(error).toBeInstanceOf(SqliteError);
      expect(error.code, error.message).toBe(header.code);
      expect(statSync(file).size).toBe(before.length);
      expect(readFileSync(file).equals(before)).toBe(true);
    });
  }

  it('a b-tree page that points to itself: SQLITE_CORRUPT on the scan, and the pool goes on serving', async () => {
    const file = await craft("INSERT INTO t (v) SELECT randomblob(200) FROM generate_series(1, 2000)".replace('generate_series(1, 2000)', '(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) SELECT x FROM c)'));
    const probe = await open(file, { readers: 1 });
    const { rootpage } = (await probe.get<{ rootpage: number }>("SELECT rootpage FROM sqlite_schema WHERE name = 't'"))!;
    await probe.close();
    const bytes = readFileSync(file);
    const pageSize = bytes.readUInt16BE(16);
    const at = (rootpage - 1) * pageSize;
    expect(bytes[at], 'the root of t is an interior table page').toBe(0x05);
    // The right-most child pointer of the root now names the root itself: a cycle.
    bytes.writeUInt32BE(rootpage, at + 8);
    writeFileSync(file, bytes);
    const db = await open(file, { readers: 1 });
    try {
      const error = await rejection(db.get('SELECT count(*) AS n, sum(length(v)) AS s FROM t'));
      expect(error).toBeInstanceOf(SqliteError);
      expect(error.code).toBe('SQLITE_CORRUPT');
      // integrity_check either lists the damage or meets it itself.
      const check = await db.all<{ integrity_check: string }>('PRAGMA integrity_check').then(
        (rows) => rows.map((row) => row.integrity_check),
        (failure: SqliteError) => [failure.code],
      );
      expect(check.length).toBeGreaterThan(0);
      expect(check[0]).not.toBe('ok');
      expect(await db.get('SELECT count(*) AS n FROM audit')).toEqual({ n: 0 });
      expect(await db.get('SELECT 1 AS one')).toEqual({ one: 1 });
    } finally {
      await db.close();
    }
  });
});
