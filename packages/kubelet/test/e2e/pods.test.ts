/**
 * The kubelet with the real kubectl: a node registers and is Ready like minikube's, pods run as
 * sandboxed processes and read on `kubectl get pods` as on a real node (Running, Completed, Error,
 * CrashLoopBackOff, ErrImagePull/ImagePullBackOff, Terminating), logs land on disk in CRI format.
 * Subnets: etcd 127.1.60.x, API 127.1.61.x, scheduler 127.1.62.x, node 127.1.70.1, pods 127.246.1.0/24.
 */
import { describe, expect, it } from "vitest";
import { Resources, type KubeObject } from "@kubemu/common";
import { eventually, kubeletHarnessForFile, pidsMentioning } from "./harness.js";

const h = kubeletHarnessForFile({ etcd: "127.1.60", api: "127.1.61", scheduler: "127.1.62" }, [{ name: "kubemu", n: 1, labels: "node-role.kubernetes.io/control-plane=" }]);

const status = async (pod: string) => {
  const r = await h.kubectl.run(["get", "pod", pod, "--no-headers"]);
  return r.code === 0 ? (r.stdout.trim().split(/\s+/)[2] ?? "") : `(${r.stderr.trim()})`;
};
const json = async (args: string[]) => JSON.parse(await h.kubectl.ok([...args, "-o", "json"])) as Record<string, any>;

