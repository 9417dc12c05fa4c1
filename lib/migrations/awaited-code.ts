// Owns the list of migration code the runs of this process await now: a JS migration's up or
// down (with the calls on its tx it did not await), or a module's import (its top-level code).
// What a command that can never finish (its process's event loop emptied while it waited) is
// stuck on, for its error to name.

/** Migration code awaited now. */
export interface AwaitedCode {
  file: string;
  version: string | undefined;
  /** True while the module is imported (its top-level code runs), false while up or down runs. */
  importing: boolean;
}

const awaited = new Set<AwaitedCode>();

/** `work` (migration code of `item`), listed by awaitedCode() until it settles. */
export function awaitingCode<T>(item: { file: string; version?: string }, work: Promise<T>, importing = false): Promise<T> {
  const entry: AwaitedCode = { file: item.file, version: item.version, importing };
  awaited.add(entry);
  const done = (): void => void awaited.delete(entry);
  work.then(done, done);
  return work;
}

/** The migration code this process awaits now, oldest first. */
export function awaitedCode(): AwaitedCode[] {
  return [...awaited];
}
