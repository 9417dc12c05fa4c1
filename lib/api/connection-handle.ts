// Owns ConnectionHandle, what the onConnection hook receives: the new connection, for its setup
// statements. Runs on the JS thread.

import type { Route } from '../request/route.ts';
import type { NewConnection } from '../types.ts';
import type { PoolContext } from './context.ts';
import { Scope } from './scope.ts';

/** What `onConnection` receives: the new connection, for its setup statements. */
export class ConnectionHandle extends Scope implements NewConnection {
  /** Which connection this is. */
  readonly role: 'reader' | 'writer';
  /** @internal */
  constructor(context: PoolContext, route: Route, role: 'reader' | 'writer') {
    super(context, route, 'connection hook');
    this.role = role;
  }
}
