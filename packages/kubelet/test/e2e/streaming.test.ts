/**
 * Streaming with the real kubectl through the API server to a real kubelet: `kubectl logs` with
 * its options, `-f` ending when the container ends, --previous, the deploy/x and -l selectors,
 * and upstream's error messages.
 * Subnets: etcd 127.1.130.x, API 127.1.131.x, scheduler 127.1.132.x, node 127.1.135.1, pods 127.248.1.0/24.
 */
import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { shellQuote } from "../../src/streaming/exec.js";
import { eventually, kubeletHarnessForFile } from "./harness.js";

const h = kubeletHarnessForFile({ etcd: "127.1.130", api: "127.1.131", scheduler: "127.1.132" }, [{ name: "kubemu", n: 1 }], { nodes: "127.1.135", pods: "127.248" });

const apply = (obj: unknown) => h.kubectl.ok(["apply", "-f", "-"], { input: JSON.stringify(obj) });
const phase = async (pod: string) => (await h.kubectl.run(["get", "pod", pod, "-o", "jsonpath={.status.phase}"])).stdout;

describe("kubectl logs", () => {
  it("prints the container's output; --tail, --timestamps, --limit-bytes, --since; -c and upstream's errors", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "talker", labels: { app: "web" } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          { name: "main", image: "busybox", command: ["sh", "-c", "echo line 1; sleep 0.2; echo line 2 >&2; sleep 0.2; echo line 3; sleep 3600"] },
          { name: "side", image: "busybox", command: ["sh", "-c", "echo from side; sleep 3600"] },
        ],
      },
    });
    await eventually(() => phase("talker"), (p) => p === "Running", "talker Running");
    const all = await eventually(() => h.kubectl.run(["logs", "talker", "-c", "main"]), (r) => r.stdout === "line 1\nline 2\nline 3\n", "three lines");
    expect(all.code).toBe(0);
    expect(await h.kubectl.ok(["logs", "talker", "-c", "main", "--tail=1"])).toBe("line 3\n");
    expect(await h.kubectl.ok(["logs", "talker", "-c", "main", "--limit-bytes=8"])).toBe("line 1\nl");
    expect(await h.kubectl.ok(["logs", "talker", "-c", "main", "--since=1h"])).toBe("line 1\nline 2\nline 3\n");
    const ts = await h.kubectl.ok(["logs", "talker", "-c", "side", "--timestamps"]);
    expect(ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z from side\n$/);
    // Without -c kubectl picks the first container and says so.
    const def = await h.kubectl.run(["logs", "talker"]);
    expect(def.stdout).toBe("line 1\nline 2\nline 3\n");
    expect(def.stderr).toContain('Defaulted container "main" out of: main, side');
    // The API itself wants a container name when there are several.
    const raw = await h.kubectl.run(["get", "--raw", "/api/v1/namespaces/default/pods/talker/log"]);
    expect(raw.stderr).toContain("a container name must be specified for pod talker, choose one of: [main side]");
    const prev = await h.kubectl.run(["logs", "talker", "-c", "main", "--previous"]);
    expect(prev.code).toBe(1);
    expect(prev.stderr).toContain('previous terminated container "main" in pod "talker" not found');
    const missing = await h.kubectl.run(["logs", "nope"]);
    expect(missing.stderr).toContain('pods "nope" not found');
    // deploy/x: kubectl resolves the deployment's selector to a pod; -l selects pods.
    await h.kubectl.ok(["create", "deployment", "web", "--image=busybox", "--replicas=0"]);
    expect(await h.kubectl.ok(["logs", "deploy/web", "-c", "side"])).toBe("from side\n");
    expect(await h.kubectl.ok(["logs", "-l", "app=web", "-c", "side"])).toBe("from side\n");
  }, 60_000);

  it("-f streams lines as they are written and ends when the container ends; --previous reads the last run", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "ticker" },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", command: ["sh", "-c", "for i in 1 2 3 4 5 6; do echo tick $i; sleep 0.5; done; exit 1"] }] },
    });
    await eventually(() => phase("ticker"), (p) => p === "Running", "ticker Running");
    const started = Date.now();
    const follow = await h.kubectl.run(["logs", "-f", "ticker"], { timeoutMs: 30_000 });
    expect(follow.code).toBe(0);
    expect(follow.stdout).toBe("tick 1\ntick 2\ntick 3\ntick 4\ntick 5\ntick 6\n");
    expect(Date.now() - started).toBeLessThan(20_000);
    // It exits 1 and restarts (restartPolicy Always): --previous is the run that ended.
    await eventually(() => h.kubectl.run(["get", "pod", "ticker", "-o", "jsonpath={.status.containerStatuses[0].restartCount}"]), (r) => Number(r.stdout) >= 1, "a restart", 40_000);
    const prev = await h.kubectl.ok(["logs", "ticker", "--previous"]);
    expect(prev).toBe("tick 1\ntick 2\ntick 3\ntick 4\ntick 5\ntick 6\n");
  }, 80_000);
});

