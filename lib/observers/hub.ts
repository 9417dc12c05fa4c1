// Owns a pool's observers: attaching them (checked, each hook read once: checked-observer.ts;
// onAttach once per pool; litepool's own told of every attachment and removal) and removing them,
// what they ask for (parameters, statement counters, query plans), and delivering events so that
// an observer that throws never changes an outcome (warned once per observer, code
// LITEPOOL_OBSERVER; a hook that returns a promise which rejects counts as one that threw). Only
// `beforeQuery` may throw on purpose: that is a veto; it must decide synchronously (an async
// function is refused when attached; a promise it returns vetoes, as a misuse). Paired events (a
// transaction's begin and its commit or rollback, a migration's start and its applied or failed)
// reach an observer both or neither: the end goes only to the observers that got the start and
// stayed attached since. Runs on the JS thread.

import { PoolClosedError, misuse } from '../errors.ts';
import type {
  AcquireEvent,
  BeforeQueryEvent,
  ConnectionEvent,
  MigrationEvent,
  ObservedPool,
  Observer,
  PoolStats,
  QueryEvent,
  QueueEvent,
  StatementCounters,
  TransactionEvent,
} from '../types.ts';
import { checkedObserver, type CheckedObserver, type Hook } from './checked-observer.ts';
import type { QueryPlans } from './query-plans.ts';

export { checkObserver, checkObservers } from './checked-observer.ts';

type EventOf<H extends Hook> = Parameters<NonNullable<Observer[H]>>[0];
/** Hooks whose events come in pairs: a start, then one end. */
type PairedHook = 'onTransaction' | 'onMigration';
/** Delivers the end of a pair to the observers that got its start. */
export type PairEnd<H extends PairedHook> = (event: EventOf<H>) => void;

/** Observers that threw once already (across pools: one warning per observer). */
const warned = new WeakSet<object>();

function warn(observer: Observer, hook: string, error: unknown, rejected = false): void {
  if (warned.has(observer)) return;
  warned.add(observer);
  const reason = error instanceof Error ? error.message : String(error);
  const what = rejected ? `'s ${hook} rejected` : ` threw in ${hook}`;
  process.emitWarning(`a litepool observer${what} (ignored; later throws of this observer are not reported): ${reason}`, {
    code: 'LITEPOOL_OBSERVER',
  });
}

/**
 * What a hook returned, when it is a thenable (an async hook): its rejection is reported like a
 * throw, so it can neither change an outcome nor become an unhandled rejection. A `then` that
 * cannot be read or called counts as a throw.
 */
function settleReturned(observer: Observer, hook: string, returned: unknown): void {
  if ((typeof returned !== 'object' && typeof returned !== 'function') || returned === null) return;
  try {
    const then = (returned as { then?: unknown }).then;
    if (typeof then === 'function') then.call(returned, undefined, (error: unknown) => warn(observer, hook, error, true));
  } catch (error) {
    warn(observer, hook, error);
  }
}

