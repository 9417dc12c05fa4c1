// Owns the list of workloads the suite runs, in the order it runs them, each name mapped to the
// module that measures it (one module per workload in this folder). A workload takes the run's
// context ({ drivers, file, dir, cfg, concurrencies, shape, sql, BetterSqlite3, label }), prints
// its table and returns its figures for the results file.

import { classic } from './classic.mjs';
import { connectionOverhead } from './connection-overhead.mjs';
import { eventLoop } from './event-loop.mjs';
import { heavy } from './heavy.mjs';
import { memory } from './memory.mjs';
import { mixed } from './mixed.mjs';
import { pointSelect } from './point-select.mjs';
import { write } from './write.mjs';

export { memoryChild } from './memory.mjs';

/** Every workload by name, in run order. */
export const WORKLOADS = {
  'point-select': pointSelect,
  'connection-overhead': connectionOverhead,
  heavy,
  classic,
  'event-loop': eventLoop,
  mixed,
  memory,
  write,
};