describe("kubelet e2e", () => {
  it("registers the node, Ready, as minikube's", async () => {
    const wide = await eventually(() => h.kubectl.ok(["get", "nodes", "-o", "wide"]), (o) => /kubemu\s+Ready\s+control-plane/.test(o), "node Ready");
    expect(wide).toMatch(/kubemu\s+Ready\s+control-plane\s+\S+\s+v1\.32\.\d+\s+127\.1\.70\.1\s+<none>\s+.+\s+kubemu:\/\/\d/);
    const d = await h.kubectl.ok(["describe", "node", "kubemu"]);
    expect(d).toContain("kubelet is posting ready status");
    expect(d).toMatch(/PodCIDR:\s+127\.246\.1\.0\/24/);
    expect(d).toMatch(/Capacity:\n\s+cpu:\s+4\n/);
    expect(d).toContain("Starting kubelet.");
    const lease = await json(["get", "lease", "-n", "kube-node-lease", "kubemu"]);
    expect(lease.spec.holderIdentity).toBe("kubemu");
    const before = lease.spec.renewTime;
    await eventually(() => json(["get", "lease", "-n", "kube-node-lease", "kubemu"]), (l) => l.spec.renewTime !== before, "lease renewed", 10_000);
  }, 60_000);

  it("kubectl run web --image=nginx: Running, curl to its pod IP serves the nginx page, access log on disk", async () => {
    await h.kubectl.ok(["run", "web", "--image=nginx"]);
    await eventually(() => status("web"), (s) => s === "Running", "web Running");
    const pod = await json(["get", "pod", "web"]);
    expect(pod.status.podIP).toMatch(/^127\.246\.1\.\d+$/);
    expect(pod.status.hostIP).toBe("127.1.70.1");
    expect(pod.status.containerStatuses[0].image).toBe("docker.io/library/nginx:latest");
    const page = await eventually(() => fetch(`http://${pod.status.podIP}/`).then((r) => r.text()).catch(() => ""), (t) => t.includes("Welcome to nginx!"), "nginx page");
    expect(page).toContain("<title>Welcome to nginx!</title>");
    await eventually(async () => h.log("kubemu", "default", "web", "web"), (l) => /"GET \/ HTTP\/1\.1" 200 615/.test(l), "access log line");
    const events = await h.kubectl.ok(["get", "events", "--field-selector", "involvedObject.name=web"]);
    expect(events).toContain('Pulling image "nginx"');
    expect(events).toMatch(/Successfully pulled image "nginx" in [\d.]+m?s \([\d.]+m?s including waiting\)\. Image size: \d+ bytes\./);
    expect(events).toContain("Created container: web");
    expect(events).toContain("Started container web");
  }, 60_000);

  it("kubectl set image on the pod replaces its container (restartCount 1, the new image)", async () => {
    await h.kubectl.ok(["set", "image", "pod/web", "web=nginx:alpine"]);
    const p = await eventually(() => json(["get", "pod", "web"]), (x) => x.status.containerStatuses[0].restartCount === 1 && !!x.status.containerStatuses[0].state.running, "web replaced", 30_000);
    expect(p.status.containerStatuses[0].image).toBe("docker.io/library/nginx:alpine");
    const events = await h.kubectl.ok(["get", "events", "--field-selector", "involvedObject.name=web"]);
    expect(events).toContain("Container web definition changed, will be restarted");
  }, 60_000);

  it("a crashing command goes to CrashLoopBackOff with restartCount growing", async () => {
    await h.kubectl.ok(["run", "crash", "--image=busybox", "--", "sh", "-c", "echo crashing; exit 3"]);
    await eventually(() => status("crash"), (s) => s === "CrashLoopBackOff", "crash CrashLoopBackOff");
    const p = await eventually(() => json(["get", "pod", "crash"]), (x) => x.status.containerStatuses[0].restartCount >= 3, "restarts >= 3");
    expect(p.status.containerStatuses[0].lastState.terminated).toMatchObject({ exitCode: 3, reason: "Error" });
    expect(h.log("kubemu", "default", "crash", "crash", 1)).toBe("crashing");
    const events = await h.kubectl.ok(["get", "events", "--field-selector", "involvedObject.name=crash"]);
    expect(events).toContain("Back-off restarting failed container crash in pod crash_default(");
  }, 60_000);

  it("restartPolicy Never exiting 1 is Error; exiting 0 is Completed", async () => {
    await h.kubectl.ok(["run", "fails", "--image=busybox", "--restart=Never", "--", "sh", "-c", "exit 1"]);
    await h.kubectl.ok(["run", "done", "--image=busybox", "--restart=Never", "--", "sh", "-c", "hostname; cat /etc/resolv.conf"]);
    await eventually(() => status("fails"), (s) => s === "Error", "fails Error");
    await eventually(() => status("done"), (s) => s === "Completed", "done Completed");
    expect((await json(["get", "pod", "fails"])).status.phase).toBe("Failed");
    const out = h.log("kubemu", "default", "done", "done");
    expect(out.split("\n")[0]).toBe("done");
    expect(out).toContain("search default.svc.cluster.local svc.cluster.local cluster.local");
    expect(out).toContain("options ndots:5");
  }, 60_000);

  it("an unknown image: ErrImagePull, then ImagePullBackOff, with upstream's messages", async () => {
    await h.kubectl.ok(["run", "nope", "--image=doesnotexist/nope:1.0"]);
    const seen = new Set<string>();
    await eventually(
      async () => {
        seen.add(await status("nope"));
        return seen;
      },
      (s) => s.has("ImagePullBackOff"),
      "ImagePullBackOff",
    );
    const events = await h.kubectl.ok(["get", "events", "--field-selector", "involvedObject.name=nope"]);
    expect(events).toContain('Failed to pull image "doesnotexist/nope:1.0": failed to pull and unpack image "docker.io/doesnotexist/nope:1.0"');
    expect(events).toContain("Error: ErrImagePull");
    expect(events).toContain('Back-off pulling image "doesnotexist/nope:1.0"');
  }, 60_000);

  it("kubectl delete pod: Terminating for the grace period, then gone, its process dead", async () => {
    // sh as PID 1 ignores SIGTERM, so the kubelet waits out the grace period and SIGKILLs it.
    await h.kubectl.ok(["run", "sleeper", "--image=busybox", "--overrides", JSON.stringify({ spec: { terminationGracePeriodSeconds: 3 } }), "--", "sh", "-c", "sleep 3600"]);
    await eventually(() => status("sleeper"), (s) => s === "Running", "sleeper Running");
    const uid = (await json(["get", "pod", "sleeper"])).metadata.uid as string;
    expect(pidsMentioning(uid).length).toBeGreaterThan(0);
    await h.kubectl.ok(["delete", "pod", "sleeper", "--wait=false"]);
    expect(await status("sleeper")).toBe("Terminating");
    await eventually(() => status("sleeper"), (s) => s.includes("NotFound"), "sleeper gone", 30_000);
    expect(pidsMentioning(uid)).toEqual([]);
  }, 60_000);

  it("pods deleted while they start leave no process behind (100 create/delete cycles)", async () => {
    const uids: string[] = [];
    for (let batch = 0; batch < 5; batch++) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const name = `churn-${batch}-${i}`;
          const created = await h.client.create<KubeObject>(Resources.pods, { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default" }, spec: { nodeName: "kubemu", terminationGracePeriodSeconds: 1, containers: [{ name: "pause", image: "registry.k8s.io/pause:3.10" }] } });
          uids.push(created.metadata.uid!);
          // Some go at once, some after their container may have started.
          await new Promise((r) => setTimeout(r, (i % 4) * 150));
          await h.client.delete(Resources.pods, "default", name);
        }),
      );
    }
    await eventually(() => h.client.list(Resources.pods, { namespace: "default" }).then((l) => l.items.filter((p) => p.metadata.name!.startsWith("churn-")).length), (n) => n === 0, "every churn pod gone", 60_000);
    await eventually(async () => uids.filter((u) => pidsMentioning(u).length > 0), (left) => left.length === 0, "no churn process left", 10_000);
  }, 120_000);

  it("a missing configMap: ContainerCreating with FailedMount, or CreateContainerConfigError for env; both start once it exists", async () => {
    const vol = { apiVersion: "v1", kind: "Pod", metadata: { name: "needs-cm" }, spec: { containers: [{ name: "c", image: "busybox", command: ["sh", "-c", "cat /cfg/k; echo; sleep 3600"], volumeMounts: [{ name: "cfg", mountPath: "/cfg" }] }], volumes: [{ name: "cfg", configMap: { name: "late" } }] } };
    const env = { apiVersion: "v1", kind: "Pod", metadata: { name: "needs-env" }, spec: { containers: [{ name: "c", image: "busybox", command: ["sh", "-c", "echo $K; sleep 3600"], env: [{ name: "K", valueFrom: { configMapKeyRef: { name: "late", key: "k" } } }] }] } };
    await h.kubectl.ok(["apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: [vol, env] }) });
    await eventually(() => h.kubectl.ok(["get", "events", "--field-selector", "involvedObject.name=needs-cm"]), (e) => e.includes('MountVolume.SetUp failed for volume "cfg" : configmap "late" not found'), "FailedMount");
    expect(await status("needs-cm")).toBe("ContainerCreating");
    await eventually(() => status("needs-env"), (s) => s === "CreateContainerConfigError", "CreateContainerConfigError");
    await h.kubectl.ok(["create", "configmap", "late", "--from-literal=k=arrived"]);
    await eventually(() => Promise.all([status("needs-cm"), status("needs-env")]), (s) => s.every((x) => x === "Running"), "both Running", 30_000);
    await eventually(async () => [h.log("kubemu", "default", "needs-cm", "c"), h.log("kubemu", "default", "needs-env", "c")], (l) => l.every((x) => x === "arrived"), "both saw the value");
  }, 60_000);

  it("a configMap volume's files are visible in the container and follow updates", async () => {
    await h.kubectl.ok(["create", "configmap", "sports", "--from-literal=sport=football"]);
    const manifest = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "reader" },
      spec: {
        containers: [{ name: "reader", image: "busybox", command: ["sh", "-c", "while true; do cat /etc/config/sport; echo; sleep 1; done"], volumeMounts: [{ name: "config", mountPath: "/etc/config" }] }],
        volumes: [{ name: "config", configMap: { name: "sports" } }],
      },
    };
    await h.kubectl.ok(["apply", "-f", "-"], { input: JSON.stringify(manifest) });
    await eventually(async () => h.log("kubemu", "default", "reader", "reader"), (l) => l.includes("football"), "football in the log");
    await h.kubectl.ok(["create", "configmap", "sports", "--from-literal=sport=basketball", "--dry-run=client", "-o", "yaml"]).then((y) => h.kubectl.ok(["apply", "-f", "-"], { input: y }));
    await eventually(async () => h.log("kubemu", "default", "reader", "reader"), (l) => l.includes("basketball"), "basketball after the update", 30_000);
  }, 60_000);
});