/** True for a value that has a callable `then` (a promise); reading `then` may throw. */
function isThenable(value: unknown): boolean {
  return ((typeof value === 'object' && value !== null) || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/** The pool whose QueryEvent is being delivered (QueryProfiler looks plans up on it). */
let delivering: ObservedPool | undefined;

/**
 * The pool whose event the hook running now was called with (`onQuery` only), or undefined
 * outside a delivery. One observer may be attached to several pools: this tells them apart.
 */
export function deliveringPool(): ObservedPool | undefined {
  return delivering;
}

/** What litepool's own observers (MetricsCollector) are told each time they are attached to a pool or removed from it. */
export interface AttachmentListener {
  attached(pool: ObservedPool): void;
  detached(pool: ObservedPool): void;
}

const listeners = new WeakMap<object, AttachmentListener>();

/** Tells `listener` whenever `observer` is attached to a pool or removed from it (onAttach runs once per pool, this every time). */
export function followAttachments(observer: object, listener: AttachmentListener): void {
  listeners.set(observer, listener);
}

/** Each pool's hub, by the pool its events name. */
const hubs = new WeakMap<object, ObserverHub>();
/** Calls `fn` once `pool` (as its events name it; no other object) has closed, at once if it has; returns what cancels it. */
export function whenClosed(pool: object, fn: () => void): () => void {
  const hub = hubs.get(pool);
  if (hub?.done) fn();
  else hub?.closeHooks.add(fn);
  return () => void hub?.closeHooks.delete(fn);
}

/** One observer's attachment to the pool: how many times it was added, and what was read of it. */
interface Attachment {
  count: number;
  readonly checked: CheckedObserver;
}

export class ObserverHub {
  /** The database path and the pool (what diagnostics channel contexts name). */
  readonly database: string;
  pool: object = {};
  /** Plan lookups for observers with `wantsQueryPlan` (set once the pool's parts exist). */
  plans: QueryPlans | undefined = undefined;
  /** True while at least one observer is attached: events are built. */
  active = false;
  /** True while some observer has `beforeQuery` or `onQuery`: query-level operations are traced. */
  watchesQueries = false;
  /** Someone asked for parameter values, statement counters, query plans. */
  wantsParams = false;
  wantsCounters = false;
  wantsPlan = false;
  /** Observers with each query hook, as checked (copied on change: delivery may run while one is removed). */
  before: readonly CheckedObserver[] = [];
  onQuery: readonly CheckedObserver[] = [];
  #all: readonly CheckedObserver[] = [];
  /**
   * Each attached observer's attachment: how many times it was added (it stays until removed as
   * often). A new object whenever it is added anew: a pair's end skips one removed since its start.
   */
  readonly #attachments = new Map<Observer, Attachment>();
  /** Observers that got onAttach from this pool. */
  readonly #attached = new WeakSet<Observer>();
  /** Migrations started, by version: who got each start (runs apply one migration at a time). */
  readonly #migrations = new Map<string, PairEnd<'onMigration'>>();
  #view: ObservedPool | undefined;
  /** The pool has closed (closed()); until then, closeHooks are what runs when it has (whenClosed). */
  done = false;
  readonly closeHooks = new Set<() => void>();

  constructor(database: string) {
    this.database = database;
  }

  /**
   * Names the pool (diagnostics channel contexts) and sets what onAttach hands observers: the
   * pool's path, state and stats, and reads no observer sees (a statement that writes is refused
   * before it runs: QueryPlans.read()).
   */
  setPool(pool: { readonly path: string; readonly closed: boolean; stats(): PoolStats }): void {
    this.pool = pool;
    hubs.set(pool, this);
    this.#view = {
      get path() {
        return pool.path;
      },
      get closed() {
        return pool.closed;
      },
      stats: () => pool.stats(),
      all: (sql) => (pool.closed ? Promise.reject(new PoolClosedError()) : this.plans!.read(sql, pool.stats().readers.size === 0)),
    };
  }

  /** onConnection for every connection of a pool with `readers` readers: opened or closed. */
  connections(event: 'open' | 'close', readers: number): void {
    if (!this.has('onConnection')) return;
    if (event === 'open') this.connection({ event, role: 'writer', id: -1 });
    for (let id = 0; id < readers; id++) this.connection({ event, role: 'reader', id });
    if (event === 'close') this.connection({ event, role: 'writer', id: -1 });
  }

  /** The pool has closed: litepool's own observers let it go (as when removed), and whenClosed() callbacks run. */
  closed(): void {
    if (this.done) return;
    this.done = true;
    if (this.#view) for (const checked of this.#all) listeners.get(checked.observer)?.detached(this.#view);
    for (const fn of this.closeHooks) if (this.closeHooks.delete(fn)) fn();
  }

  /**
   * Attaches `observer` (checked now, or as `prechecked`: open()'s option check read it); returns
   * the function that removes it (calling it again does nothing). An observer attached twice gets each event once and stays until both are removed.
   */
  add(observer: unknown, prechecked?: CheckedObserver): () => void {
    // Attached already: checked then (its hooks are read once per attachment).
    let attachment = this.#attachments.get(observer as Observer);
    if (attachment !== undefined) attachment.count++;
    else {
      const checked = prechecked ?? checkedObserver(observer);
      const added: Attachment = { count: 1, checked };
      attachment = added;
      this.#attachments.set(checked.observer, added);
      this.#all = [...this.#all, checked];
      this.#update();
      if (!this.#attached.has(checked.observer)) {
        this.#attached.add(checked.observer);
        if (checked.onAttach && this.#view) this.#call(checked, 'onAttach', this.#view);
      }
      if (this.#view && !this.done) listeners.get(checked.observer)?.attached(this.#view);
    }
    const mine = attachment;
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      if (--mine.count > 0) return;
      const checked = mine.checked;
      this.#attachments.delete(checked.observer);
      this.#all = this.#all.filter((o) => o !== checked);
      this.#update();
      if (this.#view) listeners.get(checked.observer)?.detached(this.#view);
    };
  }

  /**
   * Runs every `beforeQuery`; the first throw vetoes (the caller wraps it in a PolicyError). One
   * that returns a promise vetoes too (a misuse: it could not decide in time); the promise's
   * rejection, if any, is left handled.
   */
  beforeQuery(event: BeforeQueryEvent): void {
    for (const checked of this.before) {
      const returned: unknown = (checked.beforeQuery as (q: BeforeQueryEvent) => unknown).call(checked.observer, event);
      if (returned !== undefined && isThenable(returned)) {
        try {
          Promise.resolve(returned).catch(() => {});
        } catch {
          // A thenable whose then throws: nothing is left pending.
        }
        throw misuse(`beforeQuery returned a promise: a policy must decide synchronously (throw to veto), so the operation was refused`);
      }
    }
  }

  /**
   * Delivers a QueryEvent (built without `params` and `counters`); observers with `wantsParams`
   * or `wantsStatementCounters` get a copy with them.
   */
  query(event: QueryEvent, params: readonly unknown[] | undefined, counters: StatementCounters | undefined): void {
    const observers = this.onQuery;
    const extras = params !== undefined || counters !== undefined;
    const outer = delivering;
    delivering = this.#view;
    for (let i = 0; i < observers.length; i++) {
      const checked = observers[i]!;
      let e = event;
      if (extras) {
        const withParams = params !== undefined && checked.wantsParams;
        const withCounters = counters !== undefined && checked.wantsStatementCounters;
        if (withParams || withCounters) {
          e = { ...event };
          if (withParams) e.params = params;
          if (withCounters) e.counters = counters;
        }
      }
      try {
        const returned: unknown = (checked.onQuery as (q: QueryEvent) => unknown).call(checked.observer, e);
        if (returned !== undefined) settleReturned(checked.observer, 'onQuery', returned);
      } catch (error) {
        warn(checked.observer, 'onQuery', error);
      }
    }
    delivering = outer;
  }

  /** A transaction began (onTransaction 'begin'); returns what delivers its commit or rollback. */
  transactionBegan(event: TransactionEvent): PairEnd<'onTransaction'> {
    return this.#start('onTransaction', event);
  }

  acquire(event: AcquireEvent): void {
    this.emit('onAcquire', event);
  }

  connection(event: ConnectionEvent): void {
    this.emit('onConnection', event);
  }

  /** A write queue's event (onQueue); nothing is built while no observer is attached. */
  readonly queueEvent = (kind: QueueEvent['kind'], depth: number): void => {
    if (this.active) this.emit('onQueue', { kind, depth });
  };

  /** A migration started, was applied or failed: its end goes to the observers that got its start. */
  migration(event: MigrationEvent): void {
    if (event.phase === 'start') {
      this.#migrations.set(event.version, this.#start('onMigration', event));
      return;
    }
    const end = this.#migrations.get(event.version);
    this.#migrations.delete(event.version);
    end?.(event);
  }

  /**
   * Delivers the start of a pair to the observers attached now, and returns what delivers its end
   * to those of them still attached (not removed in between): an observer attached meanwhile gets
   * neither, so it never sees an end without its start.
   */
  #start<H extends PairedHook>(hook: H, event: EventOf<H>): PairEnd<H> {
    const got: Attachment[] = [];
    for (const checked of this.#all) {
      const attachment = this.#attachments.get(checked.observer);
      // One removed by an earlier observer's hook during this delivery gets nothing.
      if (checked[hook] === undefined || attachment === undefined) continue;
      got.push(attachment);
      this.#call(checked, hook, event);
    }
    return (end) => {
      for (const attachment of got) {
        const checked = attachment.checked;
        if (this.#attachments.get(checked.observer) === attachment) this.#call(checked, hook, end);
      }
    };
  }

  /** True when some observer implements `hook`. */
  has(hook: Hook): boolean {
    for (const checked of this.#all) if (checked[hook] !== undefined) return true;
    return false;
  }

  /** Calls `hook` of every observer that has it; a throw is warned once and ignored. */
  emit<H extends Exclude<Hook, 'beforeQuery' | 'onQuery' | 'onAttach'>>(hook: H, event: EventOf<H>): void {
    for (const checked of this.#all) if (checked[hook] !== undefined) this.#call(checked, hook, event);
  }

  #call(checked: CheckedObserver, hook: Hook, event: unknown): void {
    try {
      const returned: unknown = (checked[hook] as (e: unknown) => unknown).call(checked.observer, event);
      if (returned !== undefined) settleReturned(checked.observer, hook, returned);
    } catch (error) {
      warn(checked.observer, hook, error);
    }
  }

  #update(): void {
    const all = this.#all;
    this.active = all.length > 0;
    // Nobody left to get the end of a migration started before (the runner tells none while inactive).
    if (!this.active) this.#migrations.clear();
    this.watchesQueries = all.some((o) => o.beforeQuery !== undefined || o.onQuery !== undefined);
    this.before = all.filter((o) => o.beforeQuery !== undefined);
    this.onQuery = all.filter((o) => o.onQuery !== undefined);
    this.wantsParams = all.some((o) => o.wantsParams && o.onQuery !== undefined);
    this.wantsCounters = all.some((o) => o.wantsStatementCounters && o.onQuery !== undefined);
    this.wantsPlan = all.some((o) => o.wantsQueryPlan && o.beforeQuery !== undefined);
  }
}
