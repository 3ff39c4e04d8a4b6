/**
 * The watch cache: the conformance suite through a Cacher, then what only a cache does
 * (one store watch for many clients, RV=0 from memory, event window, slow consumers, re-list).
 */
import { MvccStore } from "@kubemu/etcd-raft";
import { afterEach, describe, expect, it } from "vitest";
import { Cacher, type KubeObject, KvStorage, KvStorageFactory, type KvWatchBatch, MvccBackend } from "../../src/storage/index.js";
import { runStorageConformance } from "./conformance.js";
import { pod, WatchReader } from "./helpers.js";

const WINDOW = 8;

runStorageConformance("Cacher over KvStorage over MvccStore", async () => {
  const factory = new KvStorageFactory({
    backend: new MvccBackend(new MvccStore()),
    compactionWindow: 0,
    bookmarkIntervalMs: 50,
    cacher: { windowEvents: WINDOW, bookmarkIntervalMs: 50, progressIntervalMs: 20, freshWaitMs: 300 },
  });
  return { factory, settle: () => factory.waitForCaches(), close: () => factory.close(), bookmarkIntervalMs: 50, writesToExpire: WINDOW + 2 };
});

/** A backend that counts the store watches opened through it, and can break them. */
class CountingBackend extends MvccBackend {
  watches = 0;
  /** While set, a broken watch fails (and new ones fail at once). */
  failWatches = false;
  private readonly live = new Set<AbortController>();

  override async *watch(...[start, end, opts]: Parameters<MvccBackend["watch"]>): AsyncIterable<KvWatchBatch> {
    this.watches++;
    if (this.failWatches) throw new Error("store unreachable");
    const ac = new AbortController();
    opts.signal?.addEventListener("abort", () => ac.abort(), { once: true });
    this.live.add(ac);
    try {
      yield* super.watch(start, end, { ...opts, signal: ac.signal });
    } finally {
      this.live.delete(ac);
    }
    if (this.failWatches && !opts.signal?.aborted) throw new Error("connection lost");
  }

  /** Ends every open watch (they fail if failWatches is set). */
  breakWatches(): void {
    for (const ac of this.live) ac.abort();
  }
}

