/**
 * `kubectl top` against real kubelets: metrics.k8s.io served by the API server from each node's
 * /stats/summary. A busy pod shows its CPU, both nodes are listed with usage and percentages,
 * kubectl's own errors read as upstream's (NotFound from the metrics API, "metrics not
 * available yet" for pods without samples), and view/edit/admin aggregate the metrics reader.
 * Subnets: etcd 127.1.250.x, API 127.1.251.x, scheduler 127.1.252.x, nodes 127.1.253.1-2, pods 127.239.N.0/24.
 */
import { describe, expect, it } from "vitest";
import { eventually, kubeletHarnessForFile } from "./harness.js";

const h = kubeletHarnessForFile({ etcd: "127.1.250", api: "127.1.251", scheduler: "127.1.252" }, [
  { name: "kubemu", n: 1 },
  { name: "kubemu-m02", n: 2 },
], { nodes: "127.1.253", pods: "127.239" });

const pod = (name: string, ns: string, nodeName: string, command: string[]) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: ns, labels: { app: name } },
  spec: { nodeName, terminationGracePeriodSeconds: 0, containers: [{ name: "main", image: "busybox", command }] },
});

/** Output lines without the padding kubectl's tabwriter leaves at their ends. */
const rows = (out: string) => out.trim().split("\n").map((l) => l.trimEnd());

/** Millicores of a `kubectl top` CPU cell ("987m", "1"). */
const millis = (cell: string) => (cell.endsWith("m") ? Number(cell.slice(0, -1)) : Number(cell) * 1000);

