/**
 * SharedInformer against a scripted ListerWatcher (lists and watch streams the test feeds: an
 * ERROR 410 event, a stream that throws, one that ends), then a property: a random history of
 * server-side changes with random 410s, broken watches and failed lists always leaves the cache
 * equal to the server, and every handler's replayed view equal to the cache.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DeletedFinalStateUnknown,
  deletedObject,
  FakeClock,
  Indexes,
  newGone,
  newInternalError,
  SeededRng,
  SharedInformer,
  standardIndexers,
  stripManagedFields,
  toStatus,
  type EventHandler,
  type KubeList,
  type KubeObject,
  type ListerWatcher,
  type WatchEvent,
} from "@kubemu/common";

const flush = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

/** An async stream the test pushes into. */
class Channel<T> implements AsyncIterable<T> {
  private readonly items: ({ v: T } | { end: true } | { err: unknown })[] = [];
  private wake: (() => void) | undefined;
  closed = false;

  push(v: T): void {
    this.items.push({ v });
    this.poke();
  }
  end(): void {
    this.items.push({ end: true });
    this.poke();
  }
  fail(err: unknown): void {
    this.items.push({ err });
    this.poke();
  }
  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      for (;;) {
        const item = this.items.shift();
        if (!item) {
          await new Promise<void>((r) => (this.wake = r));
          continue;
        }
        if ("end" in item) return;
        if ("err" in item) throw item.err;
        yield item.v;
      }
    } finally {
      this.closed = true;
    }
  }
}

type Pod = KubeObject & { spec?: { nodeName?: string } };

function pod(name: string, rv: number, extra: { ns?: string; node?: string; owners?: string[]; labels?: Record<string, string>; team?: string } = {}): Pod {
  const o: Pod = { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: extra.ns ?? "default", resourceVersion: String(rv), uid: `uid-${name}` }, spec: {} };
  if (extra.node) o.spec!.nodeName = extra.node;
  if (extra.owners) o.metadata.ownerReferences = extra.owners.map((uid) => ({ apiVersion: "apps/v1", kind: "ReplicaSet", name: `rs-${uid}`, uid }));
  if (extra.labels) o.metadata.labels = extra.labels;
  if (extra.team) o.metadata.annotations = { team: extra.team };
  return o;
}

const list = (rv: number, items: unknown[]): KubeList<Pod> => ({ apiVersion: "v1", kind: "PodList", metadata: { resourceVersion: String(rv) }, items: items as Pod[] });
const ev = (type: WatchEvent["type"], object: KubeObject): WatchEvent => ({ type, object });
const bookmark = (rv: number): WatchEvent => ({ type: "BOOKMARK", object: { apiVersion: "v1", kind: "Pod", metadata: { resourceVersion: String(rv) } } });

/** Lists answered from a queue (an Error is thrown); every watch is a new Channel the test drives. */
class ScriptedLW implements ListerWatcher<Pod> {
  readonly lists: (KubeList<Pod> | Error)[] = [];
  readonly listCalls: string[] = [];
  readonly watchCalls: string[] = [];
  readonly streams: Channel<WatchEvent>[] = [];

  async list(opts: { resourceVersion: string }): Promise<KubeList<Pod>> {
    this.listCalls.push(opts.resourceVersion);
    const next = this.lists.shift();
    if (!next) throw new Error("no list scripted");
    if (next instanceof Error) throw next;
    return structuredClone(next);
  }
  watch(opts: { resourceVersion: string; signal: AbortSignal }): AsyncIterable<WatchEvent> {
    this.watchCalls.push(opts.resourceVersion);
    const ch = new Channel<WatchEvent>();
    this.streams.push(ch);
    opts.signal.addEventListener("abort", () => ch.end(), { once: true });
    return ch;
  }
  get stream(): Channel<WatchEvent> {
    return this.streams[this.streams.length - 1]!;
  }
}

