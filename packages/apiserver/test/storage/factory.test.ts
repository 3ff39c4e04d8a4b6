/** KvStorageFactory: one Storage per resource, compaction to (current − window), the periodic compactor. */
import { FakeClock } from "@kubemu/common";
import { MvccStore } from "@kubemu/etcd-raft";
import { describe, expect, it } from "vitest";
import { KvStorageFactory, MvccBackend, RANGE_PAGE, startCompactor } from "../../src/storage/index.js";

describe("KvStorageFactory", () => {
  it("hands out the same Storage per resource and prefix", async () => {
    const f = new KvStorageFactory({ backend: new MvccBackend(new MvccStore()), watchCache: false });
    expect(f.forResource({ resource: "pods" })).toBe(f.forResource({ resource: "pods" }));
    expect(f.forResource({ resource: "pods" })).not.toBe(f.forResource({ resource: "pods", prefix: "/registry/other/" }));
    expect(() => f.forResource({ resource: "pods", prefix: "registry/pods" })).toThrow(/prefix/);
    await f.close();
    expect(() => f.forResource({ resource: "pods" })).toThrow(/closed/);
  });

  it("compact() keeps compactionWindow revisions of history", async () => {
    const store = new MvccStore();
    const f = new KvStorageFactory({ backend: new MvccBackend(store), watchCache: false, compactionWindow: 5 });
    const pods = f.forResource({ resource: "pods" });
    expect(await f.compact()).toBe(0); // nothing to compact yet
    for (let i = 0; i < 10; i++) await pods.create(`/registry/pods/d/p${i}`, { metadata: { name: `p${i}` } });
    expect(store.revision).toBe(11);
    expect(await f.compact()).toBe(6);
    expect(store.compactRevision).toBe(6);
    // Reads inside the window still work; older ones are 410.
    await pods.list("/registry/pods/", { recursive: true, resourceVersion: "6", resourceVersionMatch: "Exact" });
    await expect(pods.list("/registry/pods/", { recursive: true, resourceVersion: "5", resourceVersionMatch: "Exact" })).rejects.toMatchObject({ code: 410 });
    expect(await f.compact()).toBe(6); // idempotent
    await f.close();
  });

  it("startCompactor compacts every interval and survives a failing round", async () => {
    const clock = new FakeClock(0);
    const store = new MvccStore();
    const backend = new MvccBackend(store);
    const f = new KvStorageFactory({ backend, watchCache: false, compactionWindow: 2 });
    const pods = f.forResource({ resource: "pods" });
    let failNext = true;
    const compact = f.compact.bind(f);
    f.compact = () => (failNext ? ((failNext = false), Promise.reject(new Error("no leader"))) : compact());
    const c = startCompactor({ factory: f, intervalMs: 1000, clock });
    for (let i = 0; i < 5; i++) await pods.create(`/registry/pods/d/p${i}`, { metadata: { name: `p${i}` } });
    await clock.advanceAsync(1000);
    expect(store.compactRevision).toBe(0); // the failed round
    await clock.advanceAsync(1000);
    await new Promise((r) => setTimeout(r, 0));
    expect(store.compactRevision).toBe(4);
    c.stop();
    await f.close();
  });

  it("lists more objects than one store read returns (internal paging at one revision), directly and from the cache", async () => {
    const store = new MvccStore();
    const n = 2 * RANGE_PAGE + 17;
    for (let i = 0; i < n; i++) store.apply({ type: "put", key: `/registry/pods/d/p${String(i).padStart(5, "0")}`, value: JSON.stringify({ metadata: { name: `p${i}` } }) });
    const f = new KvStorageFactory({ backend: new MvccBackend(store) });
    const pods = f.forResource({ resource: "pods" });
    await f.waitForCaches();
    const direct = await pods.list("/registry/pods/", { recursive: true });
    expect(direct.items).toHaveLength(n);
    expect(direct.continue).toBeUndefined();
    const cached = await pods.list("/registry/pods/", { recursive: true, resourceVersion: "0" });
    expect(cached.items).toHaveLength(n);
    expect(cached.items.map((o) => o.metadata.resourceVersion)).toEqual(direct.items.map((o) => o.metadata.resourceVersion));
    await f.close();
  });
});
