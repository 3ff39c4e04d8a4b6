/**
 * LimitRange and ResourceQuota admission with the real kubectl against two kubemu-apiservers on
 * the Raft store (Kubernetes in Action ch. 14's sequences). There is no controller-manager here:
 * where the resourcequota controller would fill a quota's status, the test writes it with
 * `kubectl patch --subresource=status` (the controller's own e2e is in packages/controller-manager).
 * Subnets 127.1.86.x (etcd) and 127.1.87.x (apiservers).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { E2eCluster } from "./cluster.js";
import { Kubectl } from "./kubectl-run.js";

const cluster = new E2eCluster("127.1.86", "127.1.87", 2);
let k: Kubectl;
let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kubemu-quota-"));
  await cluster.start();
  k = new Kubectl(await cluster.kubeconfig(0), join(dir, "cache"));
}, 60_000);

afterAll(async () => {
  await cluster.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

/** KIA's limits.yaml. */
const LIMITS = `apiVersion: v1
kind: LimitRange
metadata:
  name: example
spec:
  limits:
  - type: Pod
    min: {cpu: 50m, memory: 5Mi}
    max: {cpu: 1, memory: 1Gi}
  - type: Container
    defaultRequest: {cpu: 100m, memory: 10Mi}
    default: {cpu: 200m, memory: 100Mi}
    min: {cpu: 50m, memory: 5Mi}
    max: {cpu: 1, memory: 1Gi}
    maxLimitRequestRatio: {cpu: 4, memory: 10}
  - type: PersistentVolumeClaim
    min: {storage: 1Gi}
    max: {storage: 10Gi}
`;

const podYaml = (name: string, resources = "") => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
  - image: luksa/kubia
    name: main
