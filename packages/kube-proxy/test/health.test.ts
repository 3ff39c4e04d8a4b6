import { describe, expect, it } from "vitest";
import { FakeClock } from "@kubemu/common";
import { goTimeString, nodeInfoOf, NodeLocator, ProxierHealth } from "../src/index.js";
import { node } from "./fixtures.js";

describe("goTimeString", () => {
  it("prints time.Time as Go's String() does", () => {
    expect(goTimeString(Date.UTC(2025, 0, 2, 15, 4, 5, 120), 12.5)).toBe("2025-01-02 15:04:05.12 +0000 UTC m=+12.500000000");
    expect(goTimeString(Date.UTC(2025, 0, 2, 15, 4, 5), undefined)).toBe("2025-01-02 15:04:05 +0000 UTC");
    expect(goTimeString(0, undefined)).toBe("0001-01-01 00:00:00 +0000 UTC");
  });
});

describe("ProxierHealth", () => {
  it("answers upstream's JSON: healthy until a queued update waits past the timeout", () => {
    const clock = new FakeClock(Date.UTC(2025, 0, 1));
    const h = new ProxierHealth(clock, 60_000, 0);
    let a = h.healthz();
    expect(a.code).toBe(200);
    const body = JSON.parse(a.body) as { lastUpdated: string; currentTime: string; nodeEligible: boolean };
    expect(body).toEqual({ lastUpdated: body.currentTime, currentTime: "2025-01-01 00:00:00 +0000 UTC m=+1735689600.000000000", nodeEligible: true });
    h.updated();
    clock.advance(1000);
    h.queuedUpdate();
    clock.advance(59_000);
    expect(h.healthz().code).toBe(200);
    clock.advance(1000);
    a = h.healthz();
    expect(a.code).toBe(503);
    expect(JSON.parse(a.body).lastUpdated).toBe("2025-01-01 00:00:00 +0000 UTC m=+1735689600.000000000");
    expect(h.livez().code).toBe(503);
    h.updated();
    expect(h.healthz().code).toBe(200);
    expect(Object.keys(JSON.parse(h.livez().body))).toEqual(["lastUpdated", "currentTime"]);
  });

  it("fails /healthz but not /livez while the node is leaving", () => {
    const h = new ProxierHealth(new FakeClock(), 1000, 0);
    h.syncNode(!nodeInfoOf(node("n1", "127.0.100.1", "127.244.1.0/24", undefined, { taints: [{ key: "ToBeDeletedByClusterAutoscaler", effect: "NoSchedule" }] }))!.leaving);
    expect(h.healthz().code).toBe(503);
    expect(JSON.parse(h.healthz().body).nodeEligible).toBe(false);
    expect(h.livez().code).toBe(200);
  });
});

describe("NodeLocator", () => {
  it("finds a client's node by its node IP or pod CIDR", () => {
    const l = new NodeLocator([node("n1", "127.0.100.1", "127.244.1.0/24", "z1"), node("n2", "127.0.100.2", "127.244.2.0/24")].map((n) => nodeInfoOf(n)!));
    expect(l.nodeFor("127.0.100.2")?.name).toBe("n2");
    expect(l.nodeFor("127.244.1.77")?.name).toBe("n1");
    expect(l.nodeFor("127.244.3.1")).toBeUndefined();
    expect(l.nodeFor("garbage")).toBeUndefined();
    expect(l.get("n1")?.zone).toBe("z1");
  });
});
