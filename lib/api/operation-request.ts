// Owns the turning of one get/all/run/exec/batch call into its request: its SQL and values
// encoded, its route (the scope's connection, or a reader or the writer), its transaction flags,
// signal, timeout and trace. Operations (operations.ts) starts it. Runs on the JS thread.

import { encodeBatch } from '../input/batch.ts';
import { encodeParams } from '../input/params.ts';
import { checkSql } from '../input/validate.ts';
import { Op } from '../native/contract.ts';
import type { QueryTrace } from '../observers/query-trace.ts';
import type { Request } from '../request/requests.ts';
import { READERS, WRITER, type Route } from '../request/route.ts';
import type { Operation } from '../types.ts';
import type { CheckedOptions } from './operation-options.ts';

/** The ops a Pool or a scope starts through Operations.start(). */
export type StartedOp = typeof Op.Get | typeof Op.All | typeof Op.Run | typeof Op.Exec | typeof Op.Batch;

const OPERATION_NAMES: Record<StartedOp, Operation> = { [Op.Get]: 'get', [Op.All]: 'all', [Op.Run]: 'run', [Op.Exec]: 'exec', [Op.Batch]: 'batch' };

/** The scope an operation runs in: its connection, and whether it is a transaction. */
export interface RequestScope {
  readonly route: Route;
  readonly expectTransaction: boolean;
}

/**
 * The request of an operation (in `scope`, or on the pool), running with `signal`; carrying the
 * trace `trace` makes when given (observed). Throws on a bad argument.
 */
export function operationRequest(
  op: StartedOp,
  subject: unknown,
  params: unknown,
  checked: CheckedOptions,
  signal: AbortSignal | undefined,
  scope: RequestScope | undefined,
  trace: ((operation: Operation, sql: string, params: unknown) => QueryTrace) | undefined,
): Request {
  const keepTransaction = scope !== undefined;
  const expectTransaction = scope !== undefined && scope.expectTransaction;
  const timeout = checked.timeout;
  switch (op) {
    case Op.Batch: {
      const statements = encodeBatch(subject);
      const traced = trace?.('batch', statements.sql.join(';\n'), undefined);
      return { op, route: scope ? scope.route : WRITER, statements, keepTransaction, expectTransaction, signal, timeout, trace: traced };
    }
    case Op.Exec: {
      const sql = checkSql(subject);
      const traced = trace?.('exec', sql, undefined);
      return { op, route: scope ? scope.route : WRITER, sql, keepTransaction, expectTransaction, signal, timeout, trace: traced };
    }
    case Op.Run: {
      const { values, names } = encodeParams(params as Parameters<typeof encodeParams>[0]);
      const sql = checkSql(subject);
      const traced = trace?.('run', sql, params);
      return { op, route: scope ? scope.route : WRITER, sql, values, names, groupable: !scope, keepTransaction, expectTransaction, signal, timeout, trace: traced };
    }
    default: {
      const { values, names } = encodeParams(params as Parameters<typeof encodeParams>[0]);
      const sql = checkSql(subject);
      const traced = trace?.(OPERATION_NAMES[op], sql, params);
      return { op, route: scope ? scope.route : READERS, sql, values, names, rowMode: checked.rowMode, keepTransaction, expectTransaction, signal, timeout, trace: traced };
    }
  }
}
