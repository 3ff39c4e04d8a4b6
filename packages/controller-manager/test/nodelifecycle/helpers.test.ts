/** The node lifecycle controller's pure parts: the rate-limited timed queue, zone keys and states, NoSchedule taints. */
import { describe, expect, it } from "vitest";
import { FakeClock } from "@kubemu/common";
import { RateLimitedTimedQueue, TokenBucket } from "../../src/controllers/nodelifecycle/rate-limited-queue.js";
import { computeZoneState, zoneEvictionRate, zoneKey } from "../../src/controllers/nodelifecycle/zones.js";
import { noScheduleTaintChanges } from "../../src/controllers/nodelifecycle/no-schedule.js";
import { node } from "./fixtures.js";

describe("RateLimitedTimedQueue", () => {
  it("processes each value once, oldest first, one per token; a removed value can be added again", async () => {
    const clock = new FakeClock(0);
    const q = new RateLimitedTimedQueue(1, clock);
    expect(q.add("a", "1")).toBe(true);
    expect(q.add("b", "2")).toBe(true);
    expect(q.add("a", "1")).toBe(false);
    const seen: string[] = [];
    await q.try(async (v) => (seen.push(v.value), { done: true }));
    expect(seen).toEqual(["a"]);
    clock.advance(1000);
    await q.try(async (v) => (seen.push(v.value), { done: true }));
    expect(seen).toEqual(["a", "b"]);
    // Processed values stay known until removed.
    expect(q.add("a", "1")).toBe(false);
    expect(q.remove("a")).toBe(true);
    expect(q.add("a", "1")).toBe(true);
  });

  it("a value not done is retried after its wait (plus 1 ms), keeping its place among due values", async () => {
    const clock = new FakeClock(0);
    const q = new RateLimitedTimedQueue(100, clock);
    q.add("a", undefined);
    let calls = 0;
    await q.try(async () => (calls++, { done: false, retryAfterMs: 50 }));
    expect(calls).toBe(1);
    expect(q.pending()[0]!.processAt).toBe(51);
    clock.advance(51);
    await q.try(async () => (calls++, { done: true }));
    expect(calls).toBe(2);
    expect(q.pending()).toEqual([]);
  });

  it("swapping to 0 stops it; swapping back starts from an empty bucket when the old one was spent", async () => {
    const clock = new FakeClock(0);
    const q = new RateLimitedTimedQueue(0.1, clock);
    q.add("a", undefined);
    q.add("b", undefined);
    const seen: string[] = [];
    const run = () => q.try(async (v) => (seen.push(v.value), { done: true }));
    await run();
    q.swapLimiter(0);
    clock.advance(60_000);
    await run();
    expect(seen).toEqual(["a"]);
    q.swapLimiter(0.1);
    await run();
    expect(seen).toEqual(["a"]);
    clock.advance(10_000);
    await run();
    expect(seen).toEqual(["a", "b"]);
  });

  it("a token bucket of 0.1 qps accepts once per 10 s however often it is asked", () => {
    const clock = new FakeClock(0);
    const t = new TokenBucket(0.1, 1, clock);
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      if (t.tryAccept()) accepted++;
      clock.advance(100);
    }
    expect(accepted).toBe(3);
  });
});

describe("zones", () => {
  it("keys zones by region and zone, with the beta labels as fallback", () => {
    expect(zoneKey(node("a"))).toBe("");
    expect(zoneKey(node("a", { labels: { "topology.kubernetes.io/zone": "z", "topology.kubernetes.io/region": "r" } }))).toBe("r:\x00:z");
    expect(zoneKey(node("a", { labels: { "failure-domain.beta.kubernetes.io/zone": "z" } }))).toBe(":\x00:z");
  });

  it("states: none Ready is full disruption; more than 2 and at least the threshold not Ready is partial", () => {
    const c = (s: string) => ({ type: "Ready", status: s });
    expect(computeZoneState([c("Unknown")], 0.55).state).toBe("FullDisruption");
    expect(computeZoneState([c("True"), c("Unknown"), c("Unknown")], 0.55).state).toBe("Normal");
    expect(computeZoneState([c("True"), c("Unknown"), c("Unknown"), c("False")], 0.55).state).toBe("PartialDisruption");
    expect(computeZoneState([c("True"), c("True"), c("Unknown"), c("Unknown"), c("False")], 0.55)).toEqual({ unhealthy: 3, state: "PartialDisruption" });
    expect(computeZoneState([c("True"), c("True"), c("True"), c("Unknown"), c("Unknown"), c("False")], 0.55).state).toBe("Normal");
    expect(computeZoneState([undefined, c("True")], 0.55).state).toBe("Normal");
    const o = { nodeEvictionRate: 0.1, secondaryNodeEvictionRate: 0.01, largeClusterSizeThreshold: 50 };
    expect(zoneEvictionRate("Normal", 3, o)).toBe(0.1);
    expect(zoneEvictionRate("FullDisruption", 3, o)).toBe(0.1);
    expect(zoneEvictionRate("PartialDisruption", 50, o)).toBe(0);
    expect(zoneEvictionRate("PartialDisruption", 51, o)).toBe(0.01);
  });
});

describe("NoSchedule taints", () => {
  it("follow Ready, the pressure conditions and unschedulable, and touch only the keys they own", () => {
    const n = node("a", { ready: "Unknown", unschedulable: true, taints: [{ key: "node.kubernetes.io/not-ready", effect: "NoSchedule" }, { key: "node.kubernetes.io/unreachable", effect: "NoExecute" }, { key: "x", effect: "NoSchedule" }] });
    expect(noScheduleTaintChanges(n)).toEqual({
      add: [{ key: "node.kubernetes.io/unreachable", effect: "NoSchedule" }, { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" }],
      remove: [{ key: "node.kubernetes.io/not-ready", effect: "NoSchedule" }],
    });
  });
});
