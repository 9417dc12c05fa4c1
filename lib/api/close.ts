// Owns the last step of close(): once nothing is queued or running, one Close request per reader
// and one for the writer (each closes its connection on its own thread, the writer after its
// final optimize and checkpoint), the threads joined, and observers told every connection closed.
// Runs on the JS thread.

import { Op } from '../native/contract.ts';
import { READERS, WRITER } from '../request/route.ts';
import type { PoolParts } from './stats.ts';

/** Closes every connection of an idle pool and joins its threads; rejects with the first failure. */
export async function closeConnections(parts: PoolParts): Promise<void> {
  const { dispatcher, options } = parts;
  await dispatcher.idle();
  const closes: Promise<unknown>[] = [];
  for (let i = 0; i < options.readers; i++) closes.push(dispatcher.run({ op: Op.Close, route: READERS, internal: true }));
  closes.push(dispatcher.run({ op: Op.Close, route: WRITER, internal: true }));
  const results = await Promise.allSettled(closes);
  parts.native.join();
  parts.context.observers.connections('close', options.readers);
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw (failure as PromiseRejectedResult).reason;
}
