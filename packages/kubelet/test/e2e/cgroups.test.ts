/**
 * Resource limits through the kernel's cgroups, on real kubelet, API server and store processes
 * with kubectl: a pod with limits.memory 50Mi allocating 200 MiB ends OOMKilled with exit 137 (the
 * kernel's OOM kill, counted in its cgroup), a pod with limits.cpu 200m running a busy loop gets
 * ~0.2 cores (its cgroup's cpuacct read over a few seconds), `kubectl top` reads the cgroup's
 * figures, and the pods' cgroups are gone once the pods are deleted. Skipped, with the reason,
 * where cgroups are not writable (not root, no memory/cpu hierarchy).
 * Subnets: etcd 127.5.1.x, API 127.5.2.x, scheduler 127.5.3.x, node 127.5.4.1, pods 127.211.1.0/24.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@kubemu/common";
import { NodeCgroups } from "../../src/runtime/cgroups.js";
import { nodeCgroupParent } from "../../src/runtime/cgroup-config.js";
import { eventually, KubeletHarness } from "./harness.js";

const probe = NodeCgroups.detect("kubemu-e2e-probe", `/nonexistent/kubemu-e2e-${process.pid}`, silentLogger);
const skip = !probe.cgroups || probe.cgroups.version !== 1;
if (skip) console.log(`cgroup e2e skipped: ${probe.cgroups ? "cgroup v2 machine (this test reads v1 files)" : probe.note}`);

const h = skip ? undefined : new KubeletHarness({ etcd: "127.5.1", api: "127.5.2", scheduler: "127.5.3" }, [{ name: "kubemu", n: 1 }], { nodes: "127.5.4", pods: "127.211" });
beforeAll(async () => {
  await h?.start();
}, 60_000);
afterAll(async () => {
  await h?.stop();
  // The harness SIGKILLs its kubelets, which leaves their cgroups: sweep the node's subtree as its next start would, and the probe's.
  if (h) await NodeCgroups.detect("kubemu", h.nodeDir("kubemu"), silentLogger).cgroups?.sweep();
  await probe.cgroups?.sweep();
}, 30_000);

const pod = (name: string, command: string[], limits: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default" },
  spec: { nodeName: "kubemu", restartPolicy: "Never", terminationGracePeriodSeconds: 0, containers: [{ name: "main", image: "busybox", command, resources: { limits, requests: limits } }] },
});

/** The node's cgroup subtree in a v1 hierarchy. */
const nodeDir = (controller: string) => join("/sys/fs/cgroup", controller, nodeCgroupParent("kubemu", h!.nodeDir("kubemu")));

