/**
 * replicaset-controller and replicationcontroller-controller end to end: real store, API server
 * and controller-manager processes driven by the real kubectl, following the seeds' ReplicaSet
 * and ReplicationController sequences (Kubernetes in Action ch. 4, the StatefulSet-vs-ReplicaSet
 * notes). There is no kubelet yet: the test plays its part (markAllRunningReady binds pods and
 * writes Running/Ready), and pods deleted while bound stay Terminating, so "active" below means
 * not being deleted.
 */
import { describe, expect, it } from "vitest";
import type { KubeObject } from "@kubemu/common";
import { ManagerHarness, eventually } from "./harness.js";
import { tableRow, useCluster } from "./hooks.js";

const h = new ManagerHarness({ etcd: "127.1.10", api: "127.1.11", scheduler: "127.1.12", manager: "127.1.13" }, { controllers: "replicaset-controller,replicationcontroller-controller" });

const WAIT = 40_000;

useCluster(h, { nodes: ["kubemu"] });

type Pod = Awaited<ReturnType<ManagerHarness["pods"]>>[number];
const active = async (ns: string, selector: string) => (await h.pods(ns, selector)).filter((p) => !p.metadata.deletionTimestamp);
const waitActive = (ns: string, selector: string, n: number, what: string) => eventually(() => active(ns, selector), (ps) => ps.length === n, what, WAIT);
const names = (ps: Pod[]) => ps.map((p) => p.metadata.name!).sort();
/** The row of `kubectl get <kind> <name>` once its DESIRED, CURRENT, READY are as wanted. */
const waitRow = (args: string[], name: string, want: [string, string, string]) =>
  eventually(
    () => h.kubectl.ok(["get", ...args]),
    (out) => JSON.stringify(tableRow(out, name)?.slice(1, 4)) === JSON.stringify(want),
    `${args.join(" ")} shows ${want.join(" ")}`,
    WAIT,
  );

const kubiaRs = `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: kubia
spec:
  replicas: 3
  selector:
    matchLabels:
      app: kubia
  template:
    metadata:
      labels:
        app: kubia
    spec:
      containers:
      - name: kubia
        image: luksa/kubia
`;

