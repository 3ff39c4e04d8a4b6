import { describe, expect, it } from "vitest";
import { nodeUsage, resourceMetrics, treeUsage } from "../src/runtime/usage.js";

describe("resource usage", () => {
  it("reads this process's tree and the node from /proc", () => {
    const me = treeUsage(process.pid);
    expect(me.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(me.cpuSeconds).toBeGreaterThan(0);
    const node = nodeUsage();
    expect(node.cpuSeconds).toBeGreaterThan(0);
    expect(node.rssBytes).toBeGreaterThan(0);
  });
  it("formats /metrics/resource as upstream: per container, per pod (summed), node, scrape error", () => {
    const text = resourceMetrics({ cpuSeconds: 100.5, rssBytes: 2048 }, [
      { namespace: "default", pod: "web", container: "a", startedAt: 1_700_000_000_000, usage: { cpuSeconds: 1.5, rssBytes: 100 } },
      { namespace: "default", pod: "web", container: "b", startedAt: 1_700_000_000_500, usage: { cpuSeconds: 0.5, rssBytes: 50 } },
    ], 1_700_000_001_000);
    expect(text).toContain('container_cpu_usage_seconds_total{container="a",namespace="default",pod="web"} 1.5 1700000001000');
    expect(text).toContain('container_start_time_seconds{container="b",namespace="default",pod="web"} 1700000000.5 1700000001000');
    expect(text).toContain('pod_memory_working_set_bytes{namespace="default",pod="web"} 150 1700000001000');
    expect(text).toContain("node_cpu_usage_seconds_total 100.5 1700000001000");
    expect(text).toContain("# TYPE node_memory_working_set_bytes gauge");
    expect(text.trimEnd().endsWith("resource_scrape_error 0")).toBe(true);
  });
});
