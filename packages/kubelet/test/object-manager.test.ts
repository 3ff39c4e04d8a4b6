import { describe, expect, it } from "vitest";
import type { Pod } from "kubernetes-types/core/v1.js";
import { ObjectManager, type FeedFactory } from "../src/objects/object-manager.js";
import { podReferenceNames } from "../src/pod/references.js";

/** Feeds that record their lifetime; `push` plays the API server. */
function fakeFeeds() {
  const live = new Map<string, { value: string | undefined; changed: (v: string | undefined) => void; stopped: boolean }>();
  const started: string[] = [];
  const factory: FeedFactory<string> = (ns, name, changed) => {
    const key = `${ns ?? ""}/${name}`;
    const f = { value: undefined as string | undefined, changed, stopped: false };
    live.set(key, f);
    started.push(key);
    return {
      current: () => f.value,
      synced: () => true,
      waitForSync: () => Promise.resolve(true),
      stop: () => {
        f.stopped = true;
      },
    };
  };
  const push = (key: string, v: string | undefined) => {
    const f = live.get(key)!;
    f.value = v;
    f.changed(v);
  };
  return { factory, live, started, push };
}

describe("ObjectManager (the kubelet's per-object reads)", () => {
  it("counts holders per object, keeps a feed shared by two pods, drops it with the last", () => {
    const feeds = fakeFeeds();
    const m = new ObjectManager(feeds.factory);
    m.register("pod-a", [{ namespace: "ns", name: "s1" }, { namespace: "ns", name: "s2" }]);
    m.register("pod-b", [{ namespace: "ns", name: "s1" }]);
    expect(m.watched()).toEqual(new Map([["ns/s1", 2], ["ns/s2", 1]]));
    m.unregister("pod-a");
    expect(m.watched()).toEqual(new Map([["ns/s1", 1]]));
    expect(feeds.live.get("ns/s2")!.stopped).toBe(true);
    expect(feeds.live.get("ns/s1")!.stopped).toBe(false);
    m.unregister("pod-b");
    expect(m.watched().size).toBe(0);
    expect(feeds.live.get("ns/s1")!.stopped).toBe(true);
  });

  it("an update of a holder adds new references before dropping old ones (a kept one keeps its feed)", () => {
    const feeds = fakeFeeds();
    const m = new ObjectManager(feeds.factory);
    m.register("pod", [{ namespace: "ns", name: "keep" }, { namespace: "ns", name: "old" }]);
    m.register("pod", [{ namespace: "ns", name: "keep" }, { namespace: "ns", name: "new" }]);
    expect(feeds.started).toEqual(["ns/keep", "ns/old", "ns/new"]);
    expect(m.watched()).toEqual(new Map([["ns/keep", 1], ["ns/new", 1]]));
    m.register("pod", [{ namespace: "ns", name: "keep" }, { namespace: "ns", name: "keep" }]);
    expect(m.watched()).toEqual(new Map([["ns/keep", 1]]));
  });

  it("reads come from the object's feed; changes are told with the reference; a stopped feed is silent", () => {
    const feeds = fakeFeeds();
    const seen: string[] = [];
    const m = new ObjectManager<string>(feeds.factory, (r, v) => seen.push(`${r.namespace}/${r.name}=${v}`));
    m.register("pod", [{ namespace: "ns", name: "cm" }]);
    expect(m.get("ns", "cm")).toBeUndefined();
    feeds.push("ns/cm", "v1");
    expect(m.get("ns", "cm")).toBe("v1");
    expect(m.get("other", "cm")).toBeUndefined();
    const stale = feeds.live.get("ns/cm")!;
    m.unregister("pod");
    stale.changed("late");
    expect(seen).toEqual(["ns/cm=v1"]);
    expect(m.get("ns", "cm")).toBeUndefined();
  });

  it("holdersOf names the holders of a cluster-scoped object (a PV's claims)", () => {
    const m = new ObjectManager(fakeFeeds().factory);
    m.register("ns/claim-a", [{ name: "pv-1" }]);
    m.register("ns/claim-b", [{ name: "pv-1" }]);
    m.register("ns/claim-c", [{ name: "pv-2" }]);
    expect(m.holdersOf({ name: "pv-1" }).sort()).toEqual(["ns/claim-a", "ns/claim-b"]);
  });
});

describe("podReferenceNames", () => {
  const pod: Pod = {
    metadata: { name: "web", namespace: "ns" },
    spec: {
      imagePullSecrets: [{ name: "pull" }],
      initContainers: [{ name: "init", env: [{ name: "A", valueFrom: { secretKeyRef: { name: "init-secret", key: "k" } } }] }],
      containers: [
        {
          name: "c",
          env: [{ name: "B", valueFrom: { configMapKeyRef: { name: "env-cm", key: "k" } } }],
          envFrom: [{ configMapRef: { name: "from-cm" } }, { secretRef: { name: "from-secret" } }],
        },
      ],
      volumes: [
        { name: "s", secret: { secretName: "vol-secret" } },
        { name: "c", configMap: { name: "vol-cm" } },
        { name: "p", projected: { sources: [{ secret: { name: "proj-secret" } }, { configMap: { name: "proj-cm" } }, { serviceAccountToken: { path: "t" } }] } },
        { name: "claim", persistentVolumeClaim: { claimName: "data" } },
        { name: "scratch", ephemeral: { volumeClaimTemplate: { spec: {} } } },
      ],
    },
  };
  it("lists secrets (with imagePullSecrets), configMaps and claims (with ephemeral ones) once each", () => {
    expect(podReferenceNames(pod, "secret").sort()).toEqual(["from-secret", "init-secret", "proj-secret", "pull", "vol-secret"]);
    expect(podReferenceNames(pod, "configmap").sort()).toEqual(["env-cm", "from-cm", "proj-cm", "vol-cm"]);
    expect(podReferenceNames(pod, "pvc").sort()).toEqual(["data", "web-scratch"]);
    expect(podReferenceNames({ metadata: { name: "x" } }, "secret")).toEqual([]);
  });
});
