// Owns the public types of the operations toolkit (backups, integrity checks, maintenance) and of
// db.schema. The checkpoint types live in types.ts (the onCheckpoint event uses them, and types.ts
// imports nothing) and are re-exported here.

export type { CheckpointMode, CheckpointResult } from './types.ts';

/** Options of `db.backup()`. */
export interface BackupOptions {
  /** Pages copied per step (default 256); each step is one turn of the writer, writes run between steps. */
  pagesPerStep?: number;
  /** Told after every step; `remainingPages` only goes down and ends at 0. */
  onProgress?: (progress: BackupProgress) => void;
  /** Aborting stops the backup and removes its temporary file; `dest` is left untouched. */
  signal?: AbortSignal;
}

/** Progress of a backup, after one step. */
export interface BackupProgress {
  totalPages: number;
  remainingPages: number;
}

/** What `db.backup()` and `db.vacuumInto()` report. */
export interface BackupResult {
  /** Pages in the copy. */
  pages: number;
  durationMs: number;
}

/** Options of `db.integrityCheck()`. */
export interface IntegrityCheckOptions {
  /** PRAGMA quick_check instead of integrity_check: skips index contents, much faster (default false). */
  quick?: boolean;
  /** Stop after this many problems (default 100). */
  maxErrors?: number;
}

/** What `db.integrityCheck()` reports. */
export interface IntegrityCheckResult {
  ok: boolean;
  /** One line per problem, as SQLite words it (empty when ok). */
  problems: string[];
}

/** A row that breaks a foreign key constraint (`db.foreignKeyCheck()`). */
export interface ForeignKeyViolation {
  /** The table holding the row. */
  table: string;
  /** Its rowid (null for a WITHOUT ROWID table). */
  rowid: number | bigint | null;
  /** The table it should refer to. */
  parent: string;
  /** Which foreign key of `table` it breaks (the `id` of `db.schema.foreignKeys(table)`). */
  fkid: number;
}

/** Options of `db.vacuum()`. */
export interface VacuumOptions {
  /**
   * Free up to this many pages with `PRAGMA incremental_vacuum` instead of rebuilding the file
   * (databases with `auto_vacuum = INCREMENTAL` only; 0 frees every free page).
   */
  incremental?: number;
}

/** A table or view (`db.schema.tables()`). */
export interface TableInfo {
  name: string;
  /** 'table', 'view', 'virtual' or 'shadow' (PRAGMA table_list). */
  type: string;
  /** Columns, hidden ones included. */
  columnCount: number;
  withoutRowid: boolean;
  strict: boolean;
}

/** A column (`db.schema.columns()`). */
export interface ColumnInfo {
  name: string;
  /** The declared type, as written ('' when none). */
  type: string;
  notNull: boolean;
  /** The default value's SQL text, or null. */
  defaultValue: string | null;
  /** Position in the primary key (1, 2, ...), 0 when not part of it. */
  primaryKey: number;
  /** 0 for ordinary columns; 1 hidden (virtual tables), 2 and 3 generated (virtual, stored). */
  hidden: number;
}

/** An index (`db.schema.indexes()`). */
export interface IndexInfo {
  name: string;
  unique: boolean;
  /** 'c' CREATE INDEX, 'u' a UNIQUE constraint, 'pk' the PRIMARY KEY. */
  origin: string;
  partial: boolean;
  /** Indexed columns in order (null for an expression). */
  columns: (string | null)[];
}

/** A foreign key constraint (`db.schema.foreignKeys()`). */
export interface ForeignKeyInfo {
  id: number;
  /** The parent table. */
  table: string;
  /** Child columns, in order. */
  from: string[];
  /** Parent columns, in order (null: the parent's primary key). */
  to: (string | null)[];
  onUpdate: string;
  onDelete: string;
  match: string;
}

/** Options of `db.schema.createIndex()`. */
export interface CreateIndexOptions {
  /** The index name (default `<table>_<columns>_idx`). */
  name?: string;
  unique?: boolean;
  /** Do nothing when an index of that name exists (default false). */
  ifNotExists?: boolean;
}

/** Options of `db.schema.addColumn()`. */
export interface AddColumnOptions {
  /** Do nothing when the table already has the column (default false). */
  ifNotExists?: boolean;
  notNull?: boolean;
  /** A constant default (NOT NULL columns need one). */
  default?: null | number | bigint | string | boolean | Uint8Array;
}

/** An index column: a name, or a name with a sort order. */
export type IndexColumn = string | { name: string; order?: 'asc' | 'desc' };
