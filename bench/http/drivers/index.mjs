// Owns the table of drivers the HTTP benchmark compares: each entry names the module that opens
// it inside a server process, in the order the tables list them.

export const DRIVERS = [
  { id: 'litepool', label: 'litepool', module: './litepool.mjs' },
  { id: 'better-sqlite3', label: 'better-sqlite3', module: './better-sqlite3.mjs' },
  { id: 'sqlite3x4', label: 'sqlite3 (4 conns)', module: './sqlite3.mjs' },
  { id: 'none', label: 'no database', module: './none.mjs', ceiling: true },
  { id: 'none-batched', label: 'no database, batched', module: './none-batched.mjs', ceiling: true },
];

export const BASELINE = 'better-sqlite3';
/** The ceilings: the same server answering a constant row at once, and a turn later in batches. */
export const CEILINGS = DRIVERS.filter((d) => d.ceiling).map((d) => d.id);
/** The synchronous ceiling (kept in saved results for older readers). */
export const CEILING = 'none';

export const driverById = (id) => DRIVERS.find((d) => d.id === id);

/** Loads a driver's module (in the server process only, so each process loads one driver). */
export const loadDriver = (id) => import(new URL(driverById(id).module, import.meta.url));
