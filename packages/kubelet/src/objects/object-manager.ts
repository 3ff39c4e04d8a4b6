/**
 * The objects a kubelet's pods use — Secrets, ConfigMaps, claims and their volumes — read one by
 * one, never the whole cluster (upstream's pkg/kubelet/util/manager, Watch strategy): every object
 * a holder (a pod, or a claim for its volume) refers to gets one feed of its own, counted by the
 * holders that use it and stopped when none does. A holder registers its whole set of references
 * at once (a pod's update replaces the set: new ones counted before old ones are dropped, so a
 * reference kept across the update keeps its feed). The Node authorizer allows a node exactly
 * these reads.
 */

/** One object's current state, kept fresh by a watch or by polling. */
export interface ObjectFeed<T> {
  /** The last state read; undefined when the object does not exist (or nothing was read yet). */
  current(): T | undefined;
  /** True once the first read answered (found or not found). */
  synced(): boolean;
  /** Resolves true once synced, false if the signal aborts first. */
  waitForSync(signal: AbortSignal): Promise<boolean>;
  stop(): void;
}

/** Makes the feed of one object; `changed` is called after every change the feed sees (undefined: gone). */
export type FeedFactory<T> = (namespace: string | undefined, name: string, changed: (obj: T | undefined) => void) => ObjectFeed<T>;

export interface ObjectRef {
  /** Unset for cluster-scoped objects (PersistentVolumes). */
  namespace?: string;
  name: string;
}

interface Item<T> {
  refs: number;
  feed: ObjectFeed<T>;
}

const keyOf = (r: ObjectRef) => `${r.namespace ?? ""}/${r.name}`;

export class ObjectManager<T> {
  private readonly holders = new Map<string, Set<string>>();
  private readonly items = new Map<string, Item<T>>();

  constructor(
    private readonly feedFor: FeedFactory<T>,
    /** Called after an object changed, appeared or went away. */
    private readonly onChange: (ref: ObjectRef, obj: T | undefined) => void = () => undefined,
  ) {}

  /** Sets the objects holder uses (replacing what it used before). */
  register(holder: string, refs: readonly ObjectRef[]): void {
    const next = new Map(refs.map((r) => [keyOf(r), r]));
    const prev = this.holders.get(holder) ?? new Set<string>();
    for (const [key, ref] of next) if (!prev.has(key)) this.ref(key, ref);
    for (const key of prev) if (!next.has(key)) this.unref(key);
    if (next.size === 0) this.holders.delete(holder);
    else this.holders.set(holder, new Set(next.keys()));
  }

  /** holder uses nothing any more. */
  unregister(holder: string): void {
    this.register(holder, []);
  }

  /** The object's last known state; undefined when it does not exist, is not synced yet, or nobody registered it. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(keyOf({ ...(namespace !== undefined ? { namespace } : {}), name }))?.feed.current();
  }

  /** Whether every object of refs has been read once (registered ones only). */
  synced(refs: readonly ObjectRef[]): boolean {
    return refs.every((r) => this.items.get(keyOf(r))?.feed.synced() ?? true);
  }

  /** Resolves true once every registered object of refs has been read once; false if the signal aborts first. */
  async waitForSync(refs: readonly ObjectRef[], signal: AbortSignal): Promise<boolean> {
    const feeds = refs.map((r) => this.items.get(keyOf(r))?.feed).filter((f): f is ObjectFeed<T> => f !== undefined);
    const results = await Promise.all(feeds.map((f) => f.waitForSync(signal)));
    return results.every(Boolean);
  }

  /** The holders using an object (a PV's claims). */
  holdersOf(ref: ObjectRef): string[] {
    const key = keyOf(ref);
    return [...this.holders].filter(([, keys]) => keys.has(key)).map(([h]) => h);
  }

  /** `namespace/name` of every object with a feed, with its reference count (tests, status). */
  watched(): Map<string, number> {
    return new Map([...this.items].map(([k, v]) => [k, v.refs]));
  }

  /** Stops every feed (kubelet shutdown). */
  stop(): void {
    for (const item of this.items.values()) item.feed.stop();
    this.items.clear();
    this.holders.clear();
  }

  private ref(key: string, ref: ObjectRef): void {
    const item = this.items.get(key);
    if (item) {
      item.refs++;
      return;
    }
    const feed = this.feedFor(ref.namespace, ref.name, (obj) => {
      // A feed being stopped may still deliver; only the live one speaks.
      if (this.items.get(key)?.feed === feed) this.onChange(ref, obj);
    });
    this.items.set(key, { refs: 1, feed });
  }

  private unref(key: string): void {
    const item = this.items.get(key);
    if (!item) return;
    if (--item.refs > 0) return;
    this.items.delete(key);
    item.feed.stop();
  }
}
