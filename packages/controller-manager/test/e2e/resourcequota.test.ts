/**
 * The resourcequota controller in a real cluster, with the real kubectl: a new quota's status
 * filled (Used/Hard in `kubectl describe quota`), usage charged by admission and recounted by the
 * controller, replenished when pods are deleted or finish, a quota created over existing objects,
 * a spec change, a BestEffort-scoped quota, and drift in status.used repaired by the periodic
 * recount (--resource-quota-sync-period 3s). Only resourcequota-controller runs; there is no
 * kubelet, so the test writes a finished pod's status itself. Subnets 127.1.88-91.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, ManagerHarness } from "./harness.js";

const h = new ManagerHarness(
  { etcd: "127.1.88", api: "127.1.89", scheduler: "127.1.90", manager: "127.1.91" },
  { controllers: "resourcequota-controller", args: ["--resource-quota-sync-period", "3s"] },
);

beforeAll(async () => {
  await h.start();
  await h.createNode("kubemu");
}, 90_000);

afterAll(async () => {
  await h.stop();
});

const LIMITS = `apiVersion: v1
kind: LimitRange
metadata: {name: example}
spec:
  limits:
  - type: Container
    defaultRequest: {cpu: 100m, memory: 10Mi}
    default: {cpu: 200m, memory: 100Mi}
`;

/** KIA's quota-cpu-memory.yaml. */
const QUOTA = `apiVersion: v1
kind: ResourceQuota
metadata: {name: cpu-and-mem}
spec:
  hard:
    requests.cpu: 400m
    requests.memory: 200Mi
    limits.cpu: 600m
    limits.memory: 500Mi
`;

