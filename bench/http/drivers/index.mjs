// Owns the table of drivers the HTTP benchmark compares: each entry names the module that opens
// it inside a server process, in the order the tables list them.

export const DRIVERS = [
  { id: 'litepool', label: 'litepool', module: './litepool.mjs' },
  { id: 'better-sqlite3', label: 'better-sqlite3', module: './better-sqlite3.mjs' },
  { id: 'sqlite3x4', label: 'sqlite3 (4 conns)', module: './sqlite3.mjs' },
  { id: 'none', label: 'no database', module: './none.mjs', ceiling: true },
];

export const BASELINE = 'better-sqlite3';
export const CEILING = 'none';

export const driverById = (id) => DRIVERS.find((d) => d.id === id);

/** Loads a driver's module (in the server process only, so each process loads one driver). */
export const loadDriver = (id) => import(new URL(driverById(id).module, import.meta.url));
