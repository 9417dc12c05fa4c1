// Owns the internal hooks of a migration run and how they are told (a hook never changes a
// migration's outcome).

import type { SourceItem } from './source.ts';
import type { MigrationEvent } from './types.ts';
import { NO_TIMEOUT } from './lock.ts';

/** Internal hooks of a run. */
export interface RunnerHooks {
  /** Told when each migration step starts, is applied (or reverted), or fails. */
  onEvent?: (event: MigrationEvent) => void;
}

/** The runner's own statements are never cut short by the pool's queryTimeout (see NO_TIMEOUT). */
export const UNBOUNDED = { timeout: NO_TIMEOUT } as const;

/** How often a migrator looks again at a migration another process records as running. */
export const RUNNING_POLL_MS = 100;

export function emit(hooks: RunnerHooks | undefined, event: MigrationEvent): void {
  try {
    hooks?.onEvent?.(event);
  } catch {
    // A hook never changes a migration's outcome.
  }
}

export function brief(item: Pick<SourceItem, 'version' | 'name'>): { version: string; name: string } {
  return { version: item.version, name: item.name };
}