describe("kubectl top", () => {
  it("answers in upstream's words before there are metrics", async () => {
    await eventually(() => h.kubectl.ok(["get", "nodes"]), (o) => /kubemu\s+Ready/.test(o) && /kubemu-m02\s+Ready/.test(o), "both nodes Ready", 40_000);
    const missing = await h.kubectl.run(["top", "pod", "nosuch"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim()).toBe('Error from server (NotFound): podmetrics.metrics.k8s.io "default/nosuch" not found');
    // A pod on a node no kubelet runs never gets a sample.
    await h.kubectl.ok(["create", "namespace", "quiet"]);
    await h.kubectl.ok(["apply", "-f", "-"], { input: JSON.stringify(pod("parked", "quiet", "nowhere", ["sleep", "3600"])) });
    const quiet = await h.kubectl.run(["top", "pod", "-n", "quiet"]);
    expect(quiet.stderr.trim()).toBe("error: metrics not available yet");
  }, 60_000);

  it("a busy pod shows its CPU (> 100m) per pod, per container and by label", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], { input: JSON.stringify(pod("busy", "default", "kubemu", ["sh", "-c", "while :; do :; done"])) });
    await h.kubectl.ok(["apply", "-f", "-"], { input: JSON.stringify(pod("idle", "default", "kubemu-m02", ["sleep", "3600"])) });
    await eventually(() => h.kubectl.ok(["get", "pods"]), (o) => /busy\s+1\/1\s+Running/.test(o) && /idle\s+1\/1\s+Running/.test(o), "both pods Running", 40_000);
    // Two samples 10 s apart make a rate.
    const top = await eventually(() => h.kubectl.run(["top", "pod"]), (r) => r.code === 0 && /^busy\s/m.test(r.stdout) && /^idle\s/m.test(r.stdout), "both pods in kubectl top pod", 60_000);
    const lines = rows(top.stdout);
    expect(lines[0]).toMatch(/^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)$/);
    const [, busyCpu, busyMem] = lines.find((l) => l.startsWith("busy"))!.split(/\s+/);
    expect(millis(busyCpu!)).toBeGreaterThan(100);
    expect(busyMem).toMatch(/^\d+Mi$/);
    const [, idleCpu] = lines.find((l) => l.startsWith("idle"))!.split(/\s+/);
    expect(millis(idleCpu!)).toBeLessThan(50);

    const containers = rows(await h.kubectl.ok(["top", "pod", "busy", "--containers"]));
    expect(containers[0]).toMatch(/^POD\s+NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)$/);
    expect(containers[1]).toMatch(/^busy\s+main\s+\d+m?\s+\d+Mi$/);
    const byLabel = await h.kubectl.ok(["top", "pod", "-l", "app=idle", "--no-headers"]);
    expect(rows(byLabel).map((l) => l.split(/\s+/)[0])).toEqual(["idle"]);

    const all = rows(await h.kubectl.ok(["top", "pod", "-A"]));
    expect(all[0]).toMatch(/^NAMESPACE\s+NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)$/);
    expect(all.some((l) => /^default\s+busy\s/.test(l))).toBe(true);
    expect(await h.kubectl.ok(["get", "podmetrics", "busy", "-o", "jsonpath={.containers[0].name}"])).toBe("main");
    const raw = JSON.parse(await h.kubectl.ok(["get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/busy"]));
    expect(raw).toMatchObject({ kind: "PodMetrics", apiVersion: "metrics.k8s.io/v1beta1", metadata: { name: "busy", namespace: "default", labels: { app: "busy" } }, window: "10s" });
    expect(raw.containers[0]).toMatchObject({ name: "main", usage: { cpu: expect.stringMatching(/^\d+[nm]?$/), memory: expect.stringMatching(/^\d+Ki$/) } });
  }, 120_000);

  it("kubectl top node lists both nodes with usage and percentages of allocatable", async () => {
    const top = await eventually(() => h.kubectl.run(["top", "node"]), (r) => r.code === 0 && /^kubemu\s+\d/m.test(r.stdout) && /^kubemu-m02\s+\d/m.test(r.stdout), "both nodes in kubectl top node", 40_000);
    const lines = rows(top.stdout);
    expect(lines[0]).toMatch(/^NAME\s+CPU\(cores\)\s+CPU\(%\)\s+MEMORY\(bytes\)\s+MEMORY\(%\)$/);
    for (const name of ["kubemu", "kubemu-m02"]) {
      const row = lines.find((l) => l.split(/\s+/)[0] === name)!;
      expect(row).toMatch(/^\S+\s+\d+m?\s+\d+%\s+\d+Mi\s+\d+%$/);
    }
    const one = rows(await h.kubectl.ok(["top", "node", "kubemu-m02", "--no-headers"]));
    expect(one).toHaveLength(1);
    expect(one[0]).toMatch(/^kubemu-m02\s/);
    const missing = await h.kubectl.run(["top", "node", "nosuch"]);
    expect(missing.stderr.trim()).toBe('Error from server (NotFound): nodemetrics.metrics.k8s.io "nosuch" not found');
    // The busy loop keeps at least a tenth of a core busy on the host every node's share is taken from.
    expect(millis(lines.find((l) => l.startsWith("kubemu "))!.split(/\s+/)[1]!)).toBeGreaterThan(100);
  }, 60_000);

  it("the view role aggregates the metrics reader, so anyone who may view may use kubectl top", async () => {
    const view = JSON.parse(await h.kubectl.ok(["get", "clusterrole", "view", "-o", "json"]));
    expect(view.rules).toContainEqual({ apiGroups: ["metrics.k8s.io"], resources: ["nodes", "pods"], verbs: ["get", "list", "watch"] });
    const can = await h.kubectl.run(["auth", "can-i", "list", "pods.metrics.k8s.io", "--as", "viewer", "--as-group", "viewers"]);
    expect(can.stdout.trim()).toBe("no");
    const refused = await h.kubectl.run(["top", "pod", "--as", "viewer", "--as-group", "viewers"]);
    expect(refused.stderr.trim()).toBe('Error from server (Forbidden): pods.metrics.k8s.io is forbidden: User "viewer" cannot list resource "pods" in API group "metrics.k8s.io" in the namespace "default"');
    await h.kubectl.ok(["create", "rolebinding", "viewers", "--clusterrole", "view", "--group", "viewers"]);
    await eventually(() => h.kubectl.run(["auth", "can-i", "list", "pods.metrics.k8s.io", "--as", "viewer", "--as-group", "viewers"]), (r) => r.stdout.trim() === "yes", "view grants pods.metrics.k8s.io", 20_000);
    const asViewer = rows(await h.kubectl.ok(["top", "pod", "busy", "--as", "viewer", "--as-group", "viewers", "--no-headers"]));
    expect(asViewer[0]).toMatch(/^busy\s+\d+m?\s+\d+Mi$/);
  }, 60_000);
});
