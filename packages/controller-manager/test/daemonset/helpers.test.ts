/** The DaemonSet controller's pure parts: node fit, daemon pod helpers, backoff. */
import { describe, expect, it } from "vitest";
import { FakeClock } from "@kubemu/common";
import { Backoff } from "../../src/controllers/daemonset/backoff.js";
import { addDaemonTolerations, pinToNode, surgeCount, targetNodeName, unavailableCount } from "../../src/controllers/daemonset/daemon-pod.js";
import { nodeSelectorMatches, nodeShouldRunDaemonPod } from "../../src/controllers/daemonset/node-fit.js";
import { daemonSet, node } from "./fixtures.js";

describe("node fit", () => {
  const n = node("kubemu-m02", { labels: { disk: "ssd", cores: "8" } });

  it("node selector terms: ORed terms, ANDed requirements, Gt/Lt as integers, metadata.name fields", () => {
    const term = (matchExpressions: object[], matchFields: object[] = []) => ({ nodeSelectorTerms: [{ matchExpressions, matchFields }] }) as never;
    expect(nodeSelectorMatches(term([{ key: "disk", operator: "In", values: ["ssd", "nvme"] }]), n)).toBe(true);
    expect(nodeSelectorMatches(term([{ key: "disk", operator: "NotIn", values: ["ssd"] }]), n)).toBe(false);
    expect(nodeSelectorMatches(term([{ key: "gpu", operator: "DoesNotExist" }]), n)).toBe(true);
    expect(nodeSelectorMatches(term([{ key: "cores", operator: "Gt", values: ["4"] }, { key: "disk", operator: "Exists" }]), n)).toBe(true);
    expect(nodeSelectorMatches(term([{ key: "cores", operator: "Lt", values: ["x"] }]), n)).toBe(false);
    expect(nodeSelectorMatches(term([], [{ key: "metadata.name", operator: "In", values: ["kubemu-m02"] }]), n)).toBe(true);
    expect(nodeSelectorMatches(term([], [{ key: "metadata.name", operator: "NotIn", values: ["kubemu-m02"] }]), n)).toBe(false);
    expect(nodeSelectorMatches({ nodeSelectorTerms: [{}, { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] }] } as never, n)).toBe(true);
    expect(nodeSelectorMatches({ nodeSelectorTerms: [{}] } as never, n)).toBe(false);
  });

  it("template nodeName, nodeSelector, taints: shouldRun and shouldContinueRunning", () => {
    expect(nodeShouldRunDaemonPod(n, daemonSet({ nodeSelector: { disk: "ssd" } }))).toEqual({ shouldRun: true, shouldContinueRunning: true });
    expect(nodeShouldRunDaemonPod(n, daemonSet({ nodeSelector: { disk: "hdd" } }))).toEqual({ shouldRun: false, shouldContinueRunning: false });
    const pinned = daemonSet();
    const other = { ...pinned, spec: { ...pinned.spec!, template: { ...pinned.spec!.template, spec: { ...pinned.spec!.template.spec!, nodeName: "kubemu" } } } } as typeof pinned;
    expect(nodeShouldRunDaemonPod(n, other).shouldRun).toBe(false);
    const noSchedule = node("x", { taints: [{ key: "k", effect: "NoSchedule" }] });
    expect(nodeShouldRunDaemonPod(noSchedule, daemonSet())).toEqual({ shouldRun: false, shouldContinueRunning: true });
    const noExecute = node("x", { taints: [{ key: "k", effect: "NoExecute" }] });
    expect(nodeShouldRunDaemonPod(noExecute, daemonSet())).toEqual({ shouldRun: false, shouldContinueRunning: false });
    const prefer = node("x", { taints: [{ key: "k", effect: "PreferNoSchedule" }] });
    expect(nodeShouldRunDaemonPod(prefer, daemonSet()).shouldRun).toBe(true);
    expect(nodeShouldRunDaemonPod(noExecute, daemonSet({ tolerations: [{ operator: "Exists" }] })).shouldRun).toBe(true);
    expect(nodeShouldRunDaemonPod(node("x", { taints: [{ key: "node.kubernetes.io/memory-pressure", effect: "NoSchedule" }, { key: "node.kubernetes.io/unreachable", effect: "NoExecute" }] }), daemonSet()).shouldRun).toBe(true);
  });
});

describe("daemon pod helpers", () => {
  it("daemon tolerations replace a matching one (dropping its tolerationSeconds) and keep the rest in order", () => {
    const spec = { containers: [], tolerations: [{ key: "a", operator: "Exists" }, { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 }] };
    addDaemonTolerations(spec);
    expect(spec.tolerations[0]).toEqual({ key: "a", operator: "Exists" });
    expect(spec.tolerations[1]).toEqual({ key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" });
    expect(spec.tolerations).toHaveLength(7);
  });

  it("pinToNode keeps preferred terms and pod affinity; targetNodeName reads the term back, nodeName first", () => {
    const preferred = [{ weight: 1, preference: { matchExpressions: [{ key: "z", operator: "In", values: ["a"] }] } }];
    const a = pinToNode({ nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: preferred }, podAntiAffinity: {} }, "kubemu");
    expect(a.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution).toEqual(preferred);
    expect(a.podAntiAffinity).toEqual({});
    expect(targetNodeName({ spec: { containers: [], affinity: a } })).toBe("kubemu");
    expect(targetNodeName({ spec: { containers: [], affinity: a, nodeName: "other" } })).toBe("other");
    expect(targetNodeName({ spec: { containers: [] } })).toBeUndefined();
  });

  it("maxSurge and maxUnavailable scale percentages up; OnDelete allows neither", () => {
    expect(unavailableCount(daemonSet({ maxUnavailable: "30%" }), 5)).toBe(2);
    expect(surgeCount(daemonSet({ maxSurge: "10%" }), 5)).toBe(1);
    expect(surgeCount(daemonSet({ strategy: "OnDelete" }), 5)).toBe(0);
    expect(unavailableCount(daemonSet({ strategy: "OnDelete" }), 5)).toBe(0);
  });
});

describe("failed-pod backoff", () => {
  it("1 s, doubling to the max; forgotten after twice the max of quiet", () => {
    const clock = new FakeClock(0);
    const b = new Backoff(clock, 1000, 8000);
    expect(b.isInBackOffSinceUpdate("k", 0)).toBe(false);
    b.next("k", 0);
    expect(b.isInBackOffSinceUpdate("k", 999)).toBe(true);
    expect(b.isInBackOffSinceUpdate("k", 1000)).toBe(false);
    for (let i = 0; i < 5; i++) b.next("k", 1000);
    expect(b.get("k")).toBe(8000);
    clock.advance(1000 + 16_001);
    expect(b.isInBackOffSinceUpdate("k", clock.now())).toBe(false);
    b.gc();
    expect(b.size()).toBe(0);
  });
});
