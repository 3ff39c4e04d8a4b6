/**
 * The DaemonSet sync against a FakeClient: placement by node selector and taints, node changes,
 * failed pods, the update strategies, history, status, expectations and slow start.
 */
import { describe, expect, it } from "vitest";
import { Resources, StatusError, newStatus, type KubeObject } from "@kubemu/common";
import { goJson } from "../../src/controller/history.js";
import type { PodObject } from "../../src/controller/pod-control.js";
import { Bed, daemonSet, KEY, node } from "./fixtures.js";

const three = () => [node("kubemu"), node("kubemu-m02"), node("kubemu-m03")];

function creates(b: Bed) {
  return b.fake.writes().filter((a) => a.verb === "create" && a.resource === "pods");
}
function deletes(b: Bed) {
  return b.fake.writes().filter((a) => a.verb === "delete" && a.resource === "pods").map((a) => a.name);
}

describe("placement", () => {
  it("creates one pod per node, pinned by a metadata.name affinity term for the scheduler, with daemon tolerations and revision labels", async () => {
    const b = Bed.of(three());
    await b.round();
    const pods = b.pods();
    expect(Object.keys(b.placement())).toEqual(["kubemu", "kubemu-m02", "kubemu-m03"]);
    const p = pods.find((x) => x.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]?.matchFields?.[0]?.values?.[0] === "kubemu-m02")!;
    expect(p.spec?.nodeName).toBeUndefined();
    expect(p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual({ nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["kubemu-m02"] }] }] });
    expect(p.metadata.generateName).toBe("ssd-monitor-");
    expect(p.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "DaemonSet", name: "ssd-monitor", uid: "uid-ds", controller: true, blockOwnerDeletion: true }]);
    const rev = b.revisions();
    expect(rev).toHaveLength(1);
    expect(rev[0]!.metadata.name).toBe(`ssd-monitor-${p.metadata.labels!["controller-revision-hash"]}`);
    expect(rev[0]!.revision).toBe(1);
    // upstream's getPatch: the template with Go's zero creationTimestamp, keys in Go's (sorted) order, as kubectl rebuilds it.
    const template = daemonSet().spec!.template;
    expect(rev[0]!.data).toEqual({ spec: { template: { ...template, metadata: { creationTimestamp: null, ...template.metadata }, $patch: "replace" } } });
    expect(JSON.stringify(rev[0]!.data)).toBe(goJson(rev[0]!.data));
    expect(p.metadata.labels).toEqual({ app: "ssd-monitor", "controller-revision-hash": rev[0]!.metadata.labels!["controller-revision-hash"], "pod-template-generation": "1" });
    expect(p.spec?.tolerations).toEqual([
      { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
      { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
      { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
      { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
      { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
      { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
    ]);
    expect(b.recorder.lines().filter((l) => l.startsWith("Normal SuccessfulCreate Created pod: ssd-monitor-"))).toHaveLength(3);
    // A second sync finds every node served.
    b.fake.clearActions();
    await b.round();
    expect(creates(b)).toHaveLength(0);
    expect(b.ds().status).toMatchObject({ desiredNumberScheduled: 3, currentNumberScheduled: 3, numberMisscheduled: 0, numberReady: 0, updatedNumberScheduled: 3, numberAvailable: 0, numberUnavailable: 3, observedGeneration: 1 });
  });

  it("runs only on nodes matching the nodeSelector; a label added or removed adds or removes the pod", async () => {
    const b = Bed.of([node("kubemu"), node("kubemu-m02"), node("kubemu-m03")], daemonSet({ nodeSelector: { disk: "ssd" } }));
    await b.round();
    expect(b.pods()).toHaveLength(0);
    expect(b.ds().status).toMatchObject({ desiredNumberScheduled: 0, currentNumberScheduled: 0 });

    await b.fake.update(Resources.nodes, node("kubemu-m02", { labels: { disk: "ssd" } }));
    await b.round();
    expect(Object.keys(b.placement())).toEqual(["kubemu-m02"]);
    await b.markAllReady();
    await b.round();
    expect(b.ds().status).toMatchObject({ desiredNumberScheduled: 1, currentNumberScheduled: 1, numberReady: 1, numberAvailable: 1, numberUnavailable: 0 });

    const name = b.pods()[0]!.metadata.name!;
    await b.fake.update(Resources.nodes, node("kubemu-m02"));
    b.recorder.events.length = 0;
    await b.round();
    expect(b.pods()).toHaveLength(0);
    expect(b.recorder.lines()).toEqual([`Normal SuccessfulDelete Deleted pod: ${name}`]);
    expect(b.ds().status).toMatchObject({ desiredNumberScheduled: 0, currentNumberScheduled: 0, numberMisscheduled: 0 });
  });

  it("matches required node affinity from the template", async () => {
    const ds = daemonSet();
    const withAffinity = { ...ds, spec: { ...ds.spec!, template: { ...ds.spec!.template, spec: { ...ds.spec!.template.spec!, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }] } } } } } } } as typeof ds;
    const b = Bed.of([node("kubemu", { labels: { zone: "a" } }), node("kubemu-m02", { labels: { zone: "b" } })], withAffinity);
    await b.round();
    expect(Object.keys(b.placement())).toEqual(["kubemu"]);
    // The template's term is replaced, not ANDed: the pod names only its node.
    expect(b.pods()[0]!.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([{ matchFields: [{ key: "metadata.name", operator: "In", values: ["kubemu"] }] }]);
  });
});

