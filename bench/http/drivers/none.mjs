// Owns the "no database" connection of an HTTP benchmark server: it answers every query at once
// with a constant row of the same shape as the real one, so the same server with it measures the
// ceiling that HTTP parsing, routing and JSON serialization leave to any driver.

export const id = 'none';
export const label = 'no database';
export const kind = 'sync';

export async function open() {
  let rowid = 0;
  return {
    get: (_sql, params) => ({
      id: params[0],
      name: `user ${params[0]} lorem ipsum`,
      email: `user${params[0]}@example.com`,
      score: 4242.42,
      created_at: 1_700_000_000 + params[0],
    }),
    run: () => ({ changes: 1, lastInsertRowid: ++rowid }),
    close: () => {},
  };
}
