import { describe, expect, it } from "vitest";
import { FakeClock, newNotFound, newStatus, Resources, SeededRng, silentLogger, StatusError, type ApiClient, type KubeObject, type WatchEvent } from "@kubemu/common";
import { pollFeed, watchFeed } from "../src/objects/feeds.js";

const cm = (rv: string, extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "ns", resourceVersion: rv }, data: { k: rv }, ...extra });
const settle = async (clock: FakeClock, ms: number) => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await clock.advanceAsync(ms, 50);
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe("pollFeed (claims and volumes by GET)", () => {
  it("answers not-found, then the object, tells only real changes, keeps the last state through errors", async () => {
    const clock = new FakeClock();
    const answers: (KubeObject | StatusError)[] = [newNotFound({ resource: "persistentvolumeclaims" }, "cfg"), cm("1"), cm("1"), new StatusError(newStatus("ServiceUnavailable", "down")), cm("2")];
    const gets: string[] = [];
    const client = {
      get: async (_r: unknown, ns: string, name: string) => {
        gets.push(`${ns}/${name}`);
        const a = answers.shift() ?? cm("2");
        if (a instanceof StatusError) throw a;
        return a;
      },
    } as unknown as ApiClient;
    const seen: (string | undefined)[] = [];
    const feed = pollFeed<KubeObject>(client, Resources.persistentVolumeClaims, 1000, { clock, rng: new SeededRng(1), logger: silentLogger })("ns", "cfg", (o) => seen.push(o?.metadata.resourceVersion));
    expect(feed.synced()).toBe(false);
    const synced = feed.waitForSync(new AbortController().signal);
    await settle(clock, 0);
    expect(await synced).toBe(true);
    expect(feed.current()).toBeUndefined();
    await settle(clock, 1000);
    expect(feed.current()?.metadata.resourceVersion).toBe("1");
    await settle(clock, 1000); // the same object again: no change told
    await settle(clock, 1000); // an error: the last state stays
    expect(feed.current()?.metadata.resourceVersion).toBe("1");
    await settle(clock, 1000);
    expect(feed.current()?.metadata.resourceVersion).toBe("2");
    expect(seen).toEqual(["1", "2"]);
    feed.stop();
    const before = gets.length;
    await settle(clock, 5000);
    expect(gets.length).toBe(before);
    expect(gets.every((g) => g === "ns/cfg")).toBe(true);
  });
});

describe("watchFeed (secrets and configMaps by a watch of one name)", () => {
  it("lists and watches with fieldSelector metadata.name in the namespace; an immutable object stops the watch", async () => {
    const clock = new FakeClock();
    const calls: { method: string; namespace?: string; fieldSelector?: string }[] = [];
    let push: ((e: WatchEvent) => void) | undefined;
    let ended = false;
    const client = {
      listAll: async (_r: unknown, opts: { namespace?: string; fieldSelector?: string }) => {
        calls.push({ method: "list", ...opts });
        return { apiVersion: "v1", kind: "ConfigMapList", metadata: { resourceVersion: "1" }, items: [cm("1")] };
      },
      watch: (_r: unknown, opts: { namespace?: string; fieldSelector?: string; signal?: AbortSignal }) => {
        calls.push({ method: "watch", namespace: opts.namespace, fieldSelector: opts.fieldSelector });
        const queue: WatchEvent[] = [];
        let wake: (() => void) | undefined;
        push = (e) => {
          queue.push(e);
          wake?.();
        };
        return (async function* () {
          while (!opts.signal?.aborted) {
            if (queue.length === 0) await new Promise<void>((r) => ((wake = r), opts.signal?.addEventListener("abort", () => r(), { once: true })));
            while (queue.length > 0) yield queue.shift()!;
          }
          ended = true;
        })();
      },
    } as unknown as ApiClient;
    const seen: (string | undefined)[] = [];
    const feed = watchFeed<KubeObject>(client, Resources.configMaps, { clock, rng: new SeededRng(1), logger: silentLogger })("ns", "cfg", (o) => seen.push(o?.metadata.resourceVersion));
    expect(await feed.waitForSync(new AbortController().signal)).toBe(true);
    await settle(clock, 0);
    expect(calls.map((c) => [c.method, c.namespace, c.fieldSelector])).toEqual([
      ["list", "ns", "metadata.name=cfg"],
      ["watch", "ns", "metadata.name=cfg"],
    ]);
    push!({ type: "MODIFIED", object: cm("2") });
    await settle(clock, 0);
    expect(feed.current()?.metadata.resourceVersion).toBe("2");
    push!({ type: "MODIFIED", object: cm("3", { immutable: true }) });
    await settle(clock, 0);
    expect(ended).toBe(true);
    expect(feed.current()?.metadata.resourceVersion).toBe("3");
    expect(seen).toEqual(["1", "2", "3"]);
  });
});
