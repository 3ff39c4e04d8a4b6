/**
 * The storage conformance suite: every Storage implementation (KvStorage over each backend,
 * and the watch Cacher) must pass it unchanged. Call runStorageConformance from a test file.
 */
import { isStatus, type Status, StatusError } from "@kubemu/common";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { KubeObject, Storage, StorageFactory, WatchEvent } from "../../src/storage/index.js";
import { pod, summary, WatchReader } from "./helpers.js";

export interface ConformanceTarget {
  /** Configured with compactionWindow 0 (compact() compacts to the current revision). */
  factory: StorageFactory;
  /** Waits until storages created so far are ready (e.g. watch caches listed). */
  settle?: () => Promise<void>;
  /** Called after each test. */
  close: () => Promise<void>;
  /** Writes (beyond a cache's event window) a watch from an early RV needs before it is 410 once compacted. */
  writesToExpire?: number;
  /** BOOKMARK period configured in this target, ms (bookmark tests wait a few of these). */
  bookmarkIntervalMs: number;
}

let nsCounter = 0;

async function rejection(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw new Error(`expected a StatusError, got ${String(e)}`);
  }
  throw new Error("expected a rejection, but the call succeeded");
}

function rvOf(o: KubeObject | undefined): number {
  return Number(o?.metadata.resourceVersion);
}

function names(items: KubeObject[]): string[] {
  return items.map((i) => i.metadata.name!);
}

function objOf(ev: WatchEvent): KubeObject {
  return ev.object as KubeObject;
}

