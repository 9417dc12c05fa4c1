// Owns each run of the onConnection hook on a new connection: the handle it gets (on a reader,
// query_only lifted for the hook alone) and its bound: a hook that has not settled within the
// pool's acquireTimeout fails as a hook that threw, so neither open() nor close() (which waits
// for the replacements under way, and so for their hooks) waits longer than that for one. A hook
// that did not settle, or that open() let go of when another connection's hook failed, is not
// waited for again: its late settlement is ignored, what it still runs on the connection is
// cancelled, and its handle has ended, so that its later calls reject (ScopeEndedError).
// Runs on the JS thread.

import { ConnectionHandle } from '../api/connection-handle.ts';
import type { PoolContext } from '../api/context.ts';
import { LitepoolError } from '../errors.ts';
import type { ConnectionHook } from '../input/options.ts';
import { Op } from '../native/contract.ts';
import type { Route } from '../request/route.ts';

/** How a run of the hook is bounded. */
export interface HookRun {
  /**
   * Someone awaits the run (open(), close()'s last attempt, a migration run): its timer keeps the
   * process alive. A background replacement's does too once close() waits for it (awaited()).
   */
  readonly awaited: boolean;
}

/** The failures of hooks that did not settle (timed out, or let go): close() does not call them again. */
const unsettledFailures = new WeakSet<object>();

/** True when `failure` is that of a hook that did not settle within its bound or was let go. */
export function hookDidNotSettle(failure: unknown): boolean {
  return typeof failure === 'object' && failure !== null && unsettledFailures.has(failure);
}

function unsettled(message: string): LitepoolError {
  const error = new LitepoolError('LITEPOOL_CONNECTION_HOOK', message);
  unsettledFailures.add(error);
  return error;
}

export class HookRunner {
  readonly #context: PoolContext;
  readonly #hook: ConnectionHook | undefined;
  /** Milliseconds a run may take (the pool's acquireTimeout). */
  readonly #bound: number;
  /** Each hook running now: what lets go of it, and its bound's timer. */
  readonly #running = new Map<() => void, NodeJS.Timeout>();

  constructor(context: PoolContext, hook: ConnectionHook | undefined, bound: number) {
    this.#context = context;
    this.#hook = hook;
    this.#bound = bound;
  }

  /** open() failed: lets go of every hook running now (they are not waited for). */
  letGo(): void {
    for (const go of [...this.#running.keys()]) go();
  }

  /** close() waits for the hooks running now: their bounds keep the process alive until then. */
  awaited(): void {
    for (const timer of this.#running.values()) timer.ref();
  }

  /**
   * Runs the hook on the connection `route` reaches. Throws LITEPOOL_CONNECTION_HOOK when it
   * threw, did not settle within the bound, or was let go.
   */
  async run(route: Route, role: 'reader' | 'writer', how: HookRun): Promise<void> {
    const hook = this.#hook;
    if (hook === undefined) return;
    const handle = new ConnectionHandle(this.#context, route, role);
    // Readers run with query_only, which would also refuse the hook's temp views and tables.
    const queryOnly = (on: boolean) => handle.control(Op.Exec, `PRAGMA query_only = ${on ? 'ON' : 'OFF'}`);
    let failure: LitepoolError | undefined;
    try {
      if (role === 'reader') await queryOnly(false);
      const outcome = await this.#settled(() => hook(handle), how);
      if (outcome === 'late') failure = unsettled(`onConnection did not settle within ${this.#bound} ms (acquireTimeout) on a ${role} connection`);
      else if (outcome === 'abandoned') failure = unsettled(`onConnection had not settled on a ${role} connection when open() failed`);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      failure = new LitepoolError('LITEPOOL_CONNECTION_HOOK', `onConnection failed on a ${role} connection: ${reason}`, { cause: error });
    } finally {
      // A hook let go: what it still runs on the connection is cancelled.
      if (failure !== undefined && hookDidNotSettle(failure)) handle.end(failure);
      else handle.end();
      if (role === 'reader') await queryOnly(true);
    }
    if (failure !== undefined) throw failure;
  }

  /** Waits for the hook to settle, within the bound, unless it is let go first. */
  #settled(call: () => unknown, how: HookRun): Promise<'settled' | 'late' | 'abandoned'> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#running.delete(letGo);
      };
      const letGo = (): void => {
        done();
        resolve('abandoned');
      };
      const timer = setTimeout(() => (done(), resolve('late')), this.#bound);
      if (!how.awaited) timer.unref();
      this.#running.set(letGo, timer);
      // A hook that throws at once rejects like one whose promise rejects; a late settlement is ignored.
      (async () => call())().then(
        () => (done(), resolve('settled')),
        (error: unknown) => (done(), reject(error)),
      );
    });
  }
}
