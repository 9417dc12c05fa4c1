// Owns the ledger table _litepool_migrations: its definition, and reading and writing its rows.
// One row per version: applied (with its checksum), or running / failed for a
// `-- litepool:no-transaction` migration that did not finish; a baseline's row lists the versions
// it stands for (`covers`). Every function takes the connection
// it runs on (the migration lease, or a read snapshot), so the caller decides the transaction.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lease } from '../api/lease.ts';
import { NO_TIMEOUT } from './lock.ts';
import { compareVersions, isVersion } from './semver.ts';

export const LEDGER_TABLE = '_litepool_migrations';

/** Ledger statements are never cut short by the pool's queryTimeout (a migration is not either). */
const UNBOUNDED = { timeout: NO_TIMEOUT } as const;

const CREATE_LEDGER = `CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (
  version TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('baseline', 'migration')),
  checksum TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('applied', 'running', 'failed')),
  applied_at TEXT NOT NULL,
  duration_ms INTEGER,
  litepool_version TEXT NOT NULL,
  error TEXT,
  covers TEXT
)`;

/** Added to a ledger created before it (by an older release) when a baseline is recorded there. */
const ADD_COVERS = `ALTER TABLE ${LEDGER_TABLE} ADD COLUMN covers TEXT`;

/** One row of the ledger. */
export interface LedgerRow {
  version: string;
  name: string;
  kind: 'baseline' | 'migration';
  checksum: string;
  state: 'applied' | 'running' | 'failed';
  /** ISO 8601: when it was applied (or started, for running and failed rows). */
  appliedAt: string;
  durationMs: number | null;
  litepoolVersion: string;
  error: string | null;
  /**
   * A baseline's: the migration versions it stands for (those at or below it in the source when
   * it was recorded). null for a baseline recorded by an older release: it stands for every
   * version at or below its own.
   */
  covers: string[] | null;
}

/** The SQL operations the ledger needs from a connection (a lease or a snapshot). */
export type LedgerConnection = Pick<Lease, 'get' | 'all' | 'run' | 'exec'>;

type Connection = Pick<LedgerConnection, 'get' | 'all'>;

let version: string | undefined;

/** litepool's own version (from its package.json), recorded with every row. */
export function litepoolVersion(): string {
  if (version === undefined) {
    try {
      // lib/migrations/ and dist/migrations/ both sit two levels below the package root.
      const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
      version = String((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

/** Creates the ledger table when missing (inside the caller's write transaction). */
export function ensureLedger(conn: Pick<LedgerConnection, 'exec'>): Promise<void> {
  return conn.exec(CREATE_LEDGER, UNBOUNDED);
}

/** Every row, ordered by version (none when the table does not exist: nothing is created). */
export async function readLedger(conn: Connection): Promise<LedgerRow[]> {
  const exists = await conn.get<{ found: number }>(`SELECT 1 AS found FROM sqlite_schema WHERE type = 'table' AND name = ?`, [LEDGER_TABLE], UNBOUNDED);
  if (!exists) return [];
  // Every column: a ledger created by an older release has no `covers`.
  const rows = await conn.all<Record<string, unknown>>(
    `SELECT * FROM ${LEDGER_TABLE}`,
    undefined,
    UNBOUNDED,
  );
  const ledger = rows
    .filter((row) => typeof row.version === 'string' && isVersion(row.version))
    .map(
      (row): LedgerRow => ({
        version: row.version as string,
        name: String(row.name),
        kind: row.kind === 'baseline' ? 'baseline' : 'migration',
        checksum: String(row.checksum),
        state: row.state === 'running' || row.state === 'failed' ? row.state : 'applied',
        appliedAt: String(row.applied_at),
        // A bigint with safeIntegers.
        durationMs: typeof row.duration_ms === 'number' || typeof row.duration_ms === 'bigint' ? Number(row.duration_ms) : null,
        litepoolVersion: String(row.litepool_version),
        error: typeof row.error === 'string' ? row.error : null,
        covers: row.kind === 'baseline' ? coversOf(row.covers) : null,
      }),
    );
  return ledger.sort((a, b) => compareVersions(a.version, b.version));
}

/** The versions a `covers` value lists; null when it lists none (an older release's row, or a value edited by hand). */
function coversOf(value: unknown): string[] | null {
  if (typeof value !== 'string') return null;
  try {
    const list: unknown = JSON.parse(value);
    return Array.isArray(list) && list.every((entry) => typeof entry === 'string') ? (list as string[]) : null;
  } catch {
    return null;
  }
}

/**
 * Records a version (a new row, or the existing row replaced); a baseline's with the versions it
 * covers (the `covers` column is added first to a ledger an older release created).
 */
export async function writeRow(
  conn: Pick<LedgerConnection, 'run' | 'get' | 'exec'>,
  row: Pick<LedgerRow, 'version' | 'name' | 'kind' | 'checksum' | 'state'> & { durationMs?: number | null; error?: string | null; covers?: readonly string[] },
): Promise<unknown> {
  const values = [row.version, row.name, row.kind, row.checksum, row.state, new Date().toISOString(), row.durationMs ?? null, litepoolVersion(), row.error ?? null];
  const columns = 'version, name, kind, checksum, state, applied_at, duration_ms, litepool_version, error';
  if (row.covers === undefined) return conn.run(`INSERT OR REPLACE INTO ${LEDGER_TABLE} (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, values, UNBOUNDED);
  const found = await conn.get(`SELECT 1 AS found FROM pragma_table_info('${LEDGER_TABLE}') WHERE name = 'covers'`, undefined, UNBOUNDED);
  if (!found) await conn.exec(ADD_COVERS, UNBOUNDED);
  return conn.run(
    `INSERT OR REPLACE INTO ${LEDGER_TABLE} (${columns}, covers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [...values, JSON.stringify(row.covers)],
    UNBOUNDED,
  );
}

/** Changes a row's state (keeping when it started), with its duration or error. */
export function updateRow(
  conn: Pick<LedgerConnection, 'run'>,
  versionOf: string,
  change: { state: LedgerRow['state']; durationMs?: number | null; error?: string | null },
): Promise<unknown> {
  return conn.run(`UPDATE ${LEDGER_TABLE} SET state = ?, duration_ms = ?, error = ? WHERE version = ?`, [
    change.state,
    change.durationMs ?? null,
    change.error ?? null,
    versionOf,
  ], UNBOUNDED);
}

/** Replaces a row's checksum. */
export function updateChecksum(conn: Pick<LedgerConnection, 'run'>, versionOf: string, checksum: string): Promise<unknown> {
  return conn.run(`UPDATE ${LEDGER_TABLE} SET checksum = ? WHERE version = ?`, [checksum, versionOf], UNBOUNDED);
}

/** Deletes a row. */
export function deleteRow(conn: Pick<LedgerConnection, 'run'>, versionOf: string): Promise<unknown> {
  return conn.run(`DELETE FROM ${LEDGER_TABLE} WHERE version = ?`, [versionOf], UNBOUNDED);
}