describe("ReplicaSet (kubectl)", () => {
  it("kubectl apply creates the pods, owned by the ReplicaSet; get rs and describe rs read like a real cluster", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], { input: kubiaRs });
    const pods = await waitActive("default", "app=kubia", 3, "3 kubia pods");
    const rs = JSON.parse(await h.kubectl.ok(["get", "rs", "kubia", "-o", "json"])) as KubeObject;
    for (const p of pods) {
      expect(p.metadata.name).toMatch(/^kubia-[a-z0-9]{5}$/);
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "kubia", uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }
    await waitRow(["rs"], "kubia", ["3", "3", "0"]);
    await h.markAllRunningReady("default", "app=kubia");
    await waitRow(["rs"], "kubia", ["3", "3", "3"]);
    const described = await h.kubectl.ok(["describe", "rs", "kubia"]);
    expect(described).toMatch(/Replicas:\s+3 current \/ 3 desired/);
    expect(described).toMatch(/Pods Status:\s+3 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed/);
    for (const n of names(pods)) expect(described).toMatch(new RegExp(`Normal\\s+SuccessfulCreate\\s+\\S+\\s+replicaset-controller\\s+Created pod: ${n}`));
    const status = JSON.parse(await h.kubectl.ok(["get", "rs", "kubia", "-o", "jsonpath={.status}"])) as Record<string, number>;
    expect(status).toMatchObject({ replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
  });

  it("kubectl scale rs up and down; scale-down takes the pods that are not ready first", async () => {
    const before = names(await active("default", "app=kubia"));
    await h.kubectl.ok(["scale", "rs", "kubia", "--replicas=5"]);
    const five = await waitActive("default", "app=kubia", 5, "5 kubia pods");
    const fresh = names(five).filter((n) => !before.includes(n));
    expect(fresh).toHaveLength(2);
    await waitRow(["rs"], "kubia", ["5", "5", "3"]);

    await h.kubectl.ok(["scale", "rs", "kubia", "--replicas=2"]);
    const two = await waitActive("default", "app=kubia", 2, "2 kubia pods");
    // The two new, not-ready pods go first, then one of the ready ones.
    for (const n of names(two)) expect(before).toContain(n);
    await waitRow(["rs"], "kubia", ["2", "2", "2"]);
    const described = await h.kubectl.ok(["describe", "rs", "kubia"]);
    for (const n of fresh) expect(described).toMatch(new RegExp(`Normal\\s+SuccessfulDelete\\s+\\S+\\s+replicaset-controller\\s+Deleted pod: ${n}`));
  });

  it("kubectl label pod app=foo --overwrite: the pod is released and the ReplicaSet makes a replacement", async () => {
    const [victim] = names(await active("default", "app=kubia"));
    await h.kubectl.ok(["label", "pod", victim!, "app=foo", "--overwrite"]);
    const now = await waitActive("default", "app=kubia", 2, "a replacement for the relabeled pod");
    expect(names(now)).not.toContain(victim);
    const released = await eventually(
      () => h.kubectl.ok(["get", "pod", victim!, "-o", "json"]).then((s) => JSON.parse(s) as KubeObject),
      (p) => !(p.metadata.ownerReferences ?? []).some((r) => r.controller),
      "the relabeled pod released",
      WAIT,
    );
    expect(released.metadata.labels?.app).toBe("foo");
    expect(released.metadata.deletionTimestamp).toBeUndefined();
    const wide = await h.kubectl.ok(["get", "pods", "-L", "app"]);
    expect(tableRow(wide, victim!)?.at(-1)).toBe("foo");
  });

  it("a deleted pod is replaced under a new name", async () => {
    await h.markAllRunningReady("default", "app=kubia");
    const [victim] = names(await active("default", "app=kubia"));
    await h.kubectl.ok(["delete", "pod", victim!, "--wait=false"]);
    const now = await waitActive("default", "app=kubia", 2, "a replacement for the deleted pod");
    expect(names(now)).not.toContain(victim);
  });

  it("scaling to 0 removes every pod at once", async () => {
    await h.kubectl.ok(["scale", "rs", "kubia", "--replicas=0"]);
    await waitActive("default", "app=kubia", 0, "no kubia pods");
    await waitRow(["rs"], "kubia", ["0", "0", "0"]);
  });

  it("a set-based selector (matchExpressions In / NotIn) adopts a matching orphan and ignores the rest", async () => {
    await h.kubectl.ok(["run", "stray", "--image=nginx", "--labels=app=frontend,environment=dev"]);
    await h.kubectl.ok(["run", "prod", "--image=nginx", "--labels=app=nginx,environment=production"]);
    await h.kubectl.ok(["apply", "-f", "-"], {
      input: `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: nginx
spec:
  replicas: 3
  selector:
    matchExpressions:
    - {key: app, operator: In, values: [nginx, frontend]}
    - {key: environment, operator: NotIn, values: [production]}
  template:
    metadata:
      labels:
        app: nginx
        environment: dev
    spec:
      containers:
      - name: nginx
        image: nginx
        ports:
        - containerPort: 80
`,
    });
    const selected = await waitActive("default", "app in (nginx,frontend),environment notin (production)", 3, "3 pods selected by the nginx ReplicaSet");
    expect(names(selected)).toContain("stray");
    const stray = JSON.parse(await h.kubectl.ok(["get", "pod", "stray", "-o", "json"])) as KubeObject;
    expect(stray.metadata.ownerReferences?.[0]).toMatchObject({ kind: "ReplicaSet", name: "nginx", controller: true });
    const prod = JSON.parse(await h.kubectl.ok(["get", "pod", "prod", "-o", "json"])) as KubeObject;
    expect(prod.metadata.ownerReferences).toBeUndefined();
    // Two created, one adopted; the adopted pod's app=frontend is not the template's app=nginx, so it is not fully labeled.
    const status = await eventually(
      () => h.kubectl.ok(["get", "rs", "nginx", "-o", "jsonpath={.status}"]).then((s) => JSON.parse(s) as Record<string, number>),
      (s) => s.replicas === 3,
      "nginx status",
      WAIT,
    );
    expect(status.fullyLabeledReplicas).toBe(2);
  });

  it("a create the API refuses: FailedCreate event and ReplicaFailure condition, retried with backoff, cleared once creates work", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], {
      input: kubiaRs.replace("name: kubia\nspec:\n  replicas: 3", "name: needy\nspec:\n  replicas: 2").replaceAll("app: kubia", "app: needy").replace("    spec:\n", "    spec:\n      priorityClassName: high\n"),
    });
    type Rs = KubeObject & { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } };
    const failing = await eventually(
      () => h.kubectl.ok(["get", "rs", "needy", "-o", "json"]).then((s) => JSON.parse(s) as Rs),
      (rs) => !!rs.status?.conditions?.some((c) => c.type === "ReplicaFailure"),
      "ReplicaFailure on needy",
      WAIT,
    );
    const cond = failing.status!.conditions!.find((c) => c.type === "ReplicaFailure")!;
    expect(cond).toMatchObject({ status: "True", reason: "FailedCreate" });
    expect(cond.message).toContain("no PriorityClass with name high was found");
    // Backoff, not a hot loop: per-key retries double from 5 ms, and each retry tries one create
    // (slow start). Counted on the manager's queue (events would hide a loop behind their spam filter).
    const queueAdds = async () => {
      const text = await (await fetch(`${h.managers[0]!.url}/metrics`)).text();
      return Number(/^workqueue_adds_total\{name="replicaset"\} (\d+)/m.exec(text)?.[1] ?? NaN);
    };
    const early = await queueAdds();
    await new Promise((r) => setTimeout(r, 3000));
    const later = await queueAdds();
    expect(later - early).toBeLessThan(30);
    const described = await h.kubectl.ok(["describe", "rs", "needy"]);
    expect(described).toMatch(/Warning\s+FailedCreate\s+.*replicaset-controller\s+Error creating: .*no PriorityClass with name high was found/);

    await h.kubectl.ok(["create", "priorityclass", "high", "--value=1000"]);
    await waitActive("default", "app=needy", 2, "needy's pods once the class exists");
    await eventually(
      () => h.kubectl.ok(["get", "rs", "needy", "-o", "json"]).then((s) => JSON.parse(s) as Rs),
      (rs) => !rs.status?.conditions?.some((c) => c.type === "ReplicaFailure"),
      "ReplicaFailure cleared",
      WAIT,
    );
  });

  it("minReadySeconds: ready pods count as available only after it, without any further pod change", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], {
      input: kubiaRs.replace("name: kubia\nspec:\n  replicas: 3", "name: slow\nspec:\n  minReadySeconds: 6\n  replicas: 1").replaceAll("app: kubia", "app: slow"),
    });
    await waitActive("default", "app=slow", 1, "the slow pod");
    await h.markAllRunningReady("default", "app=slow");
    const jsonStatus = () => h.kubectl.ok(["get", "rs", "slow", "-o", "jsonpath={.status}"]).then((s) => JSON.parse(s) as Record<string, number>);
    const ready = await eventually(jsonStatus, (s) => s.readyReplicas === 1, "slow ready", WAIT);
    expect(ready.availableReplicas).toBeUndefined();
    const available = await eventually(jsonStatus, (s) => s.availableReplicas === 1, "slow available after minReadySeconds", WAIT);
    expect(available.readyReplicas).toBe(1);
  });
});