describe("taints and tolerations", () => {
  it("a NoSchedule taint keeps new pods off but lets a running one stay; an untolerated NoExecute taint evicts it", async () => {
    const b = Bed.of([node("kubemu"), node("kubemu-m02", { taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] })]);
    await b.round();
    expect(Object.keys(b.placement())).toEqual(["kubemu"]);

    // Tainted after the pod started: it stays (shouldContinueRunning) and counts as misscheduled.
    await b.fake.update(Resources.nodes, node("kubemu", { taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] }));
    await b.round();
    expect(Object.keys(b.placement())).toEqual(["kubemu"]);
    expect(b.ds().status).toMatchObject({ desiredNumberScheduled: 0, numberMisscheduled: 1 });

    await b.fake.update(Resources.nodes, node("kubemu", { taints: [{ key: "dedicated", value: "db", effect: "NoExecute" }] }));
    await b.round();
    expect(b.pods()).toHaveLength(0);
  });

  it("tolerates what the template tolerates, and the node problems every daemon tolerates", async () => {
    const tolerations = [{ key: "dedicated", operator: "Equal", value: "db", effect: "NoSchedule" }];
    const b = Bed.of(
      [
        node("db", { taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] }),
        node("cordoned", { taints: [{ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }] }),
        node("notready", { taints: [{ key: "node.kubernetes.io/not-ready", effect: "NoExecute" }] }),
        node("nonet", { taints: [{ key: "node.kubernetes.io/network-unavailable", effect: "NoSchedule" }] }),
      ],
      daemonSet({ tolerations }),
    );
    await b.round();
    // network-unavailable is tolerated only by hostNetwork daemons.
    expect(Object.keys(b.placement())).toEqual(["cordoned", "db", "notready"]);
    expect(b.pods()[0]!.spec?.tolerations?.[0]).toEqual(tolerations[0]);

    const h = Bed.of([node("nonet", { taints: [{ key: "node.kubernetes.io/network-unavailable", effect: "NoSchedule" }] })], daemonSet({ hostNetwork: true }));
    await h.round();
    expect(Object.keys(h.placement())).toEqual(["nonet"]);
    expect(h.pods()[0]!.spec?.tolerations).toContainEqual({ key: "node.kubernetes.io/network-unavailable", operator: "Exists", effect: "NoSchedule" });
  });
});

