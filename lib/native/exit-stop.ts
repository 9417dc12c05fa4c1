// Owns what happens to the pools still open when the process exits through process.exit(): Node
// runs no environment cleanup hook for the main thread then, so the addon's own
// (which stops a pool when its environment ends) would not run, and the connections would never
// be closed. On the process's 'exit' event each such pool is stopped as that hook stops it:
// whatever runs is interrupted, the connections are closed (the last to close checkpoints the WAL
// into the database file and removes the -wal and -shm files) and the threads joined. Pools are
// held weakly: one dropped without close() is still collected. Main thread only (a worker's
// environment always runs the cleanup hook). Runs on the JS thread.

import { isMainThread } from 'node:worker_threads';

/** What stopping a pool at exit needs of its native side. */
interface Stoppable {
  abort(): void;
}

const running = new Set<WeakRef<Stoppable>>();
const refs = new WeakMap<Stoppable, WeakRef<Stoppable>>();
let listening = false;

function stopAll(): void {
  for (const ref of running) {
    try {
      ref.deref()?.abort();
    } catch {
      // Best effort on the way out: the next pool is stopped all the same.
    }
  }
  running.clear();
}

/** Stops `native` when the process exits with it still open (see stoppedAtClose). */
export function stopAtExit(native: Stoppable): void {
  // A worker thread's environment is torn down however it ends (process.exit() in it included),
  // and the addon's cleanup hook stops its pools then; its 'exit' event may come while it is
  // being terminated, when calls into the addon are not safe.
  if (!isMainThread) return;
  if (!listening) {
    listening = true;
    process.on('exit', stopAll);
  }
  // Pools dropped without close() leave their reference behind: swept now and then.
  if (running.size >= 1024) for (const ref of running) if (ref.deref() === undefined) running.delete(ref);
  const ref = new WeakRef(native);
  refs.set(native, ref);
  running.add(ref);
}

/** `native` was closed (or its open failed): nothing to stop at exit. */
export function stoppedAtClose(native: Stoppable): void {
  const ref = refs.get(native);
  if (ref !== undefined) running.delete(ref);
}