export function runStorageConformance(name: string, makeTarget: () => Promise<ConformanceTarget>): void {
  describe(`storage conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let pods: Storage;
    let ns: string;
    let dir: string;
    const key = (n: string, namespace = ns) => `/registry/pods/${namespace}/${n}`;
    const watches: WatchReader[] = [];
    const watch = (...args: Parameters<Storage["watch"]>) => {
      const r = new WatchReader(pods.watch(...args));
      watches.push(r);
      return r;
    };

    beforeEach(async () => {
      target = await makeTarget();
      pods = target.factory.forResource({ resource: "pods", kind: "Pod", apiVersion: "v1" });
      await target.settle?.();
      ns = `ns${++nsCounter}-${Math.floor(Math.random() * 1e6)}`;
      dir = `/registry/pods/${ns}/`;
    });

    afterEach(async () => {
      for (const w of watches.splice(0)) w.watch.stop();
      await target.close();
    });

    // ---- create / get ------------------------------------------------------------------------

    describe("create and get", () => {
      it("create stores the object and returns it with a resourceVersion; get reads it back", async () => {
        const created = await pods.create(key("a"), pod(ns, "a"));
        expect(created.metadata.resourceVersion).toMatch(/^[1-9]\d*$/);
        expect(created.metadata.name).toBe("a");
        const got = await pods.get(key("a"));
        expect(got).toEqual(created);
        const second = await pods.create(key("b"), pod(ns, "b"));
        expect(rvOf(second)).toBeGreaterThan(rvOf(created));
      });

      it("create ignores a resourceVersion on the input and returns a copy", async () => {
        const input = pod(ns, "a");
        input.metadata.resourceVersion = "12345";
        const created = await pods.create(key("a"), input);
        expect(created.metadata.resourceVersion).not.toBe("12345");
        expect(input.metadata.resourceVersion).toBe("12345");
        created.metadata.labels = { mutated: "yes" };
        expect((await pods.get(key("a")))!.metadata.labels).toBeUndefined();
      });

      it("create of an existing key is 409 AlreadyExists naming the resource", async () => {
        await pods.create(key("a"), pod(ns, "a"));
        const e = await rejection(pods.create(key("a"), pod(ns, "a")));
        expect(e.code).toBe(409);
        expect(e.reason).toBe("AlreadyExists");
        expect(e.message).toBe('pods "a" already exists');
      });

      it("create dryRun writes nothing, and still reports AlreadyExists", async () => {
        const before = await pods.currentResourceVersion();
        const dry = await pods.create(key("a"), pod(ns, "a"), { dryRun: true });
        expect(dry.metadata.name).toBe("a");
        expect(await pods.get(key("a"), { ignoreNotFound: true })).toBeUndefined();
        expect(await pods.currentResourceVersion()).toBe(before);
        await pods.create(key("a"), pod(ns, "a"));
        expect((await rejection(pods.create(key("a"), pod(ns, "a"), { dryRun: true }))).reason).toBe("AlreadyExists");
      });

      it("get of a missing key is 404 NotFound, or undefined with ignoreNotFound", async () => {
        const e = await rejection(pods.get(key("nope")));
        expect(e.code).toBe(404);
        expect(e.reason).toBe("NotFound");
        expect(e.message).toBe('pods "nope" not found');
        expect(await pods.get(key("nope"), { ignoreNotFound: true })).toBeUndefined();
      });

      it("errors name a grouped resource as resource.group", async () => {
        const deps = target.factory.forResource({ group: "apps", resource: "deployments" });
        await target.settle?.();
        const e = await rejection(deps.get(`/registry/deployments/${ns}/web`));
        expect(e.message).toBe('deployments.apps "web" not found');
      });

      it("get with resourceVersion: 0 and not-older-than the current RV find the object; a future RV is 504", async () => {
        const created = await pods.create(key("a"), pod(ns, "a"));
        expect(await pods.get(key("a"), { resourceVersion: created.metadata.resourceVersion! })).toEqual(created);
        const any = await pods.get(key("a"), { resourceVersion: "0", ignoreNotFound: true });
        if (any) expect(any.metadata.name).toBe("a"); // "any" may be older than the create
        const e = await rejection(pods.get(key("a"), { resourceVersion: String(rvOf(created) + 1000) }));
        expect(e.code).toBe(504);
        expect(e.message).toMatch(/Too large resource version/);
      });

      it("a malformed resourceVersion is 400", async () => {
        expect((await rejection(pods.get(key("a"), { resourceVersion: "abc" }))).code).toBe(400);
        expect((await rejection(pods.list(dir, { recursive: true, resourceVersion: "-1" }))).code).toBe(400);
      });

      it("currentResourceVersion grows with writes", async () => {
        const a = Number(await pods.currentResourceVersion());
        const created = await pods.create(key("a"), pod(ns, "a"));
        const b = Number(await pods.currentResourceVersion());
        expect(b).toBeGreaterThan(a);
        expect(b).toBeGreaterThanOrEqual(rvOf(created));
      });
    });

    // ---- list ----------------------------------------------------------------------------------

    describe("list", () => {
      it("lists the objects under a prefix in key order, and nothing from a sibling prefix", async () => {
        for (const n of ["c", "a", "b"]) await pods.create(key(n), pod(ns, n));
        await pods.create(key("x", `${ns}0`), pod(`${ns}0`, "x")); // "<ns>0/" sorts right after "<ns>/"
        const r = await pods.list(dir, { recursive: true });
        expect(names(r.items)).toEqual(["a", "b", "c"]);
        expect(Number(r.resourceVersion)).toBeGreaterThanOrEqual(Math.max(...r.items.map(rvOf)));
        const noSlash = await pods.list(`/registry/pods/${ns}`, { recursive: true });
        expect(names(noSlash.items)).toEqual(["a", "b", "c"]);
        expect(r.continue).toBeUndefined();
      });

      it("each item carries its own resourceVersion", async () => {
        const a = await pods.create(key("a"), pod(ns, "a"));
        const b = await pods.create(key("b"), pod(ns, "b"));
        const r = await pods.list(dir, { recursive: true });
        expect(r.items.map((i) => i.metadata.resourceVersion)).toEqual([a.metadata.resourceVersion, b.metadata.resourceVersion]);
      });

      it("a predicate filters items", async () => {
        await pods.create(key("a"), pod(ns, "a", {}, { app: "web" }));
        await pods.create(key("b"), pod(ns, "b", {}, { app: "db" }));
        await pods.create(key("c"), pod(ns, "c", {}, { app: "web" }));
        const r = await pods.list(dir, { recursive: true, predicate: (o) => o.metadata.labels?.app === "web" });
        expect(names(r.items)).toEqual(["a", "c"]);
      });

      it("a non-recursive list returns the one object at the key", async () => {
        await pods.create(key("a"), pod(ns, "a"));
        await pods.create(key("ab"), pod(ns, "ab"));
        expect(names((await pods.list(key("a"), { recursive: false })).items)).toEqual(["a"]);
        expect((await pods.list(key("zz"), { recursive: false })).items).toEqual([]);
      });

      it("limit and continue page through everything at the first page's revision", async () => {
        for (let i = 0; i < 7; i++) await pods.create(key(`p${i}`), pod(ns, `p${i}`));
        const first = await pods.list(dir, { recursive: true, limit: 3 });
        expect(names(first.items)).toEqual(["p0", "p1", "p2"]);
        expect(first.continue).toBeTruthy();
        expect(first.remainingItemCount).toBe(4);
        // Changes after the first page are not seen by later pages.
        await pods.create(key("p9"), pod(ns, "p9"));
        await pods.delete(key("p5"));
        const second = await pods.list(dir, { recursive: true, limit: 3, continue: first.continue! });
        expect(names(second.items)).toEqual(["p3", "p4", "p5"]);
        expect(second.resourceVersion).toBe(first.resourceVersion);
        const third = await pods.list(dir, { recursive: true, limit: 3, continue: second.continue! });
        expect(names(third.items)).toEqual(["p6"]);
        expect(third.continue).toBeUndefined();
      });

      it("a page that ends exactly at the last item has no continue", async () => {
        for (let i = 0; i < 4; i++) await pods.create(key(`p${i}`), pod(ns, `p${i}`));
        const r = await pods.list(dir, { recursive: true, limit: 4 });
        expect(r.items).toHaveLength(4);
        expect(r.continue).toBeUndefined();
      });

      it("limit with a predicate fills pages with matches only and finds all of them", async () => {
        for (let i = 0; i < 12; i++) await pods.create(key(`p${String(i).padStart(2, "0")}`), pod(ns, `p${String(i).padStart(2, "0")}`, {}, { even: String(i % 2 === 0) }));
        const predicate = (o: KubeObject) => o.metadata.labels?.even === "true";
        const seen: string[] = [];
        let cont: string | undefined;
        let pages = 0;
        do {
          const r = await pods.list(dir, { recursive: true, limit: 2, predicate, ...(cont ? { continue: cont } : {}) });
          expect(r.items.length).toBeLessThanOrEqual(2);
          expect(r.remainingItemCount).toBeUndefined();
          seen.push(...names(r.items));
          cont = r.continue;
          pages++;
        } while (cont && pages < 20);
        expect(seen).toEqual(["p00", "p02", "p04", "p06", "p08", "p10"]);
      });

      it('resourceVersion "0" lists (possibly stale) data; NotOlderThan a fresh RV includes every write up to it', async () => {
        await pods.create(key("a"), pod(ns, "a"));
        const b = await pods.create(key("b"), pod(ns, "b"));
        const any = await pods.list(dir, { recursive: true, resourceVersion: "0" });
        expect(Number(any.resourceVersion)).toBeGreaterThan(0);
        const fresh = await pods.list(dir, { recursive: true, resourceVersion: b.metadata.resourceVersion!, resourceVersionMatch: "NotOlderThan" });
        expect(names(fresh.items)).toEqual(["a", "b"]);
        expect(Number(fresh.resourceVersion)).toBeGreaterThanOrEqual(rvOf(b));
        const legacy = await pods.list(dir, { recursive: true, resourceVersion: b.metadata.resourceVersion! });
        expect(names(legacy.items)).toEqual(["a", "b"]);
      });

      it("NotOlderThan a future revision is 504 Too large resource version", async () => {
        const cur = Number(await pods.currentResourceVersion());
        const e = await rejection(pods.list(dir, { recursive: true, resourceVersion: String(cur + 1000), resourceVersionMatch: "NotOlderThan" }));
        expect(e.code).toBe(504);
        expect(e.status.details?.causes?.[0]?.reason).toBe("ResourceVersionTooLarge");
      });

      it("Exact reads the state at that revision", async () => {
        const a = await pods.create(key("a"), pod(ns, "a"));
        await pods.create(key("b"), pod(ns, "b"));
        await pods.guaranteedUpdate(key("a"), (cur) => ({ ...cur!, spec: { changed: true } }));
        const r = await pods.list(dir, { recursive: true, resourceVersion: a.metadata.resourceVersion!, resourceVersionMatch: "Exact" });
        expect(r.resourceVersion).toBe(a.metadata.resourceVersion);
        expect(r.items).toEqual([a]);
        // A paged list at an RV without a match is exact too (legacy semantics).
        const paged = await pods.list(dir, { recursive: true, resourceVersion: a.metadata.resourceVersion!, limit: 10 });
        expect(paged.items).toEqual([a]);
      });

      it('Exact without a resourceVersion (or with "0") is 400; continue with a resourceVersion is 400; a malformed continue is 400', async () => {
        expect((await rejection(pods.list(dir, { recursive: true, resourceVersionMatch: "Exact" }))).code).toBe(400);
        expect((await rejection(pods.list(dir, { recursive: true, resourceVersion: "0", resourceVersionMatch: "Exact" }))).code).toBe(400);
        expect((await rejection(pods.list(dir, { recursive: true, continue: "not-a-token" }))).code).toBe(400);
        for (let i = 0; i < 3; i++) await pods.create(key(`p${i}`), pod(ns, `p${i}`));
        const first = await pods.list(dir, { recursive: true, limit: 1 });
        expect((await rejection(pods.list(dir, { recursive: true, continue: first.continue!, resourceVersion: "5" }))).code).toBe(400);
        const escape = Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: 1, start: "../secrets/x" })).toString("base64url");
        expect((await rejection(pods.list(dir, { recursive: true, continue: escape }))).code).toBe(400);
      });

      it("Exact at a compacted revision, and a continue token from before a compaction, are 410 Expired", async () => {
        const a = await pods.create(key("a"), pod(ns, "a"));
        await pods.create(key("b"), pod(ns, "b"));
        await pods.create(key("c"), pod(ns, "c"));
        const first = await pods.list(dir, { recursive: true, limit: 1 });
        await pods.create(key("d"), pod(ns, "d"));
        expect(await target.factory.compact()).toBeGreaterThan(rvOf(a));
        const e1 = await rejection(pods.list(dir, { recursive: true, resourceVersion: a.metadata.resourceVersion!, resourceVersionMatch: "Exact" }));
        expect(e1.code).toBe(410);
        expect(e1.reason).toBe("Expired");
        const e2 = await rejection(pods.list(dir, { recursive: true, limit: 1, continue: first.continue! }));
        expect(e2.code).toBe(410);
        expect(e2.message).toMatch(/continue/);
      });
    });

    // ---- watch ---------------------------------------------------------------------------------

    describe("watch", () => {
      it("from a resourceVersion: ADDED, MODIFIED, DELETED with their revisions; DELETED carries the last state", async () => {
        const start = await pods.currentResourceVersion();
        const w = watch(dir, { recursive: true, resourceVersion: start });
        const a = await pods.create(key("a"), pod(ns, "a"));
        const a2 = await pods.guaranteedUpdate(key("a"), (cur) => ({ ...cur!, metadata: { ...cur!.metadata, labels: { v: "2" } } }));
        const gone = await pods.delete(key("a"));
        const evs = await w.take(3);
        expect(evs.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
        expect(objOf(evs[0]!)).toEqual(a);
        expect(objOf(evs[1]!)).toEqual(a2);
        expect(objOf(evs[2]!).metadata.labels).toEqual({ v: "2" });
        expect(objOf(evs[2]!).metadata.resourceVersion).toBe(gone.metadata.resourceVersion);
        expect(rvOf(gone)).toBeGreaterThan(rvOf(a2));
      });

      it("from an older resourceVersion replays the changes after it", async () => {
        const a = await pods.create(key("a"), pod(ns, "a"));
        const b = await pods.create(key("b"), pod(ns, "b"));
        await pods.delete(key("a"));
        const w = watch(dir, { recursive: true, resourceVersion: a.metadata.resourceVersion! });
        const evs = await w.take(2);
        expect(evs.map(summary)).toEqual([`ADDED b@${b.metadata.resourceVersion}`, expect.stringMatching(/^DELETED a@/)]);
      });

      it('with resourceVersion "0" (and unset) starts with ADDED for the current state, then changes', async () => {
        await pods.create(key("a"), pod(ns, "a"));
        await pods.create(key("b"), pod(ns, "b"));
        await target.settle?.();
        // "0" may be served from a cache that lags a little: wait until it shows both.
        const w0 = watch(dir, { recursive: true, resourceVersion: "0" });
        const initial0 = await w0.take(2);
        expect(initial0.map((e) => e.type)).toEqual(["ADDED", "ADDED"]);
        expect(names(initial0.map(objOf)).sort()).toEqual(["a", "b"]);
        const wu = watch(dir, { recursive: true });
        const initialU = await wu.take(2);
        expect(names(initialU.map(objOf)).sort()).toEqual(["a", "b"]);
        await pods.create(key("c"), pod(ns, "c"));
        expect((await w0.take(1)).map((e) => [e.type, objOf(e).metadata.name])).toEqual([["ADDED", "c"]]);
        expect((await wu.take(1)).map((e) => [e.type, objOf(e).metadata.name])).toEqual([["ADDED", "c"]]);
      });

      it("sendInitialEvents=false from unset RV starts from now", async () => {
        await pods.create(key("a"), pod(ns, "a"));
        const w = watch(dir, { recursive: true, sendInitialEvents: false });
        await new Promise((r) => setTimeout(r, 300)); // let the watch establish its start revision
        await pods.create(key("b"), pod(ns, "b"));
        expect((await w.take(1)).map((e) => objOf(e).metadata.name)).toEqual(["b"]);
      });

      it('resourceVersion "0" with sendInitialEvents=false starts from now', async () => {
        await pods.create(key("a"), pod(ns, "a"));
        await target.settle?.();
        const w = watch(dir, { recursive: true, resourceVersion: "0", sendInitialEvents: false });
        await new Promise((r) => setTimeout(r, 300)); // let the watch establish its start revision
        await pods.create(key("b"), pod(ns, "b"));
        expect((await w.take(1)).map((e) => objOf(e).metadata.name)).toEqual(["b"]);
      });

      it("sendInitialEvents with allowBookmarks ends the initial state with an annotated BOOKMARK", async () => {
        await pods.create(key("a"), pod(ns, "a"));
        const rv = await pods.currentResourceVersion();
        const w = watch(dir, { recursive: true, resourceVersion: rv, resourceVersionMatch: undefined, sendInitialEvents: true, allowBookmarks: true } as never);
        const first = await w.next();
        expect(first !== "timeout" && first !== "end" && first.type).toBe("ADDED");
        const bm = await w.next();
        if (bm === "timeout" || bm === "end") throw new Error(`no bookmark: ${bm}`);
        expect(bm.type).toBe("BOOKMARK");
        expect(objOf(bm).metadata.annotations).toEqual({ "k8s.io/initial-events-end": "true" });
        expect(Number(objOf(bm).metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(rv));
        expect(objOf(bm).kind).toBe("Pod");
      });

      it("allowBookmarks delivers periodic BOOKMARKs that carry revisions made elsewhere", async () => {
        const w = watch(dir, { recursive: true, resourceVersion: await pods.currentResourceVersion(), allowBookmarks: true });
        const other = target.factory.forResource({ resource: "configmaps" });
        const cm = await other.create(`/registry/configmaps/${ns}/x`, { metadata: { name: "x", namespace: ns } });
        const deadline = Date.now() + target.bookmarkIntervalMs * 10 + 3000;
        for (;;) {
          const ev = await w.next(Math.max(1, deadline - Date.now()));
          if (ev === "timeout" || ev === "end") throw new Error(`no bookmark at or past ${cm.metadata.resourceVersion}: ${ev}`);
          expect(ev.type).toBe("BOOKMARK");
          if (rvOf(objOf(ev)) >= rvOf(cm)) break;
        }
      });

      it("without allowBookmarks no BOOKMARK arrives", async () => {
        const w = watch(dir, { recursive: true, resourceVersion: await pods.currentResourceVersion() });
        const other = target.factory.forResource({ resource: "configmaps" });
        await other.create(`/registry/configmaps/${ns}/x`, { metadata: { name: "x", namespace: ns } });
        const ev = await w.next(target.bookmarkIntervalMs * 4 + 100);
        expect(ev).toBe("timeout");
      });

      it("a predicate filters events; objects moving in arrive as ADDED, moving out as DELETED", async () => {
        const web = (o: KubeObject) => o.metadata.labels?.app === "web";
        await pods.create(key("a"), pod(ns, "a", {}, { app: "db" }));
        const w = watch(dir, { recursive: true, resourceVersion: await pods.currentResourceVersion(), predicate: web });
        await pods.create(key("b"), pod(ns, "b", {}, { app: "db" })); // never matches
        const inA = await pods.guaranteedUpdate(key("a"), (c) => ({ ...c!, metadata: { ...c!.metadata, labels: { app: "web" } } }));
        const modA = await pods.guaranteedUpdate(key("a"), (c) => ({ ...c!, spec: { x: 1 } }));
        const outA = await pods.guaranteedUpdate(key("a"), (c) => ({ ...c!, metadata: { ...c!.metadata, labels: { app: "db" } } }));
        await pods.delete(key("a")); // not matching before: nothing
        await pods.create(key("c"), pod(ns, "c", {}, { app: "web" }));
        const evs = await w.take(4);
        expect(evs.map((e) => `${e.type} ${objOf(e).metadata.name}`)).toEqual(["ADDED a", "MODIFIED a", "DELETED a", "ADDED c"]);
        expect(objOf(evs[0]!)).toEqual(inA);
        expect(objOf(evs[1]!)).toEqual(modA);
        // The DELETED for leaving the predicate carries the last matching state, at the revision of the change.
        expect(objOf(evs[2]!).metadata.labels).toEqual({ app: "web" });
        expect(objOf(evs[2]!).metadata.resourceVersion).toBe(outA.metadata.resourceVersion);
        await w.expectQuiet(100);
      });

      it("a non-recursive watch sees only its key", async () => {
        const w = watch(key("a"), { recursive: false, resourceVersion: await pods.currentResourceVersion() });
        await pods.create(key("ab"), pod(ns, "ab"));
        await pods.create(key("a"), pod(ns, "a"));
        expect((await w.take(1)).map((e) => objOf(e).metadata.name)).toEqual(["a"]);
        await w.expectQuiet(100);
      });

      it("a watch from a compacted revision gets ERROR 410 Expired and ends", async () => {
        const a = await pods.create(key("a"), pod(ns, "a"));
        for (let i = 0; i < (target.writesToExpire ?? 2); i++) await pods.create(key(`f${i}`), pod(ns, `f${i}`));
        await target.factory.compact();
        const w = watch(dir, { recursive: true, resourceVersion: String(rvOf(a) - 1) });
        const ev = await w.next();
        if (ev === "timeout" || ev === "end") throw new Error(`expected ERROR, got ${ev}`);
        expect(ev.type).toBe("ERROR");
        expect(isStatus(ev.object)).toBe(true);
        expect((ev.object as Status).code).toBe(410);
        expect((ev.object as Status).reason).toBe("Expired");
        expect(await w.next()).toBe("end");
      });

      it("stop() and an aborted signal end the iteration", async () => {
        const w = watch(dir, { recursive: true, resourceVersion: await pods.currentResourceVersion() });
        w.watch.stop();
        expect(await w.next()).toBe("end");
        const ac = new AbortController();
        const w2 = watch(dir, { recursive: true, resourceVersion: await pods.currentResourceVersion(), signal: ac.signal });
        const pending = w2.next(3000);
        ac.abort();
        expect(await pending).toBe("end");
      });

      it("events arrive in revision order across many writes", async () => {
        const w = watch(dir, { recursive: true, resourceVersion: await pods.currentResourceVersion() });
        const rvs: string[] = [];
        for (let i = 0; i < 30; i++) rvs.push((await pods.create(key(`p${i}`), pod(ns, `p${i}`))).metadata.resourceVersion!);
        const evs = await w.take(30);
        expect(evs.map((e) => objOf(e).metadata.resourceVersion)).toEqual(rvs);
      });
    });

    // ---- guaranteedUpdate ---------------------------------------------------------------------

    describe("guaranteedUpdate", () => {
      it("updates, returns the new object with a new resourceVersion; an unchanged result writes nothing", async () => {
        const a = await pods.create(key("a"), pod(ns, "a"));
        const u = await pods.guaranteedUpdate(key("a"), (cur) => {
          expect(cur).toEqual(a);
          return { ...cur!, spec: { replaced: true } };
        });
        expect(rvOf(u)).toBeGreaterThan(rvOf(a));
        expect((await pods.get(key("a")))!.spec).toEqual({ replaced: true });
        const before = await pods.currentResourceVersion();
        const same = await pods.guaranteedUpdate(key("a"), (cur) => cur!);
        expect(same.metadata.resourceVersion).toBe(u.metadata.resourceVersion);
        expect(await pods.currentResourceVersion()).toBe(before);
      });

      it("a result carrying a stale resourceVersion is 409 Conflict; the current one is accepted", async () => {
        const a = await pods.create(key("a"), pod(ns, "a"));
        await pods.guaranteedUpdate(key("a"), (cur) => ({ ...cur!, spec: { v: 2 } }));
        const e = await rejection(pods.guaranteedUpdate(key("a"), (cur) => ({ ...cur!, metadata: { ...cur!.metadata, resourceVersion: a.metadata.resourceVersion! }, spec: { v: 3 } })));
        expect(e.code).toBe(409);
        expect(e.reason).toBe("Conflict");
        expect(e.message).toBe('Operation cannot be fulfilled on pods "a": the object has been modified; please apply your changes to the latest version and try again');
        const ok = await pods.guaranteedUpdate(key("a"), (cur) => ({ ...cur!, spec: { v: 3 } }));
        expect(ok.spec).toEqual({ v: 3 });
      });

      it("N concurrent read-modify-write increments all land (CAS retries)", async () => {
        await pods.create(key("counter"), { metadata: { name: "counter" }, count: 0 });
        const n = 20;
        let calls = 0;
        await Promise.all(
          Array.from({ length: n }, () =>
            pods.guaranteedUpdate(key("counter"), async (cur) => {
              calls++;
              await new Promise((r) => setTimeout(r, Math.random() * 5));
              return { ...cur!, count: (cur!.count as number) + 1 };
            }),
          ),
        );
        expect((await pods.get(key("counter")))!.count).toBe(n);
        expect(calls).toBeGreaterThan(n); // some attempts lost the compare-and-swap and retried
      });

      it("preconditions: a wrong uid or resourceVersion is 409; matching ones pass", async () => {
        const a = await pods.create(key("a"), pod(ns, "a"));
        const e1 = await rejection(pods.guaranteedUpdate(key("a"), (c) => ({ ...c!, spec: {} }), { preconditions: { uid: "other" } }));
        expect(e1.code).toBe(409);
        expect(e1.message).toMatch(/Precondition failed: UID in precondition: other, UID in object meta: uid-/);
        const e2 = await rejection(pods.guaranteedUpdate(key("a"), (c) => ({ ...c!, spec: {} }), { preconditions: { resourceVersion: "1" } }));
        expect(e2.code).toBe(409);
        const ok = await pods.guaranteedUpdate(key("a"), (c) => ({ ...c!, spec: {} }), { preconditions: { uid: a.metadata.uid!, resourceVersion: a.metadata.resourceVersion! } });
        expect(rvOf(ok)).toBeGreaterThan(rvOf(a));
      });

      it("a missing object is 404, or is created with ignoreNotFound", async () => {
        const e = await rejection(pods.guaranteedUpdate(key("a"), (c) => c!));
        expect(e.reason).toBe("NotFound");
        const made = await pods.guaranteedUpdate(
          key("a"),
          (c) => {
            expect(c).toBeUndefined();
            return pod(ns, "a");
          },
          { ignoreNotFound: true },
        );
        expect(await pods.get(key("a"))).toEqual(made);
      });

      it("dryRun returns the result and writes nothing", async () => {
        const a = await pods.create(key("a"), pod(ns, "a"));
        const before = await pods.currentResourceVersion();
        const dry = await pods.guaranteedUpdate(key("a"), (c) => ({ ...c!, spec: { dry: true } }), { dryRun: true });
        expect(dry.spec).toEqual({ dry: true });
        expect(await pods.get(key("a"))).toEqual(a);
        expect(await pods.currentResourceVersion()).toBe(before);
      });

      it("an error thrown by tryUpdate propagates and nothing is written", async () => {
        const a = await pods.create(key("a"), pod(ns, "a"));
        await expect(pods.guaranteedUpdate(key("a"), () => Promise.reject(new Error("nope")))).rejects.toThrow("nope");
        expect(await pods.get(key("a"))).toEqual(a);
      });
    });

    // ---- delete ------------------------------------------------------------------------------

    describe("delete", () => {
      it("returns the last state at the deletion revision; the object is gone; deleting again is 404", async () => {
        const a = await pods.create(key("a"), pod(ns, "a"));
        const gone = await pods.delete(key("a"));
        expect(gone.metadata.name).toBe("a");
        expect(gone.spec).toEqual(a.spec);
        expect(rvOf(gone)).toBeGreaterThan(rvOf(a));
        expect((await rejection(pods.get(key("a")))).reason).toBe("NotFound");
        const e = await rejection(pods.delete(key("a")));
        expect(e.code).toBe(404);
        expect(e.message).toBe('pods "a" not found');
      });

      it("preconditions: a wrong uid or resourceVersion is 409 and the object stays", async () => {
        const a = await pods.create(key("a"), pod(ns, "a"));
        expect((await rejection(pods.delete(key("a"), { preconditions: { uid: "other" } }))).code).toBe(409);
        expect((await rejection(pods.delete(key("a"), { preconditions: { resourceVersion: "1" } }))).code).toBe(409);
        expect(await pods.get(key("a"))).toEqual(a);
        await pods.delete(key("a"), { preconditions: { uid: a.metadata.uid!, resourceVersion: a.metadata.resourceVersion! } });
        expect(await pods.get(key("a"), { ignoreNotFound: true })).toBeUndefined();
      });

      it("validateDeletion sees the current object and can veto", async () => {
        const a = await pods.create(key("a"), pod(ns, "a"));
        await expect(
          pods.delete(key("a"), {
            validateDeletion: (cur) => {
              expect(cur).toEqual(a);
              throw new Error("vetoed");
            },
          }),
        ).rejects.toThrow("vetoed");
        expect(await pods.get(key("a"))).toEqual(a);
      });

      it("dryRun returns the object and deletes nothing", async () => {
        const a = await pods.create(key("a"), pod(ns, "a"));
        const before = await pods.currentResourceVersion();
        const dry = await pods.delete(key("a"), { dryRun: true });
        expect(dry.metadata.name).toBe("a");
        expect(await pods.get(key("a"))).toEqual(a);
        expect(await pods.currentResourceVersion()).toBe(before);
      });

      it("concurrent deletes: exactly one wins, the others get 404", async () => {
        await pods.create(key("a"), pod(ns, "a"));
        const results = await Promise.allSettled(Array.from({ length: 5 }, () => pods.delete(key("a"))));
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        for (const r of results) if (r.status === "rejected") expect((r.reason as StatusError).reason).toBe("NotFound");
      });
    });
  });
}