${resources}`;

/** Plays the resourcequota controller: status.hard = spec.hard, used as given (zero elsewhere). */
async function fillStatus(name: string, used: Record<string, string>, ns = "default"): Promise<void> {
  const hard = JSON.parse(await k.ok(["get", "quota", name, "-n", ns, "-o", "jsonpath={.spec.hard}"])) as Record<string, string>;
  const zero = Object.fromEntries(Object.keys(hard).map((r) => [r, "0"]));
  await k.ok(["patch", "quota", name, "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { hard, used: { ...zero, ...used } } })]);
}

describe("LimitRange (KIA 14.4)", () => {
  it("kubectl create -f limits.yaml, and a pod without requests gets the defaults and the limit-ranger annotation", async () => {
    expect((await k.ok(["create", "-f", "-"], { input: LIMITS })).trim()).toBe("limitrange/example created");
    expect(await k.ok(["describe", "limitrange", "example"])).toMatch(/^Container\s+cpu\s+50m\s+1\s+100m\s+200m\s+4$/m);
    expect((await k.ok(["create", "-f", "-"], { input: podYaml("kubia-manual") })).trim()).toBe("pod/kubia-manual created");
    const pod = JSON.parse(await k.ok(["get", "pod", "kubia-manual", "-o", "json"]));
    expect(pod.spec.containers[0].resources).toEqual({ limits: { cpu: "200m", memory: "100Mi" }, requests: { cpu: "100m", memory: "10Mi" } });
    expect(pod.metadata.annotations["kubernetes.io/limit-ranger"]).toBe("LimitRanger plugin set: cpu, memory request for container main; cpu, memory limit for container main");
    expect(pod.status.qosClass).toBe("Burstable");
  });

  it("a pod over the maximum is refused with every violation; a request above the default limit fails validation", async () => {
    const tooBig = await k.run(["create", "-f", "-"], { input: podYaml("too-big", "    resources:\n      requests: {cpu: 2}\n      limits: {cpu: 2}\n") });
    expect(tooBig.code).not.toBe(0);
    expect(tooBig.stderr.trim()).toBe(
      'Error from server (Forbidden): error when creating "STDIN": pods "too-big" is forbidden: [maximum cpu usage per Pod is 1, but limit is 2, maximum cpu usage per Container is 1, but limit is 2]',
    );
    const book = await k.run(["create", "-f", "-"], { input: podYaml("too-big", "    resources:\n      requests: {cpu: 2}\n") });
    expect(book.stderr.trim()).toBe('The Pod "too-big" is invalid: spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 200m');
    const claim = await k.run(["create", "-f", "-"], {
      input: "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: huge}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 20Gi}}\n",
    });
    expect(claim.stderr.trim()).toBe('Error from server (Forbidden): error when creating "STDIN": persistentvolumeclaims "huge" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi');
  });
});

describe("ResourceQuota (KIA 14.5)", () => {
  it("kubectl create quota; describe quota shows Used/Hard from status; a pod over the quota is refused in upstream's words", async () => {
    expect((await k.ok(["create", "quota", "cpu-and-mem", "--hard=requests.cpu=400m,requests.memory=200Mi,limits.cpu=600m,limits.memory=500Mi"])).trim()).toBe("resourcequota/cpu-and-mem created");
    // Until the controller has counted, the quota limits nothing and shows no rows.
    expect(await k.ok(["describe", "quota", "cpu-and-mem"])).toMatch(/^Name:\s+cpu-and-mem\nNamespace:\s+default\nResource\s+Used\s+Hard\n-+\s+-+\s+-+\n$/);
    await fillStatus("cpu-and-mem", { "requests.cpu": "100m", "requests.memory": "10Mi", "limits.cpu": "200m", "limits.memory": "100Mi" });
    // Two more pods (defaults from the LimitRange) are charged as they are admitted.
    await k.ok(["create", "-f", "-"], { input: podYaml("second") });
    await k.ok(["create", "-f", "-"], { input: podYaml("third") });
    const describe = await k.ok(["describe", "quota", "cpu-and-mem"]);
    expect(describe.split("\n").slice(2).map((l) => l.trim().split(/\s+/).join(" "))).toEqual([
      "Resource Used Hard",
      "-------- ---- ----",
      "limits.cpu 600m 600m",
      "limits.memory 300Mi 500Mi",
      "requests.cpu 300m 400m",
      "requests.memory 30Mi 200Mi",
      "",
    ]);
    expect(await k.ok(["get", "quota"])).toMatch(/^cpu-and-mem\s+\S+\s+requests\.cpu: 300m\/400m, requests\.memory: 30Mi\/200Mi\s+limits\.cpu: 600m\/600m, limits\.memory: 300Mi\/500Mi$/m);
    const over = await k.run(["create", "-f", "-"], { input: podYaml("fourth") });
    expect(over.stderr.trim()).toBe('Error from server (Forbidden): error when creating "STDIN": pods "fourth" is forbidden: exceeded quota: cpu-and-mem, requested: limits.cpu=200m, used: limits.cpu=600m, limited: limits.cpu=600m');
    // The refused pod charged nothing.
    expect(await k.ok(["get", "quota", "cpu-and-mem", "-o", "jsonpath={.status.used.requests\\.cpu}"])).toBe("300m");
  });

  it("a quota on limits refuses pods that do not state them (no LimitRange in the namespace)", async () => {
    await k.ok(["create", "namespace", "quota-only"]);
    await k.ok(["create", "quota", "compute", "-n", "quota-only", "--hard=limits.cpu=1,limits.memory=1Gi,pods=5"]);
    await fillStatus("compute", {}, "quota-only");
    const r = await k.run(["run", "nolimits", "--image=nginx", "-n", "quota-only"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe('Error from server (Forbidden): pods "nolimits" is forbidden: failed quota: compute: must specify limits.cpu for: nolimits; limits.memory for: nolimits');
    await k.ok(["run", "withlimits", "--image=nginx", "-n", "quota-only", "--overrides", JSON.stringify({ spec: { containers: [{ name: "withlimits", image: "nginx", resources: { limits: { cpu: "500m", memory: "128Mi" } } }] } })]);
    expect(await k.ok(["get", "quota", "compute", "-n", "quota-only", "-o", "jsonpath={.status.used}"])).toBe('{"limits.cpu":"500m","limits.memory":"128Mi","pods":"1"}');
  });

  it("object counts: count/deployments.apps and configmaps", async () => {
    await k.ok(["create", "namespace", "counts"]);
    await k.ok(["create", "quota", "objects", "-n", "counts", "--hard=count/deployments.apps=1,configmaps=1"]);
    await fillStatus("objects", {}, "counts");
    await k.ok(["create", "deployment", "web", "--image=nginx", "-n", "counts"]);
    const second = await k.run(["create", "deployment", "web2", "--image=nginx", "-n", "counts"]);
    expect(second.stderr.trim()).toBe('error: failed to create deployment: deployments.apps "web2" is forbidden: exceeded quota: objects, requested: count/deployments.apps=1, used: count/deployments.apps=1, limited: count/deployments.apps=1');
    await k.ok(["create", "configmap", "a", "-n", "counts", "--from-literal=k=v"]);
    const cm = await k.run(["create", "configmap", "b", "-n", "counts", "--from-literal=k=v"]);
    expect(cm.stderr.trim()).toBe('error: failed to create configmap: configmaps "b" is forbidden: exceeded quota: objects, requested: configmaps=1, used: configmaps=1, limited: configmaps=1');
  });

  it("creates racing through both API servers never exceed the quota (CAS on the quota's status)", async () => {
    await k.ok(["create", "namespace", "race"]);
    await k.ok(["create", "quota", "three", "-n", "race", "--hard=pods=3"]);
    await fillStatus("three", {}, "race");
    const post = (i: number) =>
      fetch(`${cluster.apiservers[i % 2]!.url}/api/v1/namespaces/race/pods`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: `p${i}` }, spec: { containers: [{ name: "c", image: "nginx" }] } }),
      }).then(async (r) => ({ code: r.status, body: (await r.json()) as { message?: string } }));
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => post(i)));
    expect(results.filter((r) => r.code === 201)).toHaveLength(3);
    const refused = results.filter((r) => r.code !== 201);
    expect(refused).toHaveLength(9);
    for (const r of refused) expect(r.body.message).toMatch(/^pods "p\d+" is forbidden: exceeded quota: three, requested: pods=1, used: pods=3, limited: pods=3$/);
    expect(await k.ok(["get", "quota", "three", "-n", "race", "-o", "jsonpath={.status.used.pods}"])).toBe("3");
    expect((await k.ok(["get", "pods", "-n", "race", "--no-headers"])).trim().split("\n")).toHaveLength(3);
  });
});