const podYaml = (name: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n  containers:\n  - {name: main, image: luksa/kubia}\n`;

/** `kubectl describe quota`'s Resource/Used/Hard rows, whitespace collapsed. */
async function quotaRows(name: string, ns = "default"): Promise<string[]> {
  const out = await h.kubectl.ok(["describe", "quota", name, "-n", ns]);
  const lines = out.split("\n");
  return lines.slice(lines.findIndex((l) => l.startsWith("--------")) + 1).filter((l) => l.trim() !== "").map((l) => l.trim().split(/\s+/).join(" "));
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rowsBecome = (name: string, want: string[], ns = "default") =>
  eventually(async () => (await pause(300), quotaRows(name, ns)), (rows) => JSON.stringify(rows) === JSON.stringify(want), `quota ${name} rows ${JSON.stringify(want)}`, 40_000);

describe("resourcequota-controller with kubectl", () => {
  it("fills a new quota's status, keeps the admission's charges, and replenishes on delete and on a finished pod", async () => {
    await h.kubectl.ok(["create", "-f", "-"], { input: LIMITS });
    await h.kubectl.ok(["create", "-f", "-"], { input: podYaml("before") });
    expect((await h.kubectl.ok(["create", "-f", "-"], { input: QUOTA })).trim()).toBe("resourcequota/cpu-and-mem created");
    // The pod made before the quota is counted by the controller's first sync.
    await rowsBecome("cpu-and-mem", ["limits.cpu 200m 600m", "limits.memory 100Mi 500Mi", "requests.cpu 100m 400m", "requests.memory 10Mi 200Mi"]);
    await h.kubectl.ok(["create", "-f", "-"], { input: podYaml("kubia-manual") });
    // Charged by the admission at once (a recount racing the pod informer may briefly lag it, as upstream's).
    await rowsBecome("cpu-and-mem", ["limits.cpu 400m 600m", "limits.memory 200Mi 500Mi", "requests.cpu 200m 400m", "requests.memory 20Mi 200Mi"]);
    await h.kubectl.ok(["create", "-f", "-"], { input: podYaml("third") });
    const over = await h.kubectl.run(["create", "-f", "-"], { input: podYaml("fourth") });
    expect(over.stderr.trim()).toBe('Error from server (Forbidden): error when creating "STDIN": pods "fourth" is forbidden: exceeded quota: cpu-and-mem, requested: limits.cpu=200m, used: limits.cpu=600m, limited: limits.cpu=600m');
    // A deleted pod frees its share (replenishment), so the refused pod now fits.
    await h.kubectl.ok(["delete", "pod", "before"]);
    await rowsBecome("cpu-and-mem", ["limits.cpu 400m 600m", "limits.memory 200Mi 500Mi", "requests.cpu 200m 400m", "requests.memory 20Mi 200Mi"]);
    await h.kubectl.ok(["create", "-f", "-"], { input: podYaml("fourth") });
    // A pod that finished (the test plays the kubelet) is no longer charged.
    await h.markFinished("default", "third");
    await rowsBecome("cpu-and-mem", ["limits.cpu 400m 600m", "limits.memory 200Mi 500Mi", "requests.cpu 200m 400m", "requests.memory 20Mi 200Mi"]);
  });

  it("a quota created over existing objects counts them; a spec change is followed", async () => {
    await h.kubectl.ok(["create", "namespace", "counts"]);
    await h.kubectl.ok(["create", "configmap", "a", "-n", "counts", "--from-literal=k=v"]);
    await h.kubectl.ok(["create", "configmap", "b", "-n", "counts", "--from-literal=k=v"]);
    await h.kubectl.ok(["create", "service", "nodeport", "web", "-n", "counts", "--tcp=80:8080"]);
    await h.kubectl.ok(["create", "deployment", "web", "--image=nginx", "-n", "counts"]);
    await h.kubectl.ok(["create", "quota", "objects", "-n", "counts", "--hard=configmaps=10,count/deployments.apps=3,services=2,services.nodeports=2,pods=4"]);
    await rowsBecome("objects", ["configmaps 2 10", "count/deployments.apps 1 3", "pods 0 4", "services 1 2", "services.nodeports 1 2"], "counts");
    await h.kubectl.ok(["patch", "quota", "objects", "-n", "counts", "--type=merge", "-p", JSON.stringify({ spec: { hard: { pods: null, secrets: "5" } } })]);
    await rowsBecome("objects", ["configmaps 2 10", "count/deployments.apps 1 3", "secrets 0 5", "services 1 2", "services.nodeports 1 2"], "counts");
    // A NodePort service turned ClusterIP gives its node port back.
    // (Upstream's Service strategy drops the node port itself on a type change; kubemu's API server does not yet.)
    const toClusterIP = [
      { op: "replace", path: "/spec/type", value: "ClusterIP" },
      { op: "remove", path: "/spec/ports/0/nodePort" },
    ];
    await h.kubectl.ok(["patch", "service", "web", "-n", "counts", "--type=json", "-p", JSON.stringify(toClusterIP)]);
    await rowsBecome("objects", ["configmaps 2 10", "count/deployments.apps 1 3", "secrets 0 5", "services 1 2", "services.nodeports 0 2"], "counts");
  });

  it("a BestEffort quota counts only best-effort pods; describe shows its scope", async () => {
    await h.kubectl.ok(["create", "namespace", "scoped"]);
    await h.kubectl.ok(["create", "quota", "best-effort", "-n", "scoped", "--hard=pods=1", "--scopes=BestEffort"]);
    await rowsBecome("best-effort", ["pods 0 1"], "scoped");
    const described = await h.kubectl.ok(["describe", "quota", "best-effort", "-n", "scoped"]);
    expect(described).toMatch(/^Scopes:\s+BestEffort\n \* Matches all pods that do not have resource requirements set\. These pods have a best effort quality of service\.$/m);
    await h.kubectl.ok(["run", "burstable", "--image=nginx", "-n", "scoped", "--overrides", JSON.stringify({ spec: { containers: [{ name: "burstable", image: "nginx", resources: { requests: { cpu: "100m" } } }] } })]);
    await h.kubectl.ok(["run", "besteffort", "--image=nginx", "-n", "scoped"]);
    expect(await quotaRows("best-effort", "scoped")).toEqual(["pods 1 1"]);
    const refused = await h.kubectl.run(["run", "another", "--image=nginx", "-n", "scoped"]);
    expect(refused.stderr.trim()).toBe('Error from server (Forbidden): pods "another" is forbidden: exceeded quota: best-effort, requested: pods=1, used: pods=1, limited: pods=1');
  });

  it("drift in status.used is repaired by the periodic recount", async () => {
    const patched = await h.kubectl.ok(["patch", "quota", "objects", "-n", "counts", "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { used: { configmaps: "9" } } })]);
    expect(patched.trim()).toBe("resourcequota/objects patched");
    await eventually(() => h.kubectl.ok(["get", "quota", "objects", "-n", "counts", "-o", "jsonpath={.status.used.configmaps}"]), (v) => v === "2", "configmaps used recounted to 2", 40_000);
  });
});
