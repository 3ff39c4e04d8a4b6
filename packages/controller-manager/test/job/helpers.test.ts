import { describe, expect, it } from "vitest";
import type { Pod } from "kubernetes-types/core/v1.js";
import { BackoffStore, finishedTime, remainingBackoff } from "../../src/controllers/job/backoff.js";
import { OrderedIntervals, podGenerateNameWithIndex } from "../../src/controllers/job/indexed.js";
import { matchPodFailurePolicy } from "../../src/controllers/job/pod-failure-policy.js";
import { matchSuccessPolicy } from "../../src/controllers/job/success-policy.js";

describe("ordered intervals (status.completedIndexes)", () => {
  it("prints two neighbours as a list and three or more as a range", () => {
    expect(new OrderedIntervals().withOrderedIndexes([1, 3, 4, 5, 7]).toString()).toBe("1,3-5,7");
    expect(new OrderedIntervals().withOrderedIndexes([0, 1]).toString()).toBe("0,1");
    expect(new OrderedIntervals().withOrderedIndexes([2, 2, 3]).toString()).toBe("2,3");
  });

  it("parses, merging adjacent parts, dropping what is beyond completions and corrupt parts", () => {
    expect(OrderedIntervals.parse("0,1,2-4,x,9", 8).toString()).toBe("0-4");
    expect(OrderedIntervals.parse("3-20", 6).toString()).toBe("3-5");
    expect(OrderedIntervals.parse("", 3).total()).toBe(0);
  });

  it("merges and answers membership", () => {
    const a = OrderedIntervals.parse("0-2,10", 20).merge(OrderedIntervals.parse("3,8-9", 20));
    expect(a.toString()).toBe("0-3,8-10");
    expect(a.total()).toBe(7);
    expect([0, 3, 4, 8, 10, 11].map((i) => a.has(i))).toEqual([true, true, false, true, true, false]);
  });

  it("cuts long job names in pod generate names, keeping the index", () => {
    expect(podGenerateNameWithIndex("pi", 3)).toBe("pi-3-");
    const long = "a".repeat(70);
    expect(podGenerateNameWithIndex(long, 12)).toBe(`${"a".repeat(54)}-12-`);
  });
});

describe("success policy", () => {
  const done = OrderedIntervals.parse("0-2,5", 10);
  it("matches a rule whose indexes all succeeded, or enough of them", () => {
    expect(matchSuccessPolicy({ rules: [{ succeededIndexes: "6" }, { succeededIndexes: "1-2" }] }, 10, done)).toBe("Matched rules at index 1");
    expect(matchSuccessPolicy({ rules: [{ succeededIndexes: "0-9", succeededCount: 4 }] }, 10, done)).toBe("Matched rules at index 0");
    expect(matchSuccessPolicy({ rules: [{ succeededIndexes: "0-9", succeededCount: 5 }] }, 10, done)).toBeUndefined();
    expect(matchSuccessPolicy({ rules: [{ succeededCount: 4 }] }, 10, done)).toBe("Matched rules at index 0");
    expect(matchSuccessPolicy({ rules: [{ succeededIndexes: "bad" }] }, 10, done)).toBeUndefined();
  });
});

const failedPod = (exitCode: number, finishedAt: string, name = "p"): Pod => ({
  metadata: { name, namespace: "ns" },
  status: { phase: "Failed", containerStatuses: [{ name: "c", image: "i", imageID: "", ready: false, restartCount: 0, state: { terminated: { exitCode, finishedAt } } }] },
});

describe("pod failure backoff", () => {
  it("counts failures since the last success and doubles the delay to the cap", () => {
    const store = new BackoffStore();
    const r1 = store.newRecord("k", [], [failedPod(1, "2026-01-01T00:00:10Z"), failedPod(1, "2026-01-01T00:00:05Z")]);
    expect(r1).toEqual({ key: "k", failuresAfterLastSuccess: 2, lastFailureTime: Date.parse("2026-01-01T00:00:10Z") });
    store.update(r1);
    const ok: Pod = { metadata: {}, status: { phase: "Succeeded", containerStatuses: [{ name: "c", image: "i", imageID: "", ready: false, restartCount: 0, state: { terminated: { exitCode: 0, finishedAt: "2026-01-01T00:00:20Z" } } }] } };
    // Only failures after the newest success count.
    expect(store.newRecord("k", [ok], [failedPod(1, "2026-01-01T00:00:15Z"), failedPod(1, "2026-01-01T00:00:30Z")]).failuresAfterLastSuccess).toBe(1);
    expect([1, 2, 3, 4, 5].map((n) => remainingBackoff(0, 10_000, 60_000, n, 0))).toEqual([10_000, 20_000, 40_000, 60_000, 60_000]);
    expect(remainingBackoff(15_000, 10_000, 60_000, 1, 0)).toBe(0);
  });

  it("takes a pod's finish time from its containers, else its Ready=False transition", () => {
    expect(finishedTime(failedPod(1, "2026-01-01T00:01:00Z"))).toBe(Date.parse("2026-01-01T00:01:00Z"));
    expect(finishedTime({ metadata: { creationTimestamp: "2026-01-01T00:00:00Z" }, status: { conditions: [{ type: "Ready", status: "False", lastTransitionTime: "2026-01-01T00:02:00Z" }] } })).toBe(Date.parse("2026-01-01T00:02:00Z"));
  });
});

describe("pod failure policy matching", () => {
  it("takes the first matching rule; exit code 0 and running containers never match", () => {
    const policy = { rules: [{ action: "Ignore", onExitCodes: { operator: "In", values: [0, 3] } }, { action: "Count", onExitCodes: { operator: "NotIn", values: [5] } }] };
    expect(matchPodFailurePolicy(policy, failedPod(3, "2026-01-01T00:00:00Z"))).toEqual({ countFailed: false, action: "Ignore" });
    expect(matchPodFailurePolicy(policy, failedPod(4, "2026-01-01T00:00:00Z"))).toEqual({ countFailed: true, action: "Count" });
    expect(matchPodFailurePolicy(policy, failedPod(5, "2026-01-01T00:00:00Z"))).toEqual({ countFailed: true });
    expect(matchPodFailurePolicy({ rules: [{ action: "FailJob", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] }] }, { metadata: { name: "p", namespace: "ns" }, status: { conditions: [{ type: "DisruptionTarget", status: "True" }] } }).failJobMessage).toBe(
      "Pod ns/p has condition DisruptionTarget matching FailJob rule at index 0",
    );
  });
});