describe("nodes coming and going", () => {
  it("a new node gets a pod; a removed node's unbound pod is deleted and the node no longer counts", async () => {
    const b = Bed.of([node("kubemu"), node("kubemu-m02")]);
    await b.round();
    await b.fake.create(Resources.nodes, node("kubemu-m03"));
    await b.round();
    expect(Object.keys(b.placement())).toEqual(["kubemu", "kubemu-m02", "kubemu-m03"]);

    const forM03 = b.placement()["kubemu-m03"]![0]!;
    await b.fake.delete(Resources.nodes, undefined, "kubemu-m03");
    await b.round();
    expect(deletes(b)).toContain(forM03);
    expect(Object.keys(b.placement())).toEqual(["kubemu", "kubemu-m02"]);
    expect(b.ds().status).toMatchObject({ desiredNumberScheduled: 2, currentNumberScheduled: 2 });
  });

  it("a bound pod of a removed node is left to the pod GC, as upstream, and no longer counts", async () => {
    const b = Bed.of([node("kubemu"), node("kubemu-m02")]);
    await b.round();
    await b.bindAll();
    await b.fake.delete(Resources.nodes, undefined, "kubemu-m02");
    b.fake.clearActions();
    await b.round();
    expect(deletes(b)).toEqual([]);
    expect(b.ds().status).toMatchObject({ desiredNumberScheduled: 1, currentNumberScheduled: 1, numberMisscheduled: 0 });
  });
});

describe("failed, succeeded and excess pods", () => {
  it("kills a failed daemon pod with FailedDaemonPod, recreates it, and backs off when it fails again", async () => {
    const b = Bed.of([node("kubemu")]);
    await b.round();
    await b.bindAll();
    const first = b.pods()[0]!.metadata.name!;
    await b.setPhase(first, "Failed");
    await b.round();
    expect(b.recorder.lines()).toContain(`Warning FailedDaemonPod Found failed daemon pod default/${first} on node kubemu, will try to kill it`);
    expect(deletes(b)).toEqual([first]);
    await b.round();
    const second = b.pods()[0]!.metadata.name!;
    expect(second).not.toBe(first);

    // Fails again 100 ms later: within the 1 s backoff, so it is kept and the key requeued after the delay.
    await b.bindAll();
    await b.setPhase(second, "Failed");
    b.clock.advance(100);
    b.fake.clearActions();
    await b.round();
    expect(deletes(b)).toEqual([]);
    expect(b.requeued).toContainEqual({ key: KEY, ms: 1000 });
    b.clock.advance(1000);
    await b.round();
    expect(deletes(b)).toEqual([second]);
    // The next delay doubles.
    expect(b.backoff.get("uid-ds/1/kubemu")).toBe(2000);
  });

  it("deletes a succeeded daemon pod with SucceededDaemonPod", async () => {
    const b = Bed.of([node("kubemu")]);
    await b.round();
    const name = b.pods()[0]!.metadata.name!;
    await b.bindAll();
    await b.setPhase(name, "Succeeded");
    await b.round();
    expect(b.recorder.lines()).toContain(`Normal SucceededDaemonPod Found succeeded daemon pod default/${name} on node kubemu, will try to delete it`);
    expect(deletes(b)).toEqual([name]);
  });

  it("keeps the oldest of several pods on one node", async () => {
    const b = Bed.of([node("kubemu")]);
    await b.round();
    const [keep] = b.pods();
    // A second pod for the same node (a lost expectation, a manual copy).
    const dup = { ...structuredClone(keep!), metadata: { ...structuredClone(keep!.metadata), name: "ssd-monitor-extra", uid: undefined, resourceVersion: undefined, creationTimestamp: "2026-01-01T00:00:05Z" } } as PodObject;
    await b.fake.create(Resources.pods, dup as KubeObject);
    b.fake.clearActions();
    await b.round();
    expect(deletes(b)).toEqual(["ssd-monitor-extra"]);
  });
});

