/**
 * A keyed binary heap: the shape of upstream's `backend/heap` (a heap plus a key → index map, so
 * an item can be found, updated or deleted by key in O(log n)). Ties under `less` are broken by
 * insertion order, so equal items pop first-in first-out and the order is deterministic.
 */

interface Slot<T> {
  item: T;
  key: string;
  /** Insertion sequence; kept on update so an updated item keeps its place among equals. */
  seq: number;
}

/** KeyedHeap orders items by `less` (true when a must pop before b); one item per key. */
export class KeyedHeap<T> {
  private readonly slots: Slot<T>[] = [];
  private readonly index = new Map<string, number>();
  private seq = 0;

  constructor(
    private readonly keyOf: (item: T) => string,
    private readonly less: (a: T, b: T) => boolean,
  ) {}

  get length(): number {
    return this.slots.length;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get(key: string): T | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.slots[i]!.item;
  }

  /** Adds the item, or replaces the item with the same key and restores the order. */
  addOrUpdate(item: T): void {
    const key = this.keyOf(item);
    const i = this.index.get(key);
    if (i !== undefined) {
      this.slots[i]!.item = item;
      this.fix(i);
      return;
    }
    this.slots.push({ item, key, seq: this.seq++ });
    this.index.set(key, this.slots.length - 1);
    this.up(this.slots.length - 1);
  }

  /** Removes the item with this key; returns it, or undefined when absent. */
  delete(key: string): T | undefined {
    const i = this.index.get(key);
    if (i === undefined) return undefined;
    const removed = this.slots[i]!;
    const last = this.slots.length - 1;
    if (i !== last) this.swap(i, last);
    this.slots.pop();
    this.index.delete(key);
    if (i !== last) this.fix(i);
    return removed.item;
  }

  peek(): T | undefined {
    return this.slots[0]?.item;
  }

  pop(): T | undefined {
    const head = this.slots[0];
    if (head === undefined) return undefined;
    this.delete(head.key);
    return head.item;
  }

  /** Every item, in no particular order. */
  list(): T[] {
    return this.slots.map((s) => s.item);
  }

  private before(a: Slot<T>, b: Slot<T>): boolean {
    if (this.less(a.item, b.item)) return true;
    if (this.less(b.item, a.item)) return false;
    return a.seq < b.seq;
  }

  private fix(i: number): void {
    if (!this.up(i)) this.down(i);
  }

  private up(i: number): boolean {
    let moved = false;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(this.slots[i]!, this.slots[parent]!)) break;
      this.swap(i, parent);
      i = parent;
      moved = true;
    }
    return moved;
  }

  private down(i: number): void {
    const n = this.slots.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      let best = l;
      if (r < n && this.before(this.slots[r]!, this.slots[l]!)) best = r;
      if (!this.before(this.slots[best]!, this.slots[i]!)) return;
      this.swap(i, best);
      i = best;
    }
  }

  private swap(i: number, j: number): void {
    const a = this.slots[i]!;
    const b = this.slots[j]!;
    this.slots[i] = b;
    this.slots[j] = a;
    this.index.set(b.key, i);
    this.index.set(a.key, j);
  }
}
