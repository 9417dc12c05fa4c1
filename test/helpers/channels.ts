// Listens on litepool's diagnostics channels for a test: what one pool's transactions reported.
import { tracingChannel } from 'node:diagnostics_channel';
import type { Pool } from '../../lib/index.ts';
import type { TransactionChannelContext } from '../../lib/observers/channels.ts';

/** Runs `work` and returns the behavior of each of `pool`'s transactions, from litepool:transaction. */
export async function transactionBehaviors(pool: Pool, work: () => Promise<void>): Promise<string[]> {
  const behaviors: string[] = [];
  const handlers = {
    asyncEnd: (ctx: unknown) => {
      const { pool: of, behavior } = ctx as TransactionChannelContext;
      if (of === pool) behaviors.push(behavior);
    },
  };
  const channel = tracingChannel('litepool:transaction');
  channel.subscribe(handlers as never);
  try {
    await work();
  } finally {
    channel.unsubscribe(handlers as never);
  }
  return behaviors;
}
