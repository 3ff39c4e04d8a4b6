/**
 * PodDisruptionBudgets in a real cluster (store, API server, scheduler, controller-manager
 * running the disruption, ReplicaSet and Deployment controllers) with the real kubectl:
 * `kubectl get pdb` reads the status the controller keeps, and `kubectl drain <node>
 * --ignore-daemonsets --delete-emptydir-data` is held back by the budget (the API server's
 * eviction answers 429, drain retries every 5 s) until the budget allows disruptions, then
 * evicts the pods one by one as their replacements become Ready elsewhere.
 *
 * There are no kubelets here: test/e2e/fake-kubelets.ts makes pods Ready and completes graceful
 * deletions on the live nodes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resources, type KubeObject } from "@kubemu/common";
import { FakeKubelets } from "./fake-kubelets.js";
import { eventually, ManagerHarness } from "./harness.js";

const h = new ManagerHarness({ etcd: "127.1.58", api: "127.1.59", scheduler: "127.1.80", manager: "127.1.81" }, { schedulers: 1, controllers: "disruption-controller,replicaset-controller,deployment-controller" });
const kubelets = new FakeKubelets(h);

type Pdb = KubeObject & { status?: { disruptionsAllowed?: number; currentHealthy?: number; desiredHealthy?: number; expectedPods?: number; conditions?: { type: string; status: string; reason: string }[] } };

const WEB = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: nginx
          image: nginx
          volumeMounts:
            - name: cache
              mountPath: /cache
      volumes:
        - name: cache
          emptyDir: {}
`;

const FLUENTD = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: fluentd
spec:
  selector:
    matchLabels:
      app: fluentd
  template:
    metadata:
      labels:
        app: fluentd
    spec:
      containers:
        - name: fluentd
          image: fluentd
`;

beforeAll(async () => {
  await h.start();
  // Only kubemu-m02 at first, so both web pods land there; kubemu joins afterwards.
  await kubelets.register(["kubemu-m02"]);
  kubelets.start();
}, 120_000);

afterAll(async () => {
  await kubelets.stop();
  await h.stop();
}, 60_000);

describe("disruption", () => {
  it("kubectl drain waits for the PodDisruptionBudget, then evicts pod by pod", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], { input: WEB });
    await eventually(() => h.pods("default", "app=web"), (ps) => ps.length === 2 && ps.every((p) => p.spec.nodeName === "kubemu-m02" && (p.status?.conditions as { type: string; status: string }[] | undefined)?.some((c) => c.type === "Ready" && c.status === "True")), "2 Ready web pods on kubemu-m02", 40_000);
    await kubelets.register(["kubemu"]);
    // A DaemonSet's pod on the node (no DaemonSet controller runs: the test makes it).
    const ds = await h.kubectl.ok(["apply", "-f", "-", "-o", "jsonpath={.metadata.uid}"], { input: FLUENTD });
    await h.client.create(Resources.pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "fluentd-m02", namespace: "default", labels: { app: "fluentd" }, ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: "fluentd", uid: ds, controller: true, blockOwnerDeletion: true }] },
      spec: { nodeName: "kubemu-m02", containers: [{ name: "fluentd", image: "fluentd" }] },
    });

    expect(await h.kubectl.ok(["create", "pdb", "web-pdb", "--selector=app=web", "--max-unavailable=0"])).toBe("poddisruptionbudget.policy/web-pdb created\n");
    const closed = await eventually(async () => (await h.client.get<Pdb>(Resources.podDisruptionBudgets, "default", "web-pdb")).status, (s) => s?.expectedPods === 2 && s?.currentHealthy === 2, "web-pdb counted", 30_000);
    expect(closed).toMatchObject({ disruptionsAllowed: 0, desiredHealthy: 2, conditions: [expect.objectContaining({ type: "DisruptionAllowed", status: "False", reason: "InsufficientPods" })] });
    expect(await h.kubectl.ok(["get", "pdb"])).toMatch(/web-pdb\s+N\/A\s+0\s+0\s+\d+s\n/);

    const drain = h.kubectl.spawn(["drain", "kubemu-m02", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=150s"]);
    const exited = new Promise<number | null>((resolve) => drain.child.on("exit", (code) => resolve(code)));
    try {
      await eventually(async () => drain.output(), (o) => o.includes("Cannot evict pod as it would violate the pod's disruption budget."), "drain held back by the budget", 40_000);
      const held = drain.output();
      expect(held).toContain("node/kubemu-m02 cordoned");
      expect(held).toContain("Warning: ignoring DaemonSet-managed Pods: default/fluentd-m02");
      expect(held).toMatch(/error when evicting pods\/"web-\S+" -n "default" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\./);
      expect(await h.kubectl.ok(["get", "node", "kubemu-m02"])).toMatch(/kubemu-m02\s+Ready,SchedulingDisabled\s/);
      // Nothing was evicted meanwhile.
      expect((await h.pods("default", "app=web")).filter((p) => !p.metadata.deletionTimestamp && p.spec.nodeName === "kubemu-m02")).toHaveLength(2);

      // The budget opens: one at a time, each replacement Ready on kubemu before the next goes.
      await h.kubectl.ok(["patch", "pdb", "web-pdb", "--type=merge", "-p", '{"spec":{"maxUnavailable":1}}']);
      const code = await Promise.race([exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 120_000))]);
      const out = drain.output();
      expect(code, out).toBe(0);
      expect(out).toContain("node/kubemu-m02 drained");
      expect(out.match(/pod\/web-\S+ evicted/g)).toHaveLength(2);
    } finally {
      if (drain.child.exitCode === null) drain.child.kill("SIGKILL");
    }
    const web = await eventually(() => h.pods("default", "app=web"), (ps) => ps.length === 2 && ps.every((p) => p.spec.nodeName === "kubemu"), "both web pods on kubemu", 30_000);
    expect(web.every((p) => !p.metadata.deletionTimestamp)).toBe(true);
    // The DaemonSet's pod stays (ignored); the status settles back to one allowed disruption.
    await h.client.get(Resources.pods, "default", "fluentd-m02");
    await eventually(() => h.kubectl.ok(["get", "pdb", "web-pdb"]), (o) => /web-pdb\s+N\/A\s+1\s+1\s/.test(o), "web-pdb allows 1", 30_000);
    expect(await h.kubectl.ok(["describe", "pdb", "web-pdb"])).toMatch(/Max unavailable:\s+1\n(.|\n)*Allowed disruptions:\s+1\n\s*Current:\s+2\n\s*Desired:\s+1\n\s*Total:\s+2/);
  }, 240_000);
});
