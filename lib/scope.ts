// Owns the connection-bound handles users get inside transactions, snapshots and leases: a
// Scope runs every operation on one connection (the writer through a session, or one pinned
// reader) and refuses to run anything once it has ended.
// Runs on the JS thread.

import { Op, Target } from './native.ts';
import type { Dispatcher, WriterSession } from './dispatcher.ts';
import { ScopeEndedError } from './errors.ts';
import { encodeParams } from './params.ts';
import type { ArrayQueryOptions, OperationOptions, Params, QueryOptions, Row, RunResult, SqlOutputValue } from './types.ts';
import { checkChoice, checkInteger, checkKeys, checkSignal, checkSql } from './validate.ts';

/** Which connection a scope's operations run on. */
export type Route = { target: typeof Target.Writer; session: WriterSession } | { target: typeof Target.PinnedReader; reader: number };

const OPERATION_KEYS = ['signal', 'timeout'] as const;
const QUERY_KEYS = ['signal', 'timeout', 'rowMode'] as const;
const MAX_MS = 2 ** 31 - 1;

/** Operations on one connection. Base of Transaction and Lease. */
export class Scope {
  readonly #dispatcher: Dispatcher;
  readonly #route: Route;
  readonly #what: string;
  /** Aborted when the scope ends early (timeout, abort): cancels whatever it still runs. */
  readonly #ending = new AbortController();
  #ended = false;

  /** @internal */
  constructor(dispatcher: Dispatcher, route: Route, what: string) {
    this.#dispatcher = dispatcher;
    this.#route = route;
    this.#what = what;
  }

  /** True once the scope ended: every further call rejects with ScopeEndedError. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The first row of the result, or undefined. */
  get<T = Row>(sql: string, params?: Params, options?: QueryOptions & { rowMode?: 'object' }): Promise<T | undefined>;
  get(sql: string, params: Params | undefined, options: ArrayQueryOptions): Promise<SqlOutputValue[] | undefined>;
  get(sql: string, params?: Params, options?: QueryOptions): Promise<unknown> {
    return this.#operation(Op.Get, sql, params, options, QUERY_KEYS);
  }

  /** Every row of the result. */
  all<T = Row>(sql: string, params?: Params, options?: QueryOptions & { rowMode?: 'object' }): Promise<T[]>;
  all(sql: string, params: Params | undefined, options: ArrayQueryOptions): Promise<SqlOutputValue[][]>;
  all(sql: string, params?: Params, options?: QueryOptions): Promise<unknown> {
    return this.#operation(Op.All, sql, params, options, QUERY_KEYS);
  }

  /** Runs one statement; reports the changes and the last inserted rowid. */
  run(sql: string, params?: Params, options?: OperationOptions): Promise<RunResult> {
    return this.#operation(Op.Run, sql, params, options, OPERATION_KEYS) as Promise<RunResult>;
  }

  /** Runs one or more statements without parameters. */
  exec(sql: string, options?: OperationOptions): Promise<void> {
    return this.#operation(Op.Exec, sql, undefined, options, OPERATION_KEYS) as Promise<void>;
  }

  /** @internal Marks the scope ended and cancels what it still runs. */
  end(reason?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (reason !== undefined) this.#ending.abort(reason);
  }

  /** @internal Runs SQL on the scope's connection even while it is ending (BEGIN, COMMIT...). */
  control(op: typeof Op.Exec | typeof Op.Reset, sql?: string): Promise<unknown> {
    return this.#dispatcher.run({ op, ...this.#routeSpec(), sql, keepTransaction: true, internal: true });
  }

  #routeSpec(): { target: Route['target']; session?: WriterSession; reader?: number } {
    const route = this.#route;
    return route.target === Target.Writer ? { target: route.target, session: route.session } : { target: route.target, reader: route.reader };
  }

  #operation(op: Op, sql: string, params: Params | undefined, options: unknown, keys: readonly string[]): Promise<unknown> {
    try {
      if (this.#ended) throw new ScopeEndedError(this.#what);
      const given = checkKeys('options', options, keys);
      const userSignal = checkSignal(given.signal);
      const signal = userSignal ? AbortSignal.any([userSignal, this.#ending.signal]) : this.#ending.signal;
      const { values, names } = encodeParams(params);
      return this.#dispatcher.run({
        op,
        ...this.#routeSpec(),
        sql: checkSql(sql),
        values,
        names,
        keepTransaction: true,
        rowMode: given.rowMode === undefined ? 'object' : checkChoice('rowMode', given.rowMode, ['object', 'array'] as const),
        signal,
        timeout: given.timeout === undefined ? undefined : checkInteger('timeout', given.timeout, 1, MAX_MS),
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
