// Owns a first-in first-out queue that shifts in O(1), takes any item out in O(1) amortized and
// compacts itself: the dispatcher's backlogs, the writer gate's line, the reader pins' waiters and
// the write queue's entries.
//
// remove() leaves a hole where the item was (shift() and peek() pass over it). It finds the item
// by a scan while the queue is short; on a long queue the first remove() builds an index of where
// each item is, kept up to date by push() and shift() until the queue is next empty. So a queue
// nothing is removed from pays one branch per push and shift, and removing n items of a long queue
// (many cancelled waiters) costs O(n) in all, not O(n²).

/** Stands where an item was taken out by remove(). */
const HOLE: unique symbol = Symbol('removed');

/** Queues shorter than this are scanned by remove() instead of indexed. */
const SCAN_BELOW = 32;

export class Fifo<T> {
  /** Items from #head on; never a hole at #head. */
  #items: (T | typeof HOLE | undefined)[] = [];
  #head = 0;
  /** Holes after #head. */
  #holes = 0;
  /** The position of #items[0] since the queue was last empty (compaction moves items down). */
  #base = 0;
  /** Where each queued item is (position: #base + index), once a remove() on a long queue wanted it. */
  #index: Map<T, number> | undefined = undefined;
  /** Items pushed again while queued (the index knows only the first): remove() then scans when it misses. */
  #repeats = 0;
  /** Holes or an index exist: shift() has more to do (false until a remove(), the fast path). */
  #removed = false;

  get length(): number {
    return this.#items.length - this.#head - this.#holes;
  }

  push(item: T): void {
    if (this.#index !== undefined) this.#indexPushed(item);
    this.#items.push(item);
  }

  /** The oldest item, left in place. */
  peek(): T | undefined {
    return this.#head < this.#items.length ? (this.#items[this.#head] as T) : undefined;
  }

  /** Takes the oldest item out. */
  shift(): T | undefined {
    const items = this.#items;
    if (this.#head === items.length) return undefined;
    const item = items[this.#head] as T;
    items[this.#head++] = undefined;
    if (this.#removed) this.#passRemoved(item);
    if (this.#head === items.length) {
      items.length = 0;
      this.#head = 0;
      if (this.#removed) this.#forgetRemoved();
    } else if (this.#head > 1024 && this.#head * 2 > items.length) {
      this.#items = items.slice(this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
    return item;
  }

  /** Takes `item` out wherever it is (its first occurrence); false when it is not queued. */
  remove(item: T): boolean {
    let at = -1;
    if (this.#index === undefined && this.length < SCAN_BELOW) {
      at = this.#items.indexOf(item, this.#head);
    } else {
      const index = this.#index ?? this.#buildIndex();
      const position = index.get(item);
      if (position !== undefined) {
        at = position - this.#base;
        index.delete(item);
      } else if (this.#repeats !== 0) {
        at = this.#items.indexOf(item, this.#head);
      }
    }
    if (at < 0) return false;
    const items = this.#items;
    items[at] = HOLE;
    this.#holes++;
    this.#removed = true;
    if (at === this.#head) this.#skipHoles();
    if (this.#head === items.length) {
      items.length = 0;
      this.#head = 0;
      this.#forgetRemoved();
    } else if (this.#holes > 1024 && this.#holes * 2 > items.length - this.#head) {
      // Mostly holes (items removed from the middle, few shifted): keep only the items.
      const head = this.#head;
      this.#items = items.filter((entry, i) => i >= head && entry !== HOLE);
      this.#head = 0;
      this.#holes = 0;
      this.#base = 0;
      if (this.#index !== undefined) this.#buildIndex();
    }
    return true;
  }

  /** `item` was pushed while the index is kept. */
  #indexPushed(item: T): void {
    const index = this.#index!;
    if (index.has(item)) this.#repeats++;
    else index.set(item, this.#base + this.#items.length);
  }

  /** `item` was shifted with holes or an index about: off the index (dropped once the queue is short: scans do then), past the holes. */
  #passRemoved(item: T): void {
    const index = this.#index;
    if (index !== undefined) {
      if (index.get(item) === this.#base + this.#head - 1) index.delete(item);
      if (this.length < SCAN_BELOW / 2) {
        this.#index = undefined;
        this.#repeats = 0;
      }
    }
    if (this.#holes !== 0) this.#skipHoles();
    this.#removed = this.#index !== undefined || this.#holes !== 0;
  }

  /** The queue is empty: no holes, no index, positions start over. */
  #forgetRemoved(): void {
    this.#holes = 0;
    this.#base = 0;
    this.#index = undefined;
    this.#repeats = 0;
    this.#removed = false;
  }

  /** Moves #head past the holes at the front. */
  #skipHoles(): void {
    const items = this.#items;
    while (this.#head < items.length && items[this.#head] === HOLE) {
      items[this.#head++] = undefined;
      this.#holes--;
    }
  }

  /** Indexes where every queued item is (the first occurrence of a repeated one). */
  #buildIndex(): Map<T, number> {
    const index = new Map<T, number>();
    const items = this.#items;
    this.#repeats = 0;
    for (let at = this.#head; at < items.length; at++) {
      const item = items[at];
      if (item === HOLE) continue;
      if (index.has(item as T)) this.#repeats++;
      else index.set(item as T, this.#base + at);
    }
    this.#index = index;
    this.#removed = true;
    return index;
  }
}