describe("updates", () => {
  /** Three nodes, pods bound and ready since T0; the clock 10 s later. */
  async function running(opts: Parameters<typeof daemonSet>[0] = {}) {
    const b = Bed.of(three(), daemonSet(opts));
    await b.round();
    await b.markAllReady();
    b.clock.advance(10_000);
    await b.round();
    return b;
  }

  async function newImage(b: Bed, opts: Parameters<typeof daemonSet>[0] = {}) {
    await b.updateDs(daemonSet({ ...opts, image: "luksa/ssd-monitor:v2", generation: 2 }));
  }

  const images = (b: Bed) => b.pods().map((p) => p.spec!.containers[0]!.image);

  it("RollingUpdate replaces pods node by node, never more than maxUnavailable down", async () => {
    const b = await running();
    const oldHash = b.pods()[0]!.metadata.labels!["controller-revision-hash"];
    await newImage(b);
    const seen: string[][] = [];
    for (let step = 0; step < 12 && (b.pods().length < 3 || images(b).some((i) => i !== "luksa/ssd-monitor:v2")); step++) {
      b.fake.clearActions();
      await b.round();
      seen.push(deletes(b) as string[]);
      // At most one node without an available pod at any time.
      const byNode = b.placement();
      const down = three().filter((n) => !(byNode[n.metadata.name!] ?? []).some((p) => b.pods().find((x) => x.metadata.name === p)?.status?.phase === "Running"));
      expect(down.length).toBeLessThanOrEqual(1);
      await b.markAllReady();
      b.clock.advance(1000);
    }
    expect(images(b)).toEqual(["luksa/ssd-monitor:v2", "luksa/ssd-monitor:v2", "luksa/ssd-monitor:v2"]);
    expect(seen.filter((d) => d.length > 0).every((d) => d.length === 1)).toBe(true);
    const revs = b.revisions().sort((x, y) => x.revision! - y.revision!);
    expect(revs.map((r) => r.revision)).toEqual([1, 2]);
    const newHash = revs[1]!.metadata.labels!["controller-revision-hash"];
    expect(newHash).not.toBe(oldHash);
    expect(b.pods().every((p) => p.metadata.labels!["controller-revision-hash"] === newHash && p.metadata.labels!["pod-template-generation"] === "2")).toBe(true);
    await b.round();
    expect(b.ds().status).toMatchObject({ updatedNumberScheduled: 3, numberAvailable: 3, observedGeneration: 2 });
  });

  it("maxUnavailable 2 takes two old pods down at once", async () => {
    const b = await running({ maxUnavailable: 2 });
    await newImage(b, { maxUnavailable: 2 });
    b.fake.clearActions();
    await b.round();
    expect(deletes(b)).toHaveLength(2);
  });

  it("maxSurge starts the new pod beside the old one and retires the old one once the new is available", async () => {
    const b = await running({ maxSurge: 1, maxUnavailable: 0 });
    await newImage(b, { maxSurge: 1, maxUnavailable: 0 });
    b.fake.clearActions();
    await b.round();
    expect(deletes(b)).toEqual([]);
    expect(creates(b)).toHaveLength(1);
    const surged = Object.entries(b.placement()).filter(([, ps]) => ps.length === 2);
    expect(surged).toHaveLength(1);
    // Not available yet: nothing more happens.
    b.fake.clearActions();
    await b.round();
    expect(deletes(b)).toEqual([]);
    expect(creates(b)).toHaveLength(0);
    await b.markAllReady();
    b.fake.clearActions();
    await b.round();
    expect(deletes(b)).toHaveLength(1);
    expect(b.placement()[surged[0]![0]]).toHaveLength(1);
  });

  it("OnDelete changes nothing until a pod is deleted; its replacement is the new revision", async () => {
    const b = await running({ strategy: "OnDelete" });
    await b.updateDs(daemonSet({ strategy: "OnDelete", image: "luksa/ssd-monitor:v2", generation: 2 }));
    b.fake.clearActions();
    await b.round();
    expect(deletes(b)).toEqual([]);
    expect(creates(b)).toHaveLength(0);
    await b.round();
    expect(b.ds().status).toMatchObject({ updatedNumberScheduled: 0, observedGeneration: 2 });
    await b.removePod(b.placement()["kubemu-m02"]![0]!);
    await b.round();
    const m02 = b.pods().find((p) => p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]?.matchFields?.[0]?.values?.[0] === "kubemu-m02")!;
    expect(m02.spec!.containers[0]!.image).toBe("luksa/ssd-monitor:v2");
    expect(images(b).filter((i) => i === "luksa/ssd-monitor")).toHaveLength(2);
  });

  it("a template that returns reuses its revision with the next number; history beyond the limit is cleaned, live revisions kept", async () => {
    const b = await running({ revisionHistoryLimit: 1, strategy: "OnDelete" });
    await b.updateDs(daemonSet({ revisionHistoryLimit: 1, strategy: "OnDelete", image: "v2", generation: 2 }));
    await b.round();
    await b.updateDs(daemonSet({ revisionHistoryLimit: 1, strategy: "OnDelete", image: "v3", generation: 3 }));
    await b.round();
    // Revisions 1 (live: the pods still run it), 2 (not live, beyond the limit: deleted), 3.
    expect(b.revisions().map((r) => r.revision).sort()).toEqual([1, 3]);
    await b.updateDs(daemonSet({ revisionHistoryLimit: 1, strategy: "OnDelete", generation: 4 }));
    await b.round();
    const revs = b.revisions();
    const first = revs.find((r) => (r.data as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]!.image === "luksa/ssd-monitor");
    expect(first?.revision).toBe(4);
  });
});

