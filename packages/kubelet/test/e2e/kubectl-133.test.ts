/**
 * The kubelet seeds' core pod sequences with kubectl 1.33 (issue 12: "with kubectl 1.32 and
 * 1.33"; the other e2e files use the dispatcher's 1.32): run and create, get -o wide, wait,
 * logs, exec (WebSocket, 1.33's default) with its exit code, describe's events, delete with a
 * grace period (Terminating, then gone with no process left).
 * Subnets: etcd 127.2.10.x, API 127.2.11.x, scheduler 127.2.12.x, node 127.2.13.1, pods 127.242.1.0/24.
 */
import { describe, expect, it } from "vitest";
import { Kubectl, pinnedKubectl } from "../../../apiserver/test/e2e/kubectl-run.js";
import { eventually, kubeletHarnessForFile, pidsMentioning } from "./harness.js";

const h = kubeletHarnessForFile({ etcd: "127.2.10", api: "127.2.11", scheduler: "127.2.12" }, [{ name: "kubemu", n: 1, labels: "node-role.kubernetes.io/control-plane=" }], { nodes: "127.2.13", pods: "127.242" });

let k: Kubectl;
const kubectl = () => (k ??= new Kubectl(h.kubectl.kubeconfig, `${h.kubectl.cacheDir}-133`, pinnedKubectl("33")));
const status = async (pod: string) => {
  const r = await kubectl().run(["get", "pod", pod, "--no-headers"]);
  return r.code === 0 ? (r.stdout.trim().split(/\s+/)[2] ?? "") : `(${r.stderr.trim()})`;
};

describe("kubelet seeds with kubectl 1.33", () => {
  it("is kubectl 1.33", async () => {
    expect(await kubectl().ok(["version", "--client"])).toMatch(/Client Version: v1\.33\./);
  });

  it("kubectl run, wait --for=condition=Ready, get -o wide, describe's events", async () => {
    await kubectl().ok(["run", "web", "--image=nginx"]);
    await kubectl().ok(["wait", "--for=condition=Ready", "pod/web", "--timeout=40s"]);
    const wide = await kubectl().ok(["get", "pod", "web", "-o", "wide"]);
    expect(wide.split("\n")[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
    expect(wide.split("\n")[1]).toMatch(/^web\s+1\/1\s+Running\s+0\s+\S+\s+127\.242\.1\.\d+\s+kubemu\s+<none>\s+<none>$/);
    const d = await eventually(() => kubectl().ok(["describe", "pod", "web"]), (o) => o.includes("Started container web"), "describe shows Started", 30_000);
    expect(d).toMatch(/Node:\s+kubemu\/127\.2\.13\.1/);
    expect(d).toMatch(/Status:\s+Running/);
    expect(d).toMatch(/Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/web to kubemu/);
    expect(d).toMatch(/Normal\s+Pulling\s+\S+\s+kubelet\s+Pulling image "nginx"/);
    expect(d).toMatch(/Normal\s+Pulled\s+\S+\s+kubelet\s+Successfully pulled image "nginx" in [\d.]+m?s \([\d.]+m?s including waiting\)/);
    expect(d).toMatch(/Normal\s+Created\s+\S+\s+kubelet\s+Created container: web/);
    expect(d).toMatch(/Normal\s+Started\s+\S+\s+kubelet\s+Started container web/);
  }, 90_000);

  it("kubectl create -f: logs (--tail) and exec with stdout and the command's exit code", async () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "talker" },
      spec: { containers: [{ name: "main", image: "busybox", command: ["sh", "-c", "echo one; echo two; echo three; sleep 3600"] }] },
    };
    await kubectl().ok(["create", "-f", "-"], { input: JSON.stringify(pod) });
    await eventually(() => status("talker"), (s) => s === "Running", "talker Running", 40_000);
    expect(await eventually(() => kubectl().ok(["logs", "talker"]), (o) => o === "one\ntwo\nthree\n", "three lines", 20_000)).toBe("one\ntwo\nthree\n");
    expect(await kubectl().ok(["logs", "talker", "--tail=1"])).toBe("three\n");
    expect(await kubectl().ok(["exec", "talker", "--", "sh", "-c", "echo from $(hostname)"])).toBe("from talker\n");
    const failed = await kubectl().run(["exec", "talker", "--", "sh", "-c", "echo oops >&2; exit 3"]);
    expect(failed.code).toBe(3);
    expect(failed.stderr).toContain("oops");
    expect(failed.stderr).toContain("command terminated with exit code 3");
  }, 90_000);

  it("kubectl delete --grace-period: Terminating, then gone, its process dead", async () => {
    await kubectl().ok(["run", "sleeper", "--image=busybox", "--", "sh", "-c", "sleep 3600"]);
    await eventually(() => status("sleeper"), (s) => s === "Running", "sleeper Running", 40_000);
    const uid = (await kubectl().ok(["get", "pod", "sleeper", "-o", "jsonpath={.metadata.uid}"])).trim();
    expect(pidsMentioning(uid).length).toBeGreaterThan(0);
    const t0 = performance.now();
    await kubectl().ok(["delete", "pod", "sleeper", "--grace-period=3", "--wait=false"]);
    expect(await status("sleeper")).toBe("Terminating");
    // sh as PID 1 ignores SIGTERM: it goes at SIGKILL, once the 3 s are over.
    await eventually(() => status("sleeper"), (s) => s.includes("NotFound"), "sleeper gone", 40_000);
    expect(performance.now() - t0).toBeGreaterThan(2500);
    expect(pidsMentioning(uid)).toEqual([]);
  }, 90_000);
});
