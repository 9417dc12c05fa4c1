// Covers what close() leaves on disk: a pool that closes is the last user of its database file,
// so its -wal and -shm go with it (the readers close before the writer, so that one connection
// knows it is the last). Repeated, as two connections closing at once left them now and then.

import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { open } from '../lib/index.ts';
import { tempPools, TABLE_T } from './helpers/pools.ts';

const pools = tempPools('close-removes-wal');

describe('close() and the WAL files', () => {
  it('leaves only the database file after each of 300 open/read/close cycles', async () => {
    const path = pools.file();
    const setup = await open(path, { readers: 1 });
    await setup.exec(TABLE_T);
    await setup.run("INSERT INTO t (v) VALUES ('a')");
    await setup.close();
    const left: number[] = [];
    for (let cycle = 0; cycle < 300; cycle++) {
      const db = await open(path, { readers: 1, create: false });
      await db.all('SELECT v FROM t');
      if (cycle % 2 === 1) await new Promise((resolve) => setTimeout(resolve, 2)); // varied timing
      await db.close();
      if (existsSync(`${path}-wal`) || existsSync(`${path}-shm`)) left.push(cycle);
    }
    expect(left).toEqual([]);
  });
});
