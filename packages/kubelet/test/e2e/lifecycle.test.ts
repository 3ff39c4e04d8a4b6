/**
 * Node and container lifecycle with the real kubectl: a SIGKILLed kubelet takes its containers
 * with it and, started again, brings its pods back (restartCount + 1, lastState Unknown 255);
 * init containers run first (Init:0/1); a failing liveness probe restarts the container with
 * upstream's events; a container over its memory limit is OOMKilled.
 * Subnets: etcd 127.1.63.x, API 127.1.64.x, scheduler 127.1.65.x, node 127.1.70.11, pods 127.246.11.0/24.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { eventually, kubeletHarnessForFile, pidsMentioning } from "./harness.js";

const h = kubeletHarnessForFile({ etcd: "127.1.63", api: "127.1.64", scheduler: "127.1.65" }, [{ name: "kubemu-m02", n: 11 }]);

const status = async (pod: string) => {
  const r = await h.kubectl.run(["get", "pod", pod, "--no-headers"]);
  return r.code === 0 ? (r.stdout.trim().split(/\s+/)[2] ?? "") : `(${r.stderr.trim()})`;
};
const json = async (args: string[]) => JSON.parse(await h.kubectl.ok([...args, "-o", "json"])) as Record<string, any>;
const apply = (obj: unknown) => h.kubectl.ok(["apply", "-f", "-"], { input: JSON.stringify(obj) });

describe("kubelet lifecycle e2e", () => {
  it("a killed kubelet kills its containers; started again it runs its pods again", async () => {
    await h.kubectl.ok(["run", "web", "--image=nginx"]);
    await eventually(() => status("web"), (s) => s === "Running", "web Running");
    const before = await json(["get", "pod", "web"]);
    const uid = before.metadata.uid as string;
    expect(pidsMentioning(uid).length).toBeGreaterThan(0);
    await h.killKubelet("kubemu-m02");
    await eventually(async () => pidsMentioning(uid), (p) => p.length === 0, "containers gone with the kubelet", 10_000);
    h.startKubelet("kubemu-m02");
    const after = await eventually(() => json(["get", "pod", "web"]), (p) => p.status.containerStatuses?.[0]?.restartCount === 1 && !!p.status.containerStatuses[0].state.running, "web restarted", 40_000);
    expect(after.status.containerStatuses[0].lastState.terminated).toMatchObject({ exitCode: 255, reason: "Unknown" });
    expect(after.status.podIP).toBe(before.status.podIP);
    const page = await eventually(() => fetch(`http://${after.status.podIP}/`).then((r) => r.text()).catch(() => ""), (t) => t.includes("Welcome to nginx!"), "nginx serving again");
    expect(page).toContain("nginx");
  }, 90_000);

  it("init containers run in order before the app: Init:0/1, then Running", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "with-init" },
      spec: {
        initContainers: [{ name: "wait", image: "busybox", command: ["sh", "-c", "sleep 3; echo ready > /work/flag"], volumeMounts: [{ name: "work", mountPath: "/work" }] }],
        containers: [{ name: "app", image: "busybox", command: ["sh", "-c", "cat /work/flag; sleep 3600"], volumeMounts: [{ name: "work", mountPath: "/work" }] }],
        volumes: [{ name: "work", emptyDir: {} }],
        terminationGracePeriodSeconds: 1,
      },
    });
    await eventually(() => status("with-init"), (s) => s === "Init:0/1", "Init:0/1");
    await eventually(() => status("with-init"), (s) => s === "Running", "Running after init", 30_000);
    expect(h.log("kubemu-m02", "default", "with-init", "app")).toBe("ready");
  }, 60_000);

  it("a failing liveness probe restarts the container, with upstream's events", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "kubia-liveness" },
      spec: {
        terminationGracePeriodSeconds: 2,
        containers: [{ name: "kubia", image: "luksa/kubia-unhealthy", livenessProbe: { httpGet: { path: "/", port: 8080 }, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 2 } }],
      },
    });
    await eventually(() => json(["get", "pod", "kubia-liveness"]), (p) => (p.status.containerStatuses?.[0]?.restartCount ?? 0) >= 1, "restarted by liveness", 40_000);
    const events = await h.kubectl.ok(["get", "events", "--field-selector", "involvedObject.name=kubia-liveness"]);
    expect(events).toContain("Liveness probe failed: HTTP probe failed with statuscode: 500");
    expect(events).toContain("Container kubia failed liveness probe, will be restarted");
  }, 60_000);

  it("sidecars, postStart/preStop hooks, a downwardAPI volume and a hostPath under the node's root", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "hooks", labels: { app: "hooks" } },
      spec: {
        terminationGracePeriodSeconds: 5,
        initContainers: [
          {
            name: "sidecar",
            image: "busybox",
            restartPolicy: "Always",
            command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
            // Sidecars stop after the app containers: main's preStop has run by then.
            lifecycle: { preStop: { exec: { command: ["sh", "-c", "if [ -e /data/stopped ]; then echo after > /data/order; else echo before > /data/order; fi"] } } },
            volumeMounts: [{ name: "data", mountPath: "/data" }],
          },
        ],
        containers: [
          {
            name: "main",
            image: "busybox",
            command: ["sh", "-c", "trap 'exit 0' TERM; cat /etc/podinfo/labels; echo; while true; do sleep 1; done"],
            lifecycle: { postStart: { exec: { command: ["sh", "-c", "echo poststart > /data/started"] } }, preStop: { exec: { command: ["sh", "-c", "echo prestop > /data/stopped"] } } },
            volumeMounts: [
              { name: "data", mountPath: "/data" },
              { name: "podinfo", mountPath: "/etc/podinfo" },
            ],
          },
        ],
        volumes: [
          { name: "data", hostPath: { path: "/data/hooks", type: "DirectoryOrCreate" } },
          { name: "podinfo", downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] } },
        ],
      },
    });
    await eventually(() => h.kubectl.ok(["get", "pod", "hooks", "--no-headers"]), (o) => /\s2\/2\s+Running\s/.test(o), "2/2 Running", 30_000);
    expect(h.log("kubemu-m02", "default", "hooks", "main")).toBe('app="hooks"');
    const dataDir = `${h.nodeDir("kubemu-m02")}/root/data/hooks`;
    await eventually(async () => existsSync(`${dataDir}/started`), (x) => x, "postStart wrote its file");
    expect(readFileSync(`${dataDir}/started`, "utf8")).toBe("poststart\n");
    const uid = (await json(["get", "pod", "hooks"])).metadata.uid as string;
    await h.kubectl.ok(["delete", "pod", "hooks", "--wait=false"]);
    await eventually(() => status("hooks"), (s) => s.includes("NotFound"), "hooks gone", 30_000);
    expect(readFileSync(`${dataDir}/stopped`, "utf8")).toBe("prestop\n");
    expect(readFileSync(`${dataDir}/order`, "utf8")).toBe("after\n");
    expect(pidsMentioning(uid)).toEqual([]);
  }, 60_000);

  it("termination messages: terminationMessagePath and FallbackToLogsOnError", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "last-words" },
      spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox", command: ["sh", "-c", "echo 'bye bye' > /dev/termination-log; exit 2"] }] },
    });
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "from-logs" },
      spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox", terminationMessagePolicy: "FallbackToLogsOnError", command: ["sh", "-c", "echo 'it went wrong'; exit 1"] }] },
    });
    const a = await eventually(() => json(["get", "pod", "last-words"]), (p) => p.status.phase === "Failed", "last-words Failed");
    expect(a.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 2, reason: "Error", message: "bye bye\n" });
    const b = await eventually(() => json(["get", "pod", "from-logs"]), (p) => p.status.phase === "Failed", "from-logs Failed");
    expect(b.status.containerStatuses[0].state.terminated.message).toBe("it went wrong\n");
  }, 60_000);

  it("a container over its memory limit is OOMKilled (exit 137)", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "hog" },
      spec: {
        restartPolicy: "Never",
        containers: [{ name: "hog", image: "node", command: ["node", "-e", "const a = []; setInterval(() => a.push(Buffer.alloc(16 * 1024 * 1024, 1)), 50)"], resources: { limits: { memory: "96Mi" } } }],
      },
    });
    await eventually(() => status("hog"), (s) => s === "OOMKilled", "OOMKilled", 30_000);
    const p = await json(["get", "pod", "hog"]);
    expect(p.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 137, reason: "OOMKilled" });
    expect(p.status.phase).toBe("Failed");
    expect(p.status.qosClass).toBe("Burstable");
  }, 60_000);
});