describe("ReplicationController (kubectl)", () => {
  const rc = `apiVersion: v1
kind: ReplicationController
metadata:
  name: kubia-v1
spec:
  replicas: 3
  template:
    metadata:
      name: kubia
      labels:
        app: kubia
    spec:
      containers:
        - image: luksa/kubia:v1
          name: nodejs
`;

  it("creates pods owned by the RC (selector defaulted from the template); get rc, scale rc, delete po --all", async () => {
    await h.kubectl.ok(["create", "namespace", "rc-demo"]);
    await h.kubectl.ok(["apply", "-n", "rc-demo", "-f", "-"], { input: rc });
    const pods = await waitActive("rc-demo", "app=kubia", 3, "3 RC pods");
    for (const p of pods) expect(p.metadata.ownerReferences).toEqual([expect.objectContaining({ apiVersion: "v1", kind: "ReplicationController", name: "kubia-v1", controller: true, blockOwnerDeletion: true })]);
    await waitRow(["rc", "-n", "rc-demo"], "kubia-v1", ["3", "3", "0"]);
    await h.markAllRunningReady("rc-demo", "app=kubia");
    await waitRow(["rc", "-n", "rc-demo"], "kubia-v1", ["3", "3", "3"]);
    const described = await h.kubectl.ok(["describe", "rc", "-n", "rc-demo", "kubia-v1"]);
    expect(described).toMatch(/Normal\s+SuccessfulCreate\s+\S+\s+replication-controller\s+Created pod: kubia-v1-[a-z0-9]{5}/);

    await h.kubectl.ok(["scale", "rc", "-n", "rc-demo", "kubia-v1", "--replicas=1"]);
    const [survivor] = await waitActive("rc-demo", "app=kubia", 1, "1 RC pod");
    await waitRow(["rc", "-n", "rc-demo"], "kubia-v1", ["1", "1", "1"]);

    // "k delete po --all": with the RC still there, the pods come back.
    await h.kubectl.ok(["delete", "po", "--all", "-n", "rc-demo", "--wait=false"]);
    const [back] = await waitActive("rc-demo", "app=kubia", 1, "the RC's pod recreated");
    expect(back!.metadata.name).not.toBe(survivor!.metadata.name);

    const none = await h.kubectl.run(["get", "rc", "-n", "kube-system"]);
    expect(none.code).toBe(0);
    expect(none.stderr.trim()).toBe("No resources found in kube-system namespace.");
  });
});