describe("Cacher", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  async function setup(opts: ConstructorParameters<typeof Cacher>[4] = {}) {
    const store = new MvccStore();
    const backend = new CountingBackend(store);
    const resource = { resource: "pods" };
    const inner = new KvStorage({ resource, backend });
    const cacher = new Cacher(inner, backend, resource, "/registry/pods/", { progressIntervalMs: 20, ...opts });
    cleanups.push(() => cacher.stop());
    while (!cacher.ready) await new Promise((r) => setTimeout(r, 2));
    return { store, backend, inner, cacher };
  }

  const until = async (cond: () => boolean, ms = 2000) => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error("condition not met in time");
      await new Promise((r) => setTimeout(r, 2));
    }
  };

  it("serves many client watches from one store watch", async () => {
    const { backend, cacher } = await setup();
    const opened = backend.watches;
    const rv = await cacher.currentResourceVersion();
    const readers = Array.from({ length: 10 }, () => new WatchReader(cacher.watch("/registry/pods/", { recursive: true, resourceVersion: rv })));
    await cacher.create("/registry/pods/default/a", pod("default", "a"));
    for (const r of readers) expect((await r.take(1))[0]!.type).toBe("ADDED");
    expect(backend.watches).toBe(opened);
    for (const r of readers) r.watch.stop();
  });

  it('serves resourceVersion="0" lists from memory, without reading the store', async () => {
    const { backend, cacher } = await setup();
    await cacher.create("/registry/pods/default/a", pod("default", "a"));
    await until(() => cacher.revision >= backend.store.revision);
    const range = backend.range.bind(backend);
    let storeReads = 0;
    backend.range = (...args) => {
      storeReads++;
      return range(...args);
    };
    const r = await cacher.list("/registry/pods/default/", { recursive: true, resourceVersion: "0", limit: 1 });
    expect(r.items.map((i) => i.metadata.name)).toEqual(["a"]);
    expect(r.continue).toBeUndefined(); // RV=0 ignores limit, as upstream's cache does
    expect(storeReads).toBe(0);
    await cacher.list("/registry/pods/default/", { recursive: true }); // consistent list: the store
    expect(storeReads).toBe(1);
  });

  it("returns copies: mutating a listed object or event does not change the cache", async () => {
    const { backend, cacher } = await setup();
    await cacher.create("/registry/pods/default/a", pod("default", "a"));
    await until(() => cacher.revision >= backend.store.revision);
    const first = await cacher.list("/registry/pods/", { recursive: true, resourceVersion: "0" });
    (first.items[0] as KubeObject).metadata.name = "mutated";
    const again = await cacher.list("/registry/pods/", { recursive: true, resourceVersion: "0" });
    expect(again.items[0]!.metadata.name).toBe("a");
  });

  it("a watch older than the event window is 410; one inside it replays from the window", async () => {
    const { cacher } = await setup({ windowEvents: 4 });
    const start = Number(await cacher.currentResourceVersion());
    for (let i = 0; i < 6; i++) await cacher.create(`/registry/pods/default/p${i}`, pod("default", `p${i}`));
    await until(() => cacher.revision >= start + 6);
    const old = new WatchReader(cacher.watch("/registry/pods/", { recursive: true, resourceVersion: String(start) }));
    const ev = await old.next();
    expect(ev !== "timeout" && ev !== "end" && ev.type).toBe("ERROR");
    expect(JSON.stringify(ev)).toMatch(/too old resource version/);
    const recent = new WatchReader(cacher.watch("/registry/pods/", { recursive: true, resourceVersion: String(start + 3) }));
    expect((await recent.take(3)).map((e) => (e.object as KubeObject).metadata.name)).toEqual(["p3", "p4", "p5"]);
    recent.watch.stop();
  });

  it("terminates a watcher whose buffer overflows; the others keep receiving; nothing is lost on re-watch", async () => {
    const { cacher } = await setup({ watcherBufferEvents: 5, windowEvents: 100 });
    const rv = await cacher.currentResourceVersion();
    const slow = new WatchReader(cacher.watch("/registry/pods/", { recursive: true, resourceVersion: rv }));
    const fast = new WatchReader(cacher.watch("/registry/pods/", { recursive: true, resourceVersion: rv }));
    const fastSeen: string[] = [];
    const drain = (async () => {
      while (fastSeen.length < 20) {
        const [e] = await fast.take(1);
        fastSeen.push((e!.object as KubeObject).metadata.name!);
      }
    })();
    for (let i = 0; i < 20; i++) {
      await cacher.create(`/registry/pods/default/p${String(i).padStart(2, "0")}`, pod("default", `p${String(i).padStart(2, "0")}`));
      await new Promise((r) => setTimeout(r, 2)); // the fast reader keeps up; the slow one never reads
    }
    await drain;
    expect(fastSeen).toHaveLength(20);
    expect(cacher.slowTerminations).toBe(1);
    expect(cacher.stats()).toMatchObject({ resource: "pods", ready: true, objects: 20, watchers: 1, slowTerminations: 1 });
    // The slow watcher gets what was queued, then its stream ends.
    const got: KubeObject[] = [];
    for (;;) {
      const ev = await slow.next(1000);
      if (ev === "end") break;
      if (ev === "timeout") throw new Error("slow watcher was not terminated");
      got.push(ev.object as KubeObject);
    }
    expect(got.length).toBeGreaterThanOrEqual(5);
    expect(got.length).toBeLessThan(20);
    // Re-watching from the last RV it saw delivers the rest, in order.
    const resume = new WatchReader(cacher.watch("/registry/pods/", { recursive: true, resourceVersion: got[got.length - 1]!.metadata.resourceVersion! }));
    const rest = await resume.take(20 - got.length);
    expect([...got, ...rest.map((e) => e.object as KubeObject)].map((o) => o.metadata.name)).toEqual(fastSeen);
    resume.watch.stop();
  });

  it("re-lists after its store watch fails, ending client watches; the new state includes writes made meanwhile", async () => {
    const { backend, cacher } = await setup({ restartDelayMs: 20 });
    const gen = cacher.generation;
    const w = new WatchReader(cacher.watch("/registry/pods/", { recursive: true, resourceVersion: await cacher.currentResourceVersion() }));
    await cacher.create("/registry/pods/default/a", pod("default", "a"));
    await w.take(1);
    backend.failWatches = true;
    backend.breakWatches();
    expect(await w.next(1000)).toBe("end");
    await cacher.create("/registry/pods/default/b", pod("default", "b"));
    backend.failWatches = false;
    await until(() => cacher.generation > gen && cacher.ready);
    const r = await cacher.list("/registry/pods/", { recursive: true, resourceVersion: "0" });
    expect(r.items.map((i) => i.metadata.name)).toEqual(["a", "b"]);
  });

  it("sendInitialEvents at an RV the cache has not reached yet waits for it, then sends that state", async () => {
    const { backend, cacher } = await setup({ progressIntervalMs: 10_000 });
    // Write straight to the store, then ask for state at least that new before the cache has seen it.
    const put = await backend.create("/registry/pods/default/a", new TextEncoder().encode(JSON.stringify(pod("default", "a"))));
    expect(cacher.revision).toBeLessThan(put.revision);
    const w = new WatchReader(cacher.watch("/registry/pods/", { recursive: true, resourceVersion: String(put.revision), sendInitialEvents: true }));
    const [ev] = await w.take(1);
    expect(ev!.type).toBe("ADDED");
    expect((ev!.object as KubeObject).metadata.resourceVersion).toBe(String(put.revision));
    w.watch.stop();
  });

  it("a not-older-than read the cache cannot reach in time is 504", async () => {
    const { cacher } = await setup({ freshWaitMs: 50 });
    const cur = Number(await cacher.currentResourceVersion());
    await expect(cacher.list("/registry/pods/", { recursive: true, resourceVersion: String(cur + 50) })).rejects.toMatchObject({ code: 504 });
    const w = new WatchReader(cacher.watch("/registry/pods/", { recursive: true, resourceVersion: String(cur + 50), sendInitialEvents: true }));
    const ev = await w.next();
    expect(ev !== "timeout" && ev !== "end" && ev.type).toBe("ERROR");
    expect(await w.next()).toBe("end");
  });
});
