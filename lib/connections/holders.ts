// Owns the register of what this pool holds open on its connections: read() snapshots, read and
// write leases and iterations, each with the time it began. The WAL monitor names the oldest
// reader among them when a checkpoint cannot progress, and vacuum() refuses to start while any
// is open. Runs on the JS thread.

/** What holds a connection: a `read()` snapshot, a lease, or an iteration. */
export type HolderKind = 'read() snapshot' | 'read lease' | 'write lease' | 'iteration';

/** One open snapshot, lease or iteration. */
export interface Holder {
  readonly kind: HolderKind;
  /** `Date.now()` when it began. */
  readonly since: number;
  /** The SQL of an iteration (shortened). */
  readonly detail: string | undefined;
}

/** Kinds that keep a read transaction (a WAL snapshot) open on a reader. */
const READING: ReadonlySet<HolderKind> = new Set(['read() snapshot', 'read lease', 'iteration']);

const DETAIL_LENGTH = 80;

export class Holders {
  readonly #open = new Set<Holder>();

  /** Registers something that began now; hand the result to `end()` when it ends. */
  begin(kind: HolderKind, detail?: string): Holder {
    const holder: Holder = {
      kind,
      since: Date.now(),
      detail: detail === undefined ? undefined : detail.length > DETAIL_LENGTH ? `${detail.slice(0, DETAIL_LENGTH - 1)}…` : detail,
    };
    this.#open.add(holder);
    return holder;
  }

  end(holder: Holder | undefined): void {
    if (holder) this.#open.delete(holder);
  }

  /** How many are open now. */
  get size(): number {
    return this.#open.size;
  }

  /** Everything open now, oldest first. */
  list(): Holder[] {
    return [...this.#open].sort((a, b) => a.since - b.since);
  }

  /** The oldest open reader (snapshot, read lease, iteration): what most likely pins the WAL. */
  oldestReader(): Holder | undefined {
    let oldest: Holder | undefined;
    for (const holder of this.#open) {
      if (READING.has(holder.kind) && (!oldest || holder.since < oldest.since)) oldest = holder;
    }
    return oldest;
  }
}

/** A holder as people read it: `iteration (SELECT …)`, `read lease`. */
export function describeHolder(holder: Holder): string {
  return holder.detail === undefined ? holder.kind : `${holder.kind} (${holder.detail})`;
}
