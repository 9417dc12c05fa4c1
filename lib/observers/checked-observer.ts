// Owns checking observers (open()'s `observers`, db.observe()) and what a pool keeps of each: its
// hooks and flags, every one read once, when it is checked. A read that throws (a getter, a
// revoked Proxy, a Proxy trap) is the caller's TypeError (LITEPOOL_INVALID_ARGUMENT), with what
// it threw as the cause. An own key named like a hook or a flag that is neither (a typo such as
// `onQeury`) is refused too. The pool calls the functions read then, with the observer as `this`,
// and reads the observer no more. Runs on the JS thread.

import { describeType, invalidArgument, unreadable } from '../errors.ts';
import type { Observer } from '../types.ts';

export const HOOKS = [
  'beforeQuery',
  'onQuery',
  'onTransaction',
  'onAcquire',
  'onConnection',
  'onCheckpoint',
  'onWal',
  'onQueue',
  'onMigration',
  'onAttach',
] as const;
const FLAGS = ['wantsParams', 'wantsStatementCounters', 'wantsQueryPlan'] as const;
/** How far (letters added, removed, changed or two swapped) a key may be from a known name to be taken for its typo. */
const TYPO_DISTANCE = 2;

export type Hook = (typeof HOOKS)[number];
type HookFunction = (event: never) => unknown;

/** An observer as checked: the observer, and its hooks and flags as they were read then. */
export type CheckedObserver = { readonly observer: Observer } & { readonly [H in Hook]: HookFunction | undefined } & {
  readonly [F in (typeof FLAGS)[number]]: boolean;
};


/** describeType(), for a value whose own reads may throw (a Proxy). */
function describe(value: unknown): string {
  try {
    return describeType(value);
  } catch {
    return typeof value === 'function' ? 'function' : 'an object';
  }
}

/** Reads `observer` (named `name` in errors): an object whose hooks are functions, each read once. */
function readObserver(observer: unknown, name: string): CheckedObserver {
  let isArray = false;
  try {
    isArray = Array.isArray(observer);
  } catch (error) {
    throw unreadable(name, error); // a revoked Proxy
  }
  if (typeof observer !== 'object' || observer === null || isArray) {
    throw invalidArgument(`${name} must be an object with observer hooks, got ${describe(observer)}`);
  }
  const given = observer as Record<string, unknown>;
  const read = (key: string): unknown => {
    try {
      return given[key];
    } catch (error) {
      throw unreadable(`${name}.${key}`, error);
    }
  };
  checkNames(given, name);
  const fields: Record<string, unknown> = { observer };
  for (const hook of HOOKS) {
    const value = read(hook);
    if (value !== undefined && typeof value !== 'function') throw invalidArgument(`${name}.${hook} must be a function, got ${describe(value)}`);
    fields[hook] = value;
  }
  // A veto cannot wait: a promise settles after the operation went ahead.
  if (fields['beforeQuery'] !== undefined) {
    let tag: string;
    try {
      tag = Object.prototype.toString.call(fields['beforeQuery']);
    } catch (error) {
      throw unreadable(`${name}.beforeQuery`, error);
    }
    if (tag === '[object AsyncFunction]') throw invalidArgument(`${name}.beforeQuery must decide synchronously (throw to veto), got an async function`);
  }
  for (const flag of FLAGS) {
    const value = read(flag);
    if (value !== undefined && typeof value !== 'boolean') throw invalidArgument(`${name}.${flag} must be a boolean, got ${describe(value)}`);
    fields[flag] = value === true;
  }
  return fields as CheckedObserver;
}

/**
 * Refuses an own enumerable key of `observer` that is a misspelling of a hook or a flag: within
 * two letters (added, removed, changed or two swapped, in any case) of a known name, as `onQeury`
 * or `OnQuery`; such a hook would never be called. Other keys (a `name`, a class's fields such as
 * `onSlow` or `beforeCount`, hooks of a later version) and methods on a prototype are allowed.
 */
function checkNames(observer: object, name: string): void {
  let keys: string[];
  try {
    keys = Object.keys(observer);
  } catch (error) {
    throw unreadable(name, error);
  }
  const typoOf = (names: readonly string[], key: string) =>
    names.find((known) => known !== key && distance(known.toLowerCase(), key.toLowerCase()) <= TYPO_DISTANCE);
  for (const key of keys) {
    if ((HOOKS as readonly string[]).includes(key) || (FLAGS as readonly string[]).includes(key)) continue;
    const flag = typoOf(FLAGS, key);
    if (flag !== undefined) throw invalidArgument(`unknown observer flag ${name}.${key} (${flag}?); known flags: ${FLAGS.join(', ')}`);
    const hook = typoOf(HOOKS, key);
    if (hook !== undefined) throw invalidArgument(`unknown observer hook ${name}.${key} (${hook}?); known hooks: ${HOOKS.join(', ')}`);
  }
}

/** `observer` as checked now (`name` names it in errors): its hooks and flags read once. */
export function checkedObserver(observer: unknown, name = 'observer'): CheckedObserver {
  return readObserver(observer, name);
}

/** Checks that `observer` is an observer: an object whose hooks are functions. */
export function checkObserver(observer: unknown, name = 'observer'): Observer {
  return readObserver(observer, name).observer;
}

/** Checks the `observers` option of open(): an array of observers, each read once (the pool attaches them as read). */
export function checkObservers(value: unknown): readonly CheckedObserver[] {
  if (value === undefined) return [];
  let items: unknown[] | undefined;
  try {
    if (Array.isArray(value)) items = Array.prototype.slice.call(value) as unknown[];
  } catch (error) {
    throw unreadable('observers', error);
  }
  if (items === undefined) throw invalidArgument(`observers must be an array of observer objects, got ${describe(value)}`);
  return Object.freeze(
    items.map((observer, i) => readObserver(observer, `observers[${i}]`)),
  );
}

/** The optimal string alignment distance of `a` and `b`: edits, a swap of two neighbours counting one. */
function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > TYPO_DISTANCE) return TYPO_DISTANCE + 1;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