describe("kubectl exec", () => {
  it("runs in the container (its hostname, its PID 1), passes stdin, stdout and stderr, and the exit code through", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "shell" },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", command: ["sleep", "3600"] }] },
    });
    await eventually(() => phase("shell"), (p) => p === "Running", "shell Running");
    expect(await h.kubectl.ok(["exec", "shell", "--", "hostname"])).toBe("shell\n");
    const out = await h.kubectl.run(["exec", "shell", "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(out.stdout).toBe("out\n");
    expect(out.stderr).toContain("err\n");
    expect(out.stderr).toContain("command terminated with exit code 3");
    expect(out.code).toBe(3);
    const piped = await h.kubectl.run(["exec", "-i", "shell", "--", "sh", "-c", "tr a-z A-Z"], { input: "hello\n" });
    expect(piped).toMatchObject({ code: 0, stdout: "HELLO\n" });
    // The container runs as PID 1 of its own namespace; exec joins it.
    expect(await h.kubectl.ok(["exec", "shell", "--", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"])).toMatch(/^\S*sleep 3600 $/);
  }, 60_000);

  it("kubectl cp to and from the pod (tar over exec); exec into a completed pod is refused in upstream's words", async () => {
    const local = join(h.cluster.root, "to-pod.txt");
    writeFileSync(local, "copied in\n".repeat(1000));
    await h.kubectl.ok(["cp", local, "shell:/tmp/in.txt"]);
    expect(await h.kubectl.ok(["exec", "shell", "--", "wc", "-l", "/tmp/in.txt"])).toMatch(/^\s*1000 \/tmp\/in.txt\n$/);
    const back = join(h.cluster.root, "from-pod.txt");
    await h.kubectl.ok(["cp", "shell:/tmp/in.txt", back]);
    expect(readFileSync(back, "utf8")).toBe("copied in\n".repeat(1000));
    await h.kubectl.ok(["run", "done", "--image=busybox", "--restart=Never", "--", "true"]);
    await eventually(() => phase("done"), (p) => p === "Succeeded", "done Succeeded");
    // kubectl checks the phase itself first; the API server refuses the same way for other clients.
    const r = await h.kubectl.run(["exec", "done", "--", "true"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("cannot exec into a container in a completed pod; current phase is Succeeded");
  }, 60_000);

  it("-it gets a terminal of the caller's size", async () => {
    // kubectl wants a terminal on its stdin for -t: give it one with script, 40 rows by 120 columns.
    const kubectl = ["kubectl", "--cache-dir", h.kubectl.cacheDir, "exec", "-it", "shell", "--", "sh", "-c", "stty size; [ -t 0 ] && [ -t 1 ] && echo is a tty; exit 5"].map(shellQuote).join(" ");
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile("script", ["-qfec", `stty rows 40 cols 120; exec ${kubectl}`, "/dev/null"], { env: { ...process.env, KUBECONFIG: h.kubectl.kubeconfig }, timeout: 30_000 }, (err, stdout) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, out: stdout }),
      );
    });
    expect(r.out).toContain("40 120");
    expect(r.out).toContain("is a tty");
    expect(r.out).toContain("command terminated with exit code 5");
    expect(r.code).toBe(5);
  }, 60_000);
});