/** The container's cgroup directory in a v1 hierarchy (found by the pod's uid; Guaranteed pods sit right under kubepods). */
const containerDir = (controller: string, uid: string) => {
  const podDir = join(nodeDir(controller), "kubepods", `pod${uid}`);
  const ids = existsSync(podDir) ? readdirSync(podDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : [];
  return ids.length === 1 ? join(podDir, ids[0]!) : undefined;
};

describe.skipIf(skip)("cgroup limits (kubelet with cgroup v1)", () => {
  it("the kubelet says it uses cgroups", async () => {
    await eventually(async () => h!.output("kubelet-kubemu"), (o) => o.includes("cgroup v1: containers get cgroups under kubemu/kubemu_"), "the kubelet's cgroup line");
  }, 30_000);

  it("limits.memory 50Mi, allocating 200 MiB: OOMKilled, exit 137, from the kernel", async () => {
    const script = "const a=[]; for (let i=0;i<200;i++) a.push(Buffer.alloc(1<<20, 1)); console.log('survived'); setTimeout(()=>{}, 60000)";
    const created = Date.now();
    await h!.kubectl.ok(["apply", "-f", "-"], { input: JSON.stringify(pod("hog", ["sh", "-c", `exec ${process.execPath} -e "${script}"`], { memory: "50Mi", cpu: "500m" })) });
    const terminated = await eventually(
      async () => JSON.parse(await h!.kubectl.ok(["get", "pod", "hog", "-o", "json"])),
      (p) => p.status?.containerStatuses?.[0]?.state?.terminated !== undefined,
      "hog terminated",
      60_000,
    );
    const t = terminated.status.containerStatuses[0].state.terminated;
    console.log(`OOM: pod created → terminated seen ${Date.now() - created} ms; started ${t.startedAt}, finished ${t.finishedAt}`);
    expect(t).toMatchObject({ reason: "OOMKilled", exitCode: 137 });
    expect(await h!.kubectl.ok(["get", "pod", "hog", "--no-headers"])).toMatch(/^hog\s+0\/1\s+OOMKilled\s+0/);
    expect(h!.log("kubemu", "default", "hog", "main")).not.toContain("survived");
    // The kernel killed it: the OOM kill counted in its cgroup is what the kubelet read (no watchdog runs with cgroups).
    expect(h!.output("kubelet-kubemu")).not.toContain("memory limit exceeded: killing the container");
  }, 90_000);

  it("limits.cpu 200m with a busy loop: ~0.2 cores from its cgroup's cpuacct; kubectl top agrees", async () => {
    await h!.kubectl.ok(["apply", "-f", "-"], { input: JSON.stringify(pod("spin", ["sh", "-c", "while :; do :; done"], { cpu: "200m", memory: "64Mi" })) });
    const uid = (await eventually(async () => JSON.parse(await h!.kubectl.ok(["get", "pod", "spin", "-o", "json"])), (p) => p.status?.phase === "Running", "spin Running", 60_000)).metadata.uid;
    const acct = await eventually(async () => containerDir("cpuacct", uid), (d) => d !== undefined, "spin's cgroup");
    const cpuDir = containerDir("cpu", uid)!;
    expect(readFileSync(join(cpuDir, "cpu.cfs_quota_us"), "utf8").trim()).toBe("20000");
    expect(readFileSync(join(cpuDir, "cpu.cfs_period_us"), "utf8").trim()).toBe("100000");
    expect(readFileSync(join(cpuDir, "cpu.shares"), "utf8").trim()).toBe("204");
    expect(readFileSync(join(containerDir("memory", uid)!, "memory.limit_in_bytes"), "utf8").trim()).toBe(String(64 * 1024 * 1024));
    const usage = () => Number(readFileSync(join(acct!, "cpuacct.usage"), "utf8").trim()) / 1e9;
    await new Promise((r) => setTimeout(r, 1000));
    const [a, t0] = [usage(), performance.now()];
    await new Promise((r) => setTimeout(r, 4000));
    const cores = (usage() - a) / ((performance.now() - t0) / 1000);
    console.log(`CPU-limited pod: ${cores.toFixed(3)} cores over 4 s`);
    expect(cores).toBeGreaterThan(0.05);
    expect(cores).toBeLessThan(0.35);
    const top = await eventually(() => h!.kubectl.run(["top", "pod", "spin", "--no-headers"]), (r) => r.code === 0 && /^spin\s+\d+m/.test(r.stdout), "spin in kubectl top", 60_000);
    const milli = Number(/^spin\s+(\d+)m/.exec(top.stdout)![1]);
    console.log(`kubectl top pod spin: ${top.stdout.trim()}`);
    expect(milli).toBeLessThan(350);
    expect(milli).toBeGreaterThan(50);
  }, 120_000);

  it("deleting the pods removes their cgroups", async () => {
    const uids = await Promise.all(["hog", "spin"].map(async (n) => JSON.parse(await h!.kubectl.ok(["get", "pod", n, "-o", "json"])).metadata.uid as string));
    await h!.kubectl.ok(["delete", "pod", "hog", "spin", "--wait=true"]);
    for (const c of ["memory", "cpu", "cpuacct"]) {
      for (const uid of uids) {
        await eventually(async () => existsSync(join(nodeDir(c), "kubepods", `pod${uid}`)), (e) => !e, `pod${uid}'s ${c} cgroup removed`, 20_000);
      }
    }
  }, 60_000);

  it("a SIGKILLed kubelet's stale cgroups are swept when it starts again; the restored pod gets a new one", async () => {
    await h!.kubectl.ok(["apply", "-f", "-"], { input: JSON.stringify({ ...pod("sleeper", ["sleep", "3600"], { cpu: "100m", memory: "32Mi" }), spec: { ...pod("sleeper", [], {}).spec, containers: [{ name: "main", image: "busybox", command: ["sleep", "3600"], resources: { limits: { cpu: "100m", memory: "32Mi" }, requests: { cpu: "100m", memory: "32Mi" } } }], restartPolicy: "Always" } }) });
    const uid = (await eventually(async () => JSON.parse(await h!.kubectl.ok(["get", "pod", "sleeper", "-o", "json"])), (p) => p.status?.phase === "Running", "sleeper Running", 60_000)).metadata.uid;
    const before = await eventually(async () => containerDir("memory", uid), (d) => d !== undefined, "sleeper's cgroup");
    await h!.killKubelet("kubemu");
    // Its container died with it (bwrap --die-with-parent); the empty cgroup stays behind.
    await eventually(async () => readFileSync(join(before!, "cgroup.procs"), "utf8").trim(), (procs) => procs === "", "the stale cgroup empty");
    h!.startKubelet("kubemu");
    await eventually(async () => !existsSync(before!) && containerDir("memory", uid) !== undefined, (ok) => ok, "the stale cgroup swept and the restored container in a new one", 60_000);
    expect(h!.output("kubelet-kubemu")).toMatch(/"staleRemoved":[1-9]/);
    await h!.kubectl.ok(["delete", "pod", "sleeper", "--wait=true"]);
  }, 120_000);
});