describe("status", () => {
  it("counts ready and available pods, honours minReadySeconds and requeues until they are available", async () => {
    const b = Bed.of([node("kubemu"), node("kubemu-m02")], daemonSet({ minReadySeconds: 30 }));
    await b.round();
    await b.markAllReady();
    await b.round();
    expect(b.ds().status).toMatchObject({ desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 2, numberAvailable: 0, numberUnavailable: 2 });
    expect(b.requeued).toContainEqual({ key: KEY, ms: 30_000 });
    // Available once Ready for strictly more than minReadySeconds (upstream's IsPodAvailable).
    b.clock.advance(30_001);
    await b.round();
    expect(b.ds().status).toMatchObject({ numberReady: 2, numberAvailable: 2, numberUnavailable: 0 });
  });

  it("writes nothing when the status is already right", async () => {
    const b = Bed.of([node("kubemu")]);
    await b.round();
    await b.round();
    b.fake.clearActions();
    await b.round();
    expect(b.fake.writes()).toEqual([]);
  });

  it("an empty selector is refused with SelectingAll", async () => {
    const ds = daemonSet();
    const b = Bed.of([node("kubemu")], { ...ds, spec: { ...ds.spec!, selector: {} } } as typeof ds);
    await b.round();
    expect(b.recorder.lines()).toEqual(["Warning SelectingAll This daemon set is selecting all pods. A non-empty selector is required."]);
    expect(b.pods()).toHaveLength(0);
  });
});

describe("expectations and slow start", () => {
  it("a sync before its creates are observed creates nothing twice, and updates status only", async () => {
    const b = Bed.of(three());
    // The pod informer lags: it still shows no pods after the first sync.
    b.stalePods = b.fake.indexer<PodObject>(Resources.pods);
    await b.sync.sync(KEY);
    expect(b.expectations.get(KEY)).toEqual({ add: 3, del: 0 });
    b.fake.clearActions();
    await b.sync.sync(KEY);
    expect(creates(b)).toHaveLength(0);
    // Nothing written at all: the status of the first sync (what the stale cache shows) still holds.
    expect(b.fake.writes()).toEqual([]);
    expect(b.ds().status).toMatchObject({ desiredNumberScheduled: 3, currentNumberScheduled: 0 });
    // Once the three adds are seen, the key syncs fully again.
    for (let i = 0; i < 3; i++) b.expectations.creationObserved(KEY);
    b.stalePods = undefined;
    b.fake.clearActions();
    await b.sync.sync(KEY);
    expect(creates(b)).toHaveLength(0);
    expect(b.ds().status).toMatchObject({ currentNumberScheduled: 3, observedGeneration: 1 });
  });

  it("a create that fails stops the batch: one request, not one per node, and the rest are not expected", async () => {
    const b = Bed.of([node("a"), node("b"), node("c"), node("d"), node("e")]);
    b.fake.failOn("create", "pods", new StatusError(newStatus("Forbidden", 'pods "ssd-monitor-x" is forbidden: exceeded quota: compute-resources, requested: pods=1, used: pods=10, limited: pods=10')));
    await expect(b.sync.sync(KEY)).rejects.toThrow(/exceeded quota/);
    expect(creates(b)).toHaveLength(1);
    expect(b.expectations.get(KEY)).toEqual({ add: 0, del: 0 });
    expect(b.recorder.lines()[0]).toMatch(/^Warning FailedCreate Error creating: .*exceeded quota/);
  });

  it("creates at most burstReplicas pods in one sync", async () => {
    const b = new Bed(Bed.of(three()).fake, 2);
    await b.round();
    expect(b.pods()).toHaveLength(2);
    await b.round();
    expect(b.pods()).toHaveLength(3);
  });
});
