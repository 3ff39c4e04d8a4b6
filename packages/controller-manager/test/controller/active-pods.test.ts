import { describe, expect, it } from "vitest";
import type { Pod } from "kubernetes-types/core/v1.js";
import {
  POD_DELETION_COST_ANNOTATION,
  compareActivePods,
  compareActivePodsWithRanks,
  podDeletionCost,
  rankByRelatedPodsOnSameNode,
  rankedPodsForDeletion,
} from "../../src/controller/active-pods.js";

const T0 = Date.parse("2025-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

interface PodOpts {
  node?: string;
  phase?: string;
  readySince?: number;
  notReady?: boolean;
  restarts?: number;
  sidecarRestarts?: number;
  created?: number;
  uid?: string;
  cost?: string;
  deleting?: boolean;
}

function pod(name: string, o: PodOpts = {}): Pod {
  const conditions = o.readySince !== undefined ? [{ type: "Ready", status: "True", lastTransitionTime: iso(o.readySince) }] : o.notReady ? [{ type: "Ready", status: "False" }] : [];
  return {
    metadata: {
      name,
      namespace: "default",
      uid: o.uid ?? `uid-${name}`,
      ...(o.created !== undefined ? { creationTimestamp: iso(o.created) } : {}),
      ...(o.cost !== undefined ? { annotations: { [POD_DELETION_COST_ANNOTATION]: o.cost } } : {}),
      ...(o.deleting ? { deletionTimestamp: iso(T0) } : {}),
    },
    spec: {
      containers: [{ name: "app" }],
      ...(o.sidecarRestarts !== undefined ? { initContainers: [{ name: "side", restartPolicy: "Always" }, { name: "init" }] } : {}),
      ...(o.node ? { nodeName: o.node } : {}),
    },
    status: {
      phase: o.phase ?? "Running",
      conditions,
      containerStatuses: [{ name: "app", restartCount: o.restarts ?? 0, ready: true, image: "x", imageID: "" }],
      ...(o.sidecarRestarts !== undefined
        ? {
            initContainerStatuses: [
              { name: "side", restartCount: o.sidecarRestarts, ready: true, image: "x", imageID: "" },
              { name: "init", restartCount: 50, ready: true, image: "x", imageID: "" },
            ],
          }
        : {}),
    },
  };
}

const names = (pods: Pod[]) => pods.map((p) => p.metadata?.name);
const sortActive = (pods: Pod[]) => names([...pods].sort(compareActivePods));
const ranked = (pods: Pod[], ranks: number[], now?: number) =>
  names(
    pods
      .map((p, i) => ({ pod: p, rank: ranks[i] ?? 0 }))
      .sort((a, b) => compareActivePodsWithRanks(a, b, now))
      .map((r) => r.pod),
  );

describe("compareActivePods (controller.ActivePods)", () => {
  it("puts unassigned before assigned", () => {
    expect(sortActive([pod("assigned", { node: "n1", readySince: T0 }), pod("unassigned", { phase: "Pending" })])).toEqual(["unassigned", "assigned"]);
  });

  it("orders Pending < Unknown < Running", () => {
    expect(sortActive([pod("run", { node: "n" }), pod("unknown", { node: "n", phase: "Unknown" }), pod("pend", { node: "n", phase: "Pending" })])).toEqual(["pend", "unknown", "run"]);
  });

  it("puts not ready before ready", () => {
    expect(sortActive([pod("ready", { node: "n", readySince: T0 }), pod("notready", { node: "n", notReady: true })])).toEqual(["notready", "ready"]);
  });

  it("puts ready for less time before ready for more", () => {
    expect(sortActive([pod("old", { node: "n", readySince: T0 }), pod("new", { node: "n", readySince: T0 + 60_000 })])).toEqual(["new", "old"]);
  });

  it("puts more restarts before fewer, then a sidecar's restarts break the tie", () => {
    expect(sortActive([pod("calm", { node: "n", restarts: 1 }), pod("crashy", { node: "n", restarts: 5 })])).toEqual(["crashy", "calm"]);
    expect(sortActive([pod("calm", { node: "n", restarts: 1, sidecarRestarts: 0 }), pod("side", { node: "n", restarts: 1, sidecarRestarts: 3 })])).toEqual(["side", "calm"]);
  });

  it("puts a missing creation time first, then newer before older", () => {
    expect(sortActive([pod("older", { node: "n", created: T0 }), pod("newer", { node: "n", created: T0 + 1000 }), pod("none", { node: "n" })])).toEqual(["none", "newer", "older"]);
  });

  it("compares equal pods as 0 and is antisymmetric", () => {
    const a = pod("a", { node: "n", created: T0 });
    const b = pod("b", { node: "n", created: T0 });
    expect(compareActivePods(a, b)).toBe(0);
    const c = pod("c", { node: "n", created: T0 + 5 * 1000 });
    expect(Math.sign(compareActivePods(a, c))).toBe(-Math.sign(compareActivePods(c, a)));
  });

  it("checks the rules in upstream's order (readiness beats restarts, restarts beat age)", () => {
    expect(sortActive([pod("ready-crashy", { node: "n", readySince: T0, restarts: 9 }), pod("notready", { node: "n", notReady: true })])).toEqual(["notready", "ready-crashy"]);
    expect(sortActive([pod("new", { node: "n", created: T0 + 1000 }), pod("old-crashy", { node: "n", created: T0, restarts: 2 })])).toEqual(["old-crashy", "new"]);
  });
});

describe("compareActivePodsWithRanks (controller.ActivePodsWithRanks)", () => {
  it("keeps the first three rules of ActivePods", () => {
    const pods = [pod("ready", { node: "n", readySince: T0 }), pod("pending", { node: "n", phase: "Pending" }), pod("unassigned", { phase: "Pending" })];
    expect(ranked(pods, [0, 0, 0])).toEqual(["unassigned", "pending", "ready"]);
  });

  it("deletes a lower pod-deletion-cost first, before looking at rank", () => {
    const pods = [pod("dear", { node: "n", cost: "100", readySince: T0 }), pod("cheap", { node: "n", cost: "-5", readySince: T0 }), pod("plain", { node: "n", readySince: T0 })];
    expect(ranked(pods, [9, 0, 0])).toEqual(["cheap", "plain", "dear"]);
  });

  it("deletes a pod with more co-located pods first", () => {
    const pods = [pod("alone", { node: "n1", readySince: T0 }), pod("crowded", { node: "n2", readySince: T0 })];
    expect(ranked(pods, [1, 3])).toEqual(["crowded", "alone"]);
  });

  it("without a reference time, compares ready and creation times exactly", () => {
    const pods = [pod("a", { node: "n", readySince: T0 }), pod("b", { node: "n", readySince: T0 + 1000 })];
    expect(ranked(pods, [0, 0])).toEqual(["b", "a"]);
  });

  it("with a reference time, pods in the same log2 age bucket are ordered by uid (LogarithmicScaleDown)", () => {
    const now = T0 + 3_600_000;
    // 3600 s and 3599 s old share floor(log2(ns)); the uid decides, not the second.
    const older = pod("older", { node: "n", readySince: T0, uid: "aaa" });
    const newer = pod("newer", { node: "n", readySince: T0 + 1000, uid: "zzz" });
    expect(ranked([newer, older], [0, 0], now)).toEqual(["older", "newer"]);
    // A pod an order of magnitude younger is in an earlier bucket and goes first whatever its uid.
    const young = pod("young", { node: "n", readySince: now - 10_000, uid: "zzzz" });
    expect(ranked([older, young], [0, 0], now)).toEqual(["young", "older"]);
  });

  it("applies the log scale to creation times too, and restarts come before creation time", () => {
    const now = T0 + 3_600_000;
    const a = pod("a", { node: "n", created: T0, uid: "b-uid" });
    const b = pod("b", { node: "n", created: T0 + 2000, uid: "c-uid" });
    expect(ranked([b, a], [0, 0], now)).toEqual(["a", "b"]);
    const crashy = pod("crashy", { node: "n", created: T0, restarts: 3, uid: "z" });
    expect(ranked([b, crashy], [0, 0], now)).toEqual(["crashy", "b"]);
  });

  it("a missing time still sorts first on the log scale", () => {
    const now = T0 + 3_600_000;
    expect(ranked([pod("dated", { node: "n", created: T0, uid: "a" }), pod("undated", { node: "n", uid: "z" })], [0, 0], now)).toEqual(["undated", "dated"]);
  });
});

describe("podDeletionCost", () => {
  it("reads an int32 and treats anything else as 0, as upstream", () => {
    const withCost = (v: string) => podDeletionCost(pod("p", { cost: v }));
    expect(withCost("10")).toBe(10);
    expect(withCost("-7")).toBe(-7);
    expect(withCost("0")).toBe(0);
    expect(withCost("-007")).toBe(-7);
    expect(withCost("+10")).toBe(0);
    expect(withCost("008")).toBe(0);
    expect(withCost("1.5")).toBe(0);
    expect(withCost("abc")).toBe(0);
    expect(withCost("")).toBe(0);
    expect(withCost("2147483647")).toBe(2147483647);
    expect(withCost("2147483648")).toBe(0);
    expect(withCost("-2147483648")).toBe(-2147483648);
    expect(podDeletionCost(pod("p"))).toBe(0);
  });
});

describe("rankedPodsForDeletion", () => {
  it("ranks by active related pods on the same node, ignoring inactive ones", () => {
    const a = pod("a", { node: "n1", readySince: T0 });
    const b = pod("b", { node: "n2", readySince: T0 });
    const related = [a, b, pod("x", { node: "n1" }), pod("y", { node: "n2" }), pod("z", { node: "n2" }), pod("gone", { node: "n1", deleting: true }), pod("done", { node: "n1", phase: "Succeeded" })];
    expect(rankByRelatedPodsOnSameNode([a, b], related).map((r) => r.rank)).toEqual([2, 3]);
    expect(names(rankedPodsForDeletion([a, b], related, T0 + 60_000))).toEqual(["b", "a"]);
  });

  it("returns a new array and leaves its input alone", () => {
    const input = [pod("a", { node: "n", readySince: T0 }), pod("b", { node: "n", notReady: true })];
    const out = rankedPodsForDeletion(input, input, T0);
    expect(names(out)).toEqual(["b", "a"]);
    expect(names(input)).toEqual(["a", "b"]);
  });
});
