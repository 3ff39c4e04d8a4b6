import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { containerKey, nanoCores, NODE_KEY, summary, UsageSampler } from "../src/runtime/stats.js";
import { nodeUsage } from "../src/runtime/usage.js";

const T0 = Date.parse("2026-12-03T18:00:00Z");

describe("CPU rate between two samples", () => {
  it("is the cumulative CPU used over the time between them, in nanocores", () => {
    expect(nanoCores({ at: T0, cpuSeconds: 10, rssBytes: 0 }, { at: T0 + 10_000, cpuSeconds: 12.5, rssBytes: 0 })).toBe(250_000_000);
    expect(nanoCores({ at: T0, cpuSeconds: 1, rssBytes: 0 }, { at: T0 + 2_000, cpuSeconds: 3, rssBytes: 0 })).toBe(1_000_000_000);
  });
  it("has none without an earlier sample, when time stood still, or when the counter went back", () => {
    expect(nanoCores(undefined, { at: T0, cpuSeconds: 1, rssBytes: 0 })).toBeUndefined();
    expect(nanoCores({ at: T0, cpuSeconds: 1, rssBytes: 0 }, { at: T0, cpuSeconds: 2, rssBytes: 0 })).toBeUndefined();
    expect(nanoCores({ at: T0, cpuSeconds: 5, rssBytes: 0 }, { at: T0 + 1000, cpuSeconds: 1, rssBytes: 0 })).toBeUndefined();
  });
});

describe("the Summary (/stats/summary)", () => {
  const busy = { namespace: "default", pod: "busy", uid: "u1", container: "main", startedAt: T0 - 60_000 };
  const side = { namespace: "default", pod: "busy", uid: "u1", container: "side", startedAt: T0 - 30_000 };

  it("reports a rate once a container has two samples, and sums containers per pod", () => {
    const s = new UsageSampler();
    s.record(NODE_KEY, T0, { cpuSeconds: 100, rssBytes: 4096 });
    s.record(containerKey(busy), T0, { cpuSeconds: 3, rssBytes: 1000 });
    s.record(containerKey(side), T0, { cpuSeconds: 1, rssBytes: 24 });
    const first = summary("kubemu", T0 - 120_000, s, [busy, side]) as any;
    expect(first.node.cpu.usageNanoCores).toBeUndefined();
    expect(first.pods[0].containers[0].cpu).toEqual({ time: new Date(T0).toISOString(), usageCoreNanoSeconds: 3e9 });

    s.record(NODE_KEY, T0 + 10_000, { cpuSeconds: 115, rssBytes: 8192 });
    s.record(containerKey(busy), T0 + 10_000, { cpuSeconds: 13, rssBytes: 2000 });
    s.record(containerKey(side), T0 + 10_000, { cpuSeconds: 1.1, rssBytes: 48 });
    const doc = summary("kubemu", T0 - 120_000, s, [busy, side]) as any;
    const at = new Date(T0 + 10_000).toISOString();
    expect(doc.node).toEqual({
      nodeName: "kubemu",
      startTime: new Date(T0 - 120_000).toISOString(),
      cpu: { time: at, usageNanoCores: 1_500_000_000, usageCoreNanoSeconds: 115e9 },
      memory: { time: at, workingSetBytes: 8192, rssBytes: 8192, usageBytes: 8192 },
    });
    expect(doc.pods).toHaveLength(1);
    const pod = doc.pods[0];
    expect(pod.podRef).toEqual({ name: "busy", namespace: "default", uid: "u1" });
    expect(pod.startTime).toBe(new Date(busy.startedAt).toISOString());
    expect(pod.containers.map((c: any) => [c.name, c.cpu.usageNanoCores, c.memory.workingSetBytes])).toEqual([
      ["main", 1_000_000_000, 2000],
      ["side", 10_000_000, 48],
    ]);
    expect(pod.cpu.usageNanoCores).toBe(1_010_000_000);
    expect(pod.memory.workingSetBytes).toBe(2048);
  });

  it("a restarted container starts a new series; stopped ones are forgotten", () => {
    const s = new UsageSampler();
    s.record(containerKey(busy), T0, { cpuSeconds: 50, rssBytes: 1 });
    s.record(containerKey(busy), T0 + 10_000, { cpuSeconds: 60, rssBytes: 1 });
    const restarted = { ...busy, startedAt: T0 + 12_000 };
    s.record(containerKey(restarted), T0 + 20_000, { cpuSeconds: 0.5, rssBytes: 1 });
    s.retain(new Set([containerKey(restarted)]));
    const doc = summary("kubemu", T0, s, [restarted]) as any;
    expect(doc.pods[0].containers[0].cpu.usageNanoCores).toBeUndefined();
    expect(s.cpu(containerKey(busy))).toBeUndefined();
    // Not running any more: not in the Summary even though a reading is kept until the next retain.
    expect((summary("kubemu", T0, s, []) as any).pods).toEqual([]);
  });
});

describe("node usage scaled to the node's capacity", () => {
  it("a node reporting half the host's CPUs and memory reports about half the host's usage", () => {
    const hostCpus = readFileSync("/proc/stat", "utf8").split("\n").filter((l) => /^cpu\d+ /.test(l)).length;
    const memTotal = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"))![1]) * 1024;
    const host = nodeUsage();
    const half = nodeUsage({ cores: hostCpus / 2, memoryBytes: memTotal / 2 });
    // Read a moment apart: the host moved on a little in between.
    expect(half.cpuSeconds).toBeGreaterThan(host.cpuSeconds * 0.45);
    expect(half.cpuSeconds).toBeLessThan(host.cpuSeconds * 0.55);
    expect(half.rssBytes).toBeGreaterThan(host.rssBytes * 0.4);
    expect(half.rssBytes).toBeLessThan(host.rssBytes * 0.6);
  });
});
