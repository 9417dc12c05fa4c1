// Owns the correctness check made before anything is measured: every driver must return the same
// rows for the same point, heavy and post queries on the shared dataset, or the run stops.

/** Throws when a driver answers a probe query differently from the first driver. */
export async function crossCheck(ctx) {
  const probes = [
    [ctx.sql.point, [4242]],
    [ctx.sql.heavy, [7]],
    [ctx.sql.postById, [7]],
  ];
  let expected;
  for (const driver of ctx.drivers) {
    const conn = await driver.open(ctx.file);
    try {
      const got = [];
      for (const [sql, params] of probes) got.push(JSON.stringify(await conn.get(sql, params)));
      expected ??= got;
      for (let i = 0; i < probes.length; i++) {
        if (got[i] !== expected[i]) throw new Error(`${driver.label} answered ${got[i]} to ${probes[i][0]}; expected ${expected[i]}`);
      }
    } finally {
      await conn.close();
    }
  }
}