/** A handler recording what it was told, in order. */
function recorder() {
  const calls: string[] = [];
  const handler: EventHandler<Pod> = {
    onAdd: (o, initial) => calls.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}${initial ? " initial" : ""}`),
    onUpdate: (a, b) => calls.push(`update ${a.metadata.name}@${a.metadata.resourceVersion}->${b.metadata.resourceVersion}`),
    onDelete: (o) => calls.push(`${o instanceof DeletedFinalStateUnknown ? `tombstone ${o.key}` : "delete"} ${deletedObject(o).metadata.name}@${deletedObject(o).metadata.resourceVersion}`),
  };
  return { calls, handler };
}

function setup(opts: { resyncMs?: number; freeze?: boolean; indexers?: Record<string, (o: Pod) => readonly string[]>; transform?: (o: Pod) => Pod } = {}) {
  const clock = new FakeClock(1_000_000);
  const lw = new ScriptedLW();
  const informer = new SharedInformer<Pod>({
    name: "pods",
    listerWatcher: lw,
    clock,
    rng: new SeededRng(7),
    backoffInitialMs: 100,
    backoffMaxMs: 1000,
    ...(opts.resyncMs ? { resyncMs: opts.resyncMs } : {}),
    ...(opts.freeze ? { freeze: true } : {}),
    ...(opts.indexers ? { indexers: opts.indexers } : {}),
    ...(opts.transform ? { transform: opts.transform } : {}),
  });
  const stop = new AbortController();
  const start = () => informer.run(stop.signal);
  return { clock, lw, informer, stop, start };
}

const rvsOf = (inf: SharedInformer<Pod>) => Object.fromEntries(inf.lister.keys().sort().map((k) => [k, inf.lister.getByKey(k)!.metadata.resourceVersion]));

describe("SharedInformer", () => {
  it("lists (RV 0), tells handlers of every item with isInInitialList, syncs, then watches from the list's RV", async () => {
    const { lw, informer, stop, start } = setup();
    lw.lists.push(list(10, [pod("a", 3), pod("b", 7)]));
    const r = recorder();
    informer.addEventHandler(r.handler);
    expect(informer.hasSynced()).toBe(false);
    const synced = informer.waitForSync();
    const running = start();
    expect(await synced).toBe(true);
    expect(informer.hasSynced()).toBe(true);
    expect(r.calls).toEqual(["add a@3 initial", "add b@7 initial"]);
    expect(lw.listCalls).toEqual(["0"]);
    await flush();
    expect(lw.watchCalls).toEqual(["10"]);
    expect(informer.lastSyncResourceVersion).toBe("10");
    expect(informer.lister.get("default", "a")!.metadata.resourceVersion).toBe("3");
    expect(informer.lister.list().map((p) => p.metadata.name).sort()).toEqual(["a", "b"]);
    stop.abort();
    await running;
    expect(lw.stream.closed).toBe(true);
    await expect(informer.run(stop.signal)).rejects.toThrow("already started");
    expect(await informer.waitForSync(AbortSignal.abort())).toBe(true);
  });

  it("waitForSync answers false when its signal aborts before the first list", async () => {
    const { informer } = setup();
    const ac = new AbortController();
    const p = informer.waitForSync(ac.signal);
    ac.abort();
    expect(await p).toBe(false);
  });

  it("watch events become add (not initial), update(old, new) and delete, each after the cache changed", async () => {
    const { lw, informer, stop, start } = setup();
    lw.lists.push(list(10, [pod("a", 3)]));
    const r = recorder();
    const seen: string[] = [];
    informer.addEventHandler({ onAdd: (o) => seen.push(`cache has ${o.metadata.name}: ${informer.lister.get("default", o.metadata.name!) === o}`) });
    informer.addEventHandler(r.handler);
    const running = start();
    await flush();
    lw.stream.push(ev("ADDED", pod("b", 11)));
    lw.stream.push(ev("MODIFIED", pod("a", 12)));
    lw.stream.push(ev("DELETED", pod("b", 13)));
    lw.stream.push(ev("DELETED", pod("never-seen", 14)));
    lw.stream.push(ev("ADDED", pod("a", 15))); // an ADDED for a cached key is an update
    await flush();
    expect(r.calls).toEqual(["add a@3 initial", "add b@11", "update a@3->12", "delete b@13", "update a@12->15"]);
    expect(seen).toEqual(["cache has a: true", "cache has b: true"]);
    expect(rvsOf(informer)).toEqual({ "default/a": "15" });
    expect(informer.lastSyncResourceVersion).toBe("15");
    stop.abort();
    await running;
  });

  it("a 410 ERROR event relists from the latest state: tombstones for what vanished, updates for the rest, adds for the new", async () => {
    const { lw, informer, stop, start } = setup();
    lw.lists.push(list(10, [pod("a", 3), pod("b", 7), pod("c", 9)]));
    const r = recorder();
    informer.addEventHandler(r.handler);
    const running = start();
    await flush();
    lw.stream.push(ev("MODIFIED", pod("b", 12)));
    lw.lists.push(list(40, [pod("a", 3), pod("b", 30), pod("d", 35)]));
    lw.stream.push({ type: "ERROR", object: toStatus(newGone("too old resource version: 12 (20)")) });
    await flush();
    expect(lw.listCalls).toEqual(["0", ""]); // after a 410: the latest, not the watch cache
    expect(r.calls.slice(4)).toEqual(["tombstone default/c c@9", "update a@3->3", "update b@12->30", "add d@35"]);
    expect(lw.watchCalls).toEqual(["10", "40"]);
    expect(informer.lastSyncResourceVersion).toBe("40");
    expect(rvsOf(informer)).toEqual({ "default/a": "3", "default/b": "30", "default/d": "35" });
    expect(informer.stats).toEqual({ lists: 2, watches: 2 });
    stop.abort();
    await running;
  });

  it("a watch that throws a 410 (Expired from the client) relists too", async () => {
    const { lw, informer, stop, start } = setup();
    lw.lists.push(list(10, [pod("a", 3)]), list(20, []));
    const r = recorder();
    informer.addEventHandler(r.handler);
    const running = start();
    await flush();
    lw.stream.fail(newGone("expired"));
    await flush();
    expect(lw.listCalls).toEqual(["0", ""]);
    expect(r.calls).toEqual(["add a@3 initial", "tombstone default/a a@3"]);
    stop.abort();
    await running;
  });

  it("a watch that fails otherwise resumes from the last RV seen after a backoff, without relisting", async () => {
    const { clock, lw, informer, stop, start } = setup();
    lw.lists.push(list(10, [pod("a", 3)]));
    const r = recorder();
    informer.addEventHandler(r.handler);
    const running = start();
    await flush();
    lw.stream.push(ev("MODIFIED", pod("a", 17)));
    lw.stream.fail(new Error("connection reset"));
    await flush();
    expect(lw.watchCalls).toEqual(["10"]); // waiting out the backoff
    await clock.advanceAsync(100, 10);
    expect(lw.watchCalls).toEqual(["10", "17"]);
    // An ERROR event that is not a 410 is a failure too.
    lw.stream.push(ev("MODIFIED", pod("a", 18)));
    lw.stream.push({ type: "ERROR", object: toStatus(newInternalError("etcd went away")) });
    await flush();
    await clock.advanceAsync(1000, 10);
    expect(lw.watchCalls).toEqual(["10", "17", "18"]);
    // An ERROR event without a Status too.
    lw.stream.push({ type: "ERROR", object: { metadata: {} } });
    await flush();
    await clock.advanceAsync(1000, 10);
    expect(lw.watchCalls).toEqual(["10", "17", "18", "18"]);
    expect(lw.listCalls).toEqual(["0"]);
    expect(r.calls).toEqual(["add a@3 initial", "update a@3->17", "update a@17->18"]);
    stop.abort();
    await running;
  });

  it("a watch that ends after delivering events is reopened at once from the last RV", async () => {
    const { lw, informer, stop, start } = setup();
    lw.lists.push(list(10, []));
    const running = start();
    await flush();
    lw.stream.push(ev("ADDED", pod("x", 11)));
    lw.stream.end();
    await flush();
    expect(lw.watchCalls).toEqual(["10", "11"]);
    lw.stream.push(ev("ADDED", pod("y", 12)));
    lw.stream.end();
    await flush();
    expect(lw.watchCalls).toEqual(["10", "11", "12"]);
    expect(lw.listCalls).toEqual(["0"]);
    expect(informer.lastSyncResourceVersion).toBe("12");
    stop.abort();
    await running;
  });

  it("a watch that ends at once with nothing in it is reopened only after a backoff (no hot loop), as client-go's 'very short watch'", async () => {
    const { clock, lw, informer, stop, start } = setup();
    lw.lists.push(list(10, []));
    const running = start();
    await flush();
    // Every watch from now on closes right away, empty (an apiserver shutting down, say).
    // (Each ends on the next turn of the event loop, so a hot loop shows as many calls, not a hang.)
    const orig = lw.watch.bind(lw);
    lw.watch = (opts) => {
      const ch = orig(opts) as Channel<WatchEvent>;
      setImmediate(() => ch.end());
      return ch;
    };
    lw.stream.end();
    for (let i = 0; i < 100; i++) await flush(1);
    const quick = lw.watchCalls.length;
    expect(quick).toBeLessThanOrEqual(3);
    await clock.advanceAsync(3000, 50);
    // Backing off: 100, 200, 400, 800 ms (± jitter)… a handful in 3 s, not thousands.
    expect(lw.watchCalls.length).toBeGreaterThan(quick);
    expect(lw.watchCalls.length).toBeLessThan(15);
    expect(lw.watchCalls.every((rv) => rv === "10")).toBe(true);
    expect(informer.hasSynced()).toBe(true);
    stop.abort();
    await running;
  });

  it("a failed list is retried with backoff; the informer is not synced until one succeeds", async () => {
    const { clock, lw, informer, stop, start } = setup();
    lw.lists.push(new Error("apiserver down"), new Error("still down"), list(5, [pod("a", 5)]));
    const running = start();
    await flush();
    expect(informer.hasSynced()).toBe(false);
    expect(lw.listCalls).toHaveLength(1);
    await clock.advanceAsync(100, 10);
    expect(lw.listCalls).toHaveLength(2);
    expect(informer.hasSynced()).toBe(false);
    await clock.advanceAsync(200, 10);
    expect(lw.listCalls).toEqual(["0", "0", "0"]);
    expect(informer.hasSynced()).toBe(true);
    await flush();
    expect(lw.watchCalls).toEqual(["5"]);
    stop.abort();
    await running;
  });

  it("bookmarks move lastSyncResourceVersion (and where the next watch starts) without telling handlers", async () => {
    const { clock, lw, informer, stop, start } = setup();
    lw.lists.push(list(10, [pod("a", 3)]));
    const r = recorder();
    informer.addEventHandler(r.handler);
    const running = start();
    await flush();
    lw.stream.push(bookmark(25));
    await flush();
    expect(informer.lastSyncResourceVersion).toBe("25");
    lw.stream.push({ type: "BOOKMARK", object: { metadata: {} } }); // no RV: ignored
    lw.stream.fail(new Error("boom"));
    await flush();
    await clock.advanceAsync(200, 10);
    expect(lw.watchCalls).toEqual(["10", "25"]);
    expect(informer.lastSyncResourceVersion).toBe("25");
    expect(r.calls).toEqual(["add a@3 initial"]);
    stop.abort();
    await running;
  });

  it("indexes: namespace, spec.nodeName, ownerUid and a custom one, kept right across updates and deletes", async () => {
    const byTeam = (o: Pod) => (o.metadata.annotations?.team ? [o.metadata.annotations.team] : []);
    const { lw, informer, stop, start } = setup({ indexers: { ...standardIndexers, team: byTeam } });
    lw.lists.push(
      list(10, [
        pod("a", 1, { ns: "prod", node: "n1", owners: ["rs1"], team: "blue" }),
        pod("b", 2, { ns: "prod", node: "n2", owners: ["rs1", "rs2"], team: "red" }),
        pod("c", 3, { ns: "dev", team: "blue" }),
      ]),
    );
    const running = start();
    await flush();
    const names = (ps: Pod[]) => ps.map((p) => p.metadata.name).sort();
    const L = informer.lister;
    expect(names(L.byIndex(Indexes.namespace, "prod"))).toEqual(["a", "b"]);
    expect(names(L.byIndex(Indexes.nodeName, "n1"))).toEqual(["a"]);
    expect(names(L.byIndex(Indexes.nodeName, ""))).toEqual([]); // unscheduled pods are in no node's index
    expect(names(L.byIndex(Indexes.ownerUid, "rs1"))).toEqual(["a", "b"]);
    expect(names(L.byIndex(Indexes.ownerUid, "rs2"))).toEqual(["b"]);
    expect(names(L.byIndex("team", "blue"))).toEqual(["a", "c"]);
    expect(names(L.list({ namespace: "dev" }))).toEqual(["c"]);
    // Updates move objects between index values.
    lw.stream.push(ev("MODIFIED", pod("a", 11, { ns: "prod", node: "n2", owners: ["rs2"], team: "red" })));
    lw.stream.push(ev("MODIFIED", pod("c", 12, { ns: "dev", node: "n1" })));
    await flush();
    expect(names(L.byIndex(Indexes.nodeName, "n1"))).toEqual(["c"]);
    expect(names(L.byIndex(Indexes.nodeName, "n2"))).toEqual(["a", "b"]);
    expect(names(L.byIndex(Indexes.ownerUid, "rs1"))).toEqual(["b"]);
    expect(names(L.byIndex(Indexes.ownerUid, "rs2"))).toEqual(["a", "b"]);
    expect(names(L.byIndex("team", "blue"))).toEqual([]);
    expect(names(L.byIndex("team", "red"))).toEqual(["a", "b"]);
    // Deletes leave every index.
    lw.stream.push(ev("DELETED", pod("b", 13, { ns: "prod", node: "n2", owners: ["rs1", "rs2"], team: "red" })));
    await flush();
    expect(names(L.byIndex(Indexes.namespace, "prod"))).toEqual(["a"]);
    expect(names(L.byIndex(Indexes.ownerUid, "rs1"))).toEqual([]);
    expect(names(L.byIndex("team", "red"))).toEqual(["a"]);
    // An index added later covers what is cached already.
    informer.addIndexers({ node2: (o) => (o.spec?.nodeName === "n2" ? ["yes"] : []) });
    expect(names(L.byIndex("node2", "yes"))).toEqual(["a"]);
    expect(() => informer.addIndexers({ team: (o) => [o.metadata.name!] })).toThrow("already exists");
    expect(() => L.byIndex("nope", "x")).toThrow('no index "nope"');
    stop.abort();
    await running;
  });

  it("resync calls onUpdate(obj, obj) every period for handlers that want it, only once synced", async () => {
    const { clock, lw, informer, stop, start } = setup({ resyncMs: 1000 });
    lw.lists.push(new Error("not yet"), list(10, [pod("a", 3), pod("b", 4)]));
    const wants = recorder();
    const skips = recorder();
    informer.addEventHandler(wants.handler);
    informer.addEventHandler(skips.handler, { resync: false });
    const running = start();
    await flush();
    await clock.advanceAsync(999, 50);
    expect(informer.hasSynced()).toBe(true); // synced after the backoff
    expect(wants.calls.filter((c) => c.startsWith("update"))).toEqual([]); // the resync before sync did nothing
    await clock.advanceAsync(1000, 50);
    expect(wants.calls.filter((c) => c.startsWith("update"))).toEqual(["update a@3->3", "update b@4->4"]);
    await clock.advanceAsync(1000, 50);
    expect(wants.calls.filter((c) => c.startsWith("update"))).toHaveLength(4);
    expect(skips.calls.filter((c) => c.startsWith("update"))).toEqual([]);
    stop.abort();
    await running;
    await clock.advanceAsync(3000, 100);
    expect(wants.calls.filter((c) => c.startsWith("update"))).toHaveLength(4); // no resync after stop
  });

  it("a handler that throws does not stop the informer or the other handlers", async () => {
    const { lw, informer, stop, start } = setup();
    lw.lists.push(list(10, [pod("a", 3)]));
    informer.addEventHandler({
      onAdd: () => {
        throw new Error("broken handler");
      },
      onUpdate: () => {
        throw new Error("broken handler");
      },
    });
    const r = recorder();
    informer.addEventHandler(r.handler);
    const running = start();
    await flush();
    lw.stream.push(ev("MODIFIED", pod("a", 11)));
    lw.stream.push(ev("ADDED", pod("b", 12)));
    await flush();
    expect(r.calls).toEqual(["add a@3 initial", "update a@3->11", "add b@12"]);
    expect(informer.lastSyncResourceVersion).toBe("12");
    stop.abort();
    await running;
  });

  it("malformed objects (no metadata, no name, not an object) are skipped in lists and watches", async () => {
    const { lw, informer, stop, start } = setup();
    lw.lists.push(list(10, [pod("a", 3), { kind: "Pod" }, { metadata: { namespace: "x" } }, null, "garbage", { metadata: { name: "" } }]));
    const r = recorder();
    informer.addEventHandler(r.handler);
    const running = start();
    await flush();
    expect(r.calls).toEqual(["add a@3 initial"]);
    lw.stream.push({ type: "ADDED", object: { kind: "Pod", metadata: { resourceVersion: "11" } } });
    lw.stream.push({ type: "MODIFIED", object: null as unknown as KubeObject });
    lw.stream.push({ type: "WEIRD" as WatchEvent["type"], object: pod("z", 12) });
    lw.stream.push(ev("ADDED", pod("b", 13)));
    await flush();
    expect(r.calls).toEqual(["add a@3 initial", "add b@13"]);
    expect(informer.lister.keys().sort()).toEqual(["default/a", "default/b"]);
    stop.abort();
    await running;
  });

  it("freeze: cached objects cannot be changed by a handler or a lister reader", async () => {
    const { lw, informer, stop, start } = setup({ freeze: true });
    lw.lists.push(list(10, [pod("a", 3, { labels: { app: "x" } })]));
    const errors: unknown[] = [];
    informer.addEventHandler({
      onAdd: (o) => {
        try {
          o.metadata.labels!.app = "changed";
        } catch (e) {
          errors.push(e);
        }
      },
    });
    const running = start();
    await flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TypeError);
    const a = informer.lister.get("default", "a")!;
    expect(() => {
      a.metadata.name = "b";
    }).toThrow(TypeError);
    expect(() => {
      (a.spec as Record<string, unknown>).nodeName = "n";
    }).toThrow(TypeError);
    expect(a.metadata.labels!.app).toBe("x");
    stop.abort();
    await running;
  });

  it("a handler added after sync is told of every cached object as an initial add; a removed one hears nothing more", async () => {
    const { lw, informer, stop, start } = setup({ transform: stripManagedFields });
    const withMf = pod("a", 3);
    withMf.metadata.managedFields = [{ manager: "kubectl" }];
    lw.lists.push(list(10, [withMf, pod("b", 4)]));
    const running = start();
    await flush();
    const late = recorder();
    const reg = informer.addEventHandler(late.handler);
    expect(late.calls.sort()).toEqual(["add a@3 initial", "add b@4 initial"]);
    expect(informer.lister.get("default", "a")!.metadata.managedFields).toBeUndefined(); // the transform ran
    reg.remove();
    reg.remove();
    lw.stream.push(ev("ADDED", pod("c", 11)));
    await flush();
    expect(late.calls).toHaveLength(2);
    stop.abort();
    await running;
  });

  it("run() ends promptly when stopped during a backoff", async () => {
    const { lw, informer, stop, start } = setup();
    lw.lists.push(new Error("down"));
    const running = start();
    await flush();
    stop.abort();
    await running;
    expect(informer.hasSynced()).toBe(false);
  });
});

// ---- the property ----

type Op =
  | { t: "create" | "update" | "delete"; name: string }
  | { t: "compact" | "end" | "throw" | "gone" | "bookmark" | "failList" | "settle" | "lateHandler" };

const NAMES = ["p0", "p1", "p2", "p3", "p4"];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constantFrom("create" as const, "update" as const, "delete" as const), name: fc.constantFrom(...NAMES) }) },
  { weight: 7, arbitrary: fc.record({ t: fc.constantFrom("compact" as const, "end" as const, "throw" as const, "gone" as const, "bookmark" as const, "failList" as const, "settle" as const) }) },
  { weight: 1, arbitrary: fc.constant({ t: "lateHandler" as const }) },
);

/**
 * A server with a revisioned history: lists answer the current state; a watch from RV r streams
 * the changes after r (or a 410 ERROR if r was compacted away), until the test breaks it.
 */
class FakeServer implements ListerWatcher<Pod> {
  rev = 1;
  compacted = 0;
  readonly objects = new Map<string, Pod>();
  readonly log: { rev: number; event: WatchEvent }[] = [];
  failLists = 0;
  readonly watchFrom: number[] = [];
  private active: { brk?: "end" | "throw" | "gone"; bookmark?: boolean } | undefined;
  private wake: (() => void) | undefined;

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  change(t: "create" | "update" | "delete", name: string, gen: number): void {
    const cur = this.objects.get(name);
    if (t === "create" && cur) t = "update";
    if ((t === "update" || t === "delete") && !cur) t = "create";
    const rev = ++this.rev;
    if (t === "delete") {
      const last = { ...structuredClone(cur!), metadata: { ...cur!.metadata, resourceVersion: String(rev) } };
      this.objects.delete(name);
      this.log.push({ rev, event: ev("DELETED", last) });
    } else {
      const o = pod(name, rev, { node: `n${gen % 3}`, labels: { gen: String(gen) } });
      this.objects.set(name, o);
      this.log.push({ rev, event: ev(t === "create" ? "ADDED" : "MODIFIED", o) });
    }
    this.poke();
  }

  compact(): void {
    this.compacted = this.rev;
  }

  breakWatch(how: "end" | "throw" | "gone"): void {
    if (this.active) this.active.brk = how;
    this.poke();
  }

  bookmark(): void {
    if (this.active) this.active.bookmark = true;
    this.poke();
  }

  async list(): Promise<KubeList<Pod>> {
    await Promise.resolve();
    if (this.failLists > 0) {
      this.failLists--;
      throw new Error("list failed");
    }
    return list(this.rev, [...this.objects.values()].map((o) => structuredClone(o)));
  }

  watch(opts: { resourceVersion: string; signal: AbortSignal }): AsyncIterable<WatchEvent> {
    const from = Number(opts.resourceVersion);
    this.watchFrom.push(from);
    const me: { brk?: "end" | "throw" | "gone"; bookmark?: boolean } = {};
    this.active = me;
    return this.stream(from, opts, me);
  }

  private async *stream(from: number, opts: { resourceVersion: string; signal: AbortSignal }, me: { brk?: "end" | "throw" | "gone"; bookmark?: boolean }): AsyncGenerator<WatchEvent> {
    const onAbort = () => this.poke();
    opts.signal.addEventListener("abort", onAbort, { once: true });
    try {
      if (!Number.isSafeInteger(from) || from < this.compacted) {
        yield { type: "ERROR", object: toStatus(newGone(`too old resource version: ${opts.resourceVersion} (${this.compacted})`)) };
        return;
      }
      let cursor = from;
      while (!opts.signal.aborted) {
        if (me.brk === "end") return;
        if (me.brk === "throw") throw new Error("watch connection lost");
        if (me.brk === "gone") {
          yield { type: "ERROR", object: toStatus(newGone("the watch cache moved on")) };
          return;
        }
        const next = this.log.find((e) => e.rev > cursor);
        if (next) {
          cursor = next.rev;
          yield structuredClone(next.event);
          continue;
        }
        if (me.bookmark) {
          me.bookmark = false;
          yield bookmark(this.rev);
          continue;
        }
        await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      opts.signal.removeEventListener("abort", onAbort);
      if (this.active === me) this.active = undefined;
    }
  }
}

/** A handler that replays what it is told into its own map, checking each step is consistent. */
function replayingHandler(view: Map<string, Pod>, problems: string[]): EventHandler<Pod> {
  const key = (o: Pod) => `${o.metadata.namespace}/${o.metadata.name}`;
  return {
    onAdd: (o) => {
      if (view.has(key(o))) problems.push(`add of ${key(o)}, which the handler already has`);
      view.set(key(o), o);
    },
    onUpdate: (a, b) => {
      const k = key(b);
      const have = view.get(k);
      if (!have) problems.push(`update of ${k}, which the handler does not have`);
      else if (have.metadata.resourceVersion !== a.metadata.resourceVersion) problems.push(`update of ${k}: old is @${a.metadata.resourceVersion}, handler has @${have.metadata.resourceVersion}`);
      if (Number(b.metadata.resourceVersion) < Number(a.metadata.resourceVersion)) problems.push(`update of ${k} went back from @${a.metadata.resourceVersion} to @${b.metadata.resourceVersion}`);
      view.set(k, b);
    },
    onDelete: (o) => {
      const obj = deletedObject(o);
      const k = o instanceof DeletedFinalStateUnknown ? o.key : key(obj);
      if (!view.has(k)) problems.push(`delete of ${k}, which the handler does not have`);
      view.delete(k);
    },
  };
}

describe("SharedInformer property", () => {
  it("random changes with random 410s, broken watches, compactions and failed lists: the cache ends equal to the server, each handler's view equal to the cache", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 80, size: "max" }), fc.boolean(), async (ops, freeze) => {
        const clock = new FakeClock(0);
        const server = new FakeServer();
        // Some objects exist before the informer starts.
        server.change("create", "p0", 0);
        server.change("create", "p1", 1);
        const informer = new SharedInformer<Pod>({ name: "pods", listerWatcher: server, clock, rng: new SeededRng(1), backoffInitialMs: 10, backoffMaxMs: 50, indexers: standardIndexers as never, freeze });
        const problems: string[] = [];
        const views: Map<string, Pod>[] = [new Map()];
        informer.addEventHandler(replayingHandler(views[0]!, problems));
        informer.addEventHandler({
          onUpdate: () => {
            throw new Error("a broken handler");
          },
        });
        const stop = new AbortController();
        const running = informer.run(stop.signal);
        let gen = 2;
        for (const op of ops) {
          switch (op.t) {
            case "create":
            case "update":
            case "delete":
              server.change(op.t, op.name, gen++);
              break;
            case "compact":
              server.compact();
              break;
            case "end":
            case "throw":
            case "gone":
              server.breakWatch(op.t);
              break;
            case "bookmark":
              server.bookmark();
              break;
            case "failList":
              server.failLists++;
              break;
            case "settle":
              await clock.advanceAsync(60, 10);
              break;
            case "lateHandler": {
              const v = new Map<string, Pod>();
              views.push(v);
              informer.addEventHandler(replayingHandler(v, problems));
              break;
            }
          }
          await flush(1);
        }
        // Let it catch up: backoffs run out, the watch delivers the rest.
        const want = () => Object.fromEntries([...server.objects].map(([n, o]) => [`default/${n}`, o.metadata.resourceVersion]).sort());
        const cacheState = () => Object.fromEntries(informer.lister.keys().sort().map((k) => [k, informer.lister.getByKey(k)!.metadata.resourceVersion]));
        for (let i = 0; i < 200 && !(informer.hasSynced() && JSON.stringify(cacheState()) === JSON.stringify(want())); i++) await clock.advanceAsync(20, 10);
        expect(problems).toEqual([]);
        expect(cacheState()).toEqual(want());
        expect(Number(informer.lastSyncResourceVersion)).toBeLessThanOrEqual(server.rev);
        // Every handler's replay equals the cache, object for object.
        for (const v of views) {
          expect(Object.fromEntries([...v].map(([k, o]) => [k, o.metadata.resourceVersion]).sort())).toEqual(cacheState());
          for (const [k, o] of v) expect(o).toBe(informer.lister.getByKey(k));
        }
        // The indexes agree with the objects.
        for (const n of ["n0", "n1", "n2"])
          expect(
            informer.lister
              .byIndex(Indexes.nodeName, n)
              .map((p) => p.metadata.name)
              .sort(),
          ).toEqual([...server.objects.values()].filter((p) => p.spec?.nodeName === n).map((p) => p.metadata.name).sort());
        // A watch never starts from an RV the informer did not get from the server.
        for (const rv of server.watchFrom) expect(rv).toBeLessThanOrEqual(server.rev);
        stop.abort();
        await running;
      }),
      { numRuns: 300 },
    );
  }, 120_000);
});
