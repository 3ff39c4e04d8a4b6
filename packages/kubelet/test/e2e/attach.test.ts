/**
 * `kubectl attach` and `kubectl run -i/-it --rm` with the real kubectl through the API server to
 * a real kubelet: the container's own stdin held by the kubelet (a pipe, or a PTY for tty),
 * stdinOnce, -c and the default-container annotation, the terminal's size.
 * Subnets: etcd 127.1.200.x, API 127.1.201.x, scheduler 127.1.202.x, node 127.1.205.1, pods 127.234.1.0/24.
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { shellQuote } from "../../src/streaming/exec.js";
import { Kubectl, pinnedKubectl } from "../../../apiserver/test/e2e/kubectl-run.js";
import { eventually, kubeletHarnessForFile } from "./harness.js";

const h = kubeletHarnessForFile({ etcd: "127.1.200", api: "127.1.201", scheduler: "127.1.202" }, [{ name: "kubemu", n: 1 }], { nodes: "127.1.205", pods: "127.234" });

const apply = (obj: unknown) => h.kubectl.ok(["apply", "-f", "-"], { input: JSON.stringify(obj) });
const phase = async (pod: string) => (await h.kubectl.run(["get", "pod", pod, "-o", "jsonpath={.status.phase}"])).stdout;

/**
 * kubectl on a terminal of 40x120 (util-linux script), typing `input` once `waitFor` shows up
 * in its output; resolves with everything it printed and its exit code.
 */
function onTerminal(args: string[], waitFor: string, input: string, opts: { killWhen?: RegExp; timeoutMs?: number } = {}): Promise<{ code: number | null; out: string }> {
  const kubectl = ["kubectl", "--cache-dir", h.kubectl.cacheDir, ...args].map(shellQuote).join(" ");
  const child = spawn("script", ["-qfec", `stty rows 40 cols 120; exec ${kubectl}`, "/dev/null"], { env: { ...process.env, KUBECONFIG: h.kubectl.kubeconfig }, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let typed = false;
  const onData = (d: Buffer) => {
    out += d.toString();
    if (!typed && out.includes(waitFor)) {
      typed = true;
      // Give the session a moment to be joined through to the container before typing.
      setTimeout(() => child.stdin.write(input), 500);
    }
    // The terminal closing (kubectl killed with it) is how kubectl 1.32 leaves an attach: it has no detach keys.
    if (typed && opts.killWhen?.test(out)) child.kill("SIGKILL");
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 40_000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    }),
  );
}

describe("kubectl run --rm with an attached session", () => {
  it("-i with piped stdin: the shell reads it, its output and exit code come back, the pod is deleted", async () => {
    const r = await h.kubectl.run(["run", "-i", "--rm", "piped", "--image=busybox", "--restart=Never", "--", "sh"], { input: "echo hello from $(hostname)\nexit 3\n", timeoutMs: 60_000 });
    expect(r.stdout).toContain("hello from piped\n");
    expect(r.stdout).toContain('pod "piped" deleted');
    expect(r.stderr).toContain("If you don't see a command prompt, try pressing enter.");
    expect(r.code).toBe(3);
    await eventually(() => h.kubectl.run(["get", "pod", "piped"]), (x) => x.stderr.includes("NotFound"), "piped deleted");
  }, 90_000);

  it("kubectl 1.33 too (its WebSocket v5 attach)", async () => {
    const k133 = new Kubectl(h.kubectl.kubeconfig, `${h.kubectl.cacheDir}-133`, pinnedKubectl("33"));
    const r = await k133.run(["run", "-i", "--rm", "piped133", "--image=busybox", "--restart=Never", "--", "sh"], { input: "echo from 1.33\nexit 0\n", timeoutMs: 60_000 });
    expect(r.stdout).toContain("from 1.33\n");
    expect(r.stdout).toContain('pod "piped133" deleted');
    expect(r.code).toBe(0);
  }, 90_000);

  it("-it: a shell on a terminal of the caller's size, inside the container", async () => {
    const r = await onTerminal(["run", "-it", "--rm", "term", "--image=busybox", "--restart=Never", "--", "sh"], "try pressing enter", "stty size; tty; hostname; exit 0\r");
    expect(r.out).toContain("If you don't see a command prompt, try pressing enter.");
    expect(r.out).toMatch(/40 120\r?\n/);
    expect(r.out).toMatch(/\/dev\/pts\/\d+\r?\n/);
    expect(r.out).toMatch(/term\r?\n/);
    expect(r.out).toContain('pod "term" deleted');
    expect(r.code).toBe(0);
  }, 90_000);
});

describe("kubectl attach", () => {
  it("-i joins a container's stdin: stdinOnce closes it when the session's stdin ends, without it the session ends and stdin stays open; -c and the default-container annotation", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "readers", annotations: { "kubectl.kubernetes.io/default-container": "keep" } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          { name: "once", image: "busybox", stdin: true, stdinOnce: true, command: ["sh", "-c", "cat; echo cat ended; sleep 3600"] },
          { name: "keep", image: "busybox", stdin: true, command: ["sh", "-c", "cat; echo cat ended; sleep 3600"] },
        ],
      },
    });
    await eventually(() => phase("readers"), (p) => p === "Running", "readers Running");
    // With stdinOnce, stdin EOF closes the container's stdin and the session stays for the output until the container exits: stopped by pid.
    const attach = (args: string[], input: string) => {
      const child = spawn("kubectl", ["--cache-dir", h.kubectl.cacheDir, "attach", "readers", "-i", ...args], { env: { ...process.env, KUBECONFIG: h.kubectl.kubeconfig }, stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      child.stdin.end(input);
      return { child, out: () => out };
    };
    const once = attach(["-c", "once"], "first\n");
    try {
      await eventually(async () => once.out(), (o) => o.includes("first\ncat ended\n"), "cat's EOF after the stdinOnce session's stdin closed", 30_000);
    } finally {
      once.child.kill("SIGKILL");
    }
    // Without stdinOnce the session ends with its stdin (kubectl exits 0) and the container's stdin stays open.
    const keep = await h.kubectl.run(["attach", "readers", "-i"], { input: "second\n" });
    expect(keep.code).toBe(0);
    await eventually(async () => h.log("kubemu", "default", "readers", "keep"), (l) => l === "second", "cat echoing the default container's input");
    const again = await h.kubectl.run(["attach", "readers", "-i", "-c", "keep"], { input: "third\n" });
    expect(again.code).toBe(0);
    await eventually(async () => h.log("kubemu", "default", "readers", "keep"), (l) => l === "second\nthird", "the kept stdin still open");
    expect(h.log("kubemu", "default", "readers", "once")).toBe("first\ncat ended");
  }, 90_000);

  it("-it to a tty container: leave and resume, the terminal's size, the session ends with the container; a completed pod is refused", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "console" },
      spec: { terminationGracePeriodSeconds: 1, restartPolicy: "Never", containers: [{ name: "c", image: "busybox", stdin: true, stdinOnce: true, tty: true, command: ["sh"] }] },
    });
    await eventually(() => phase("console"), (p) => p === "Running", "console Running");
    // A session that goes away (its terminal closed) leaves the shell and its stdin to the next one, stdinOnce or not: a tty's stdin stays open.
    const first = await onTerminal(["attach", "-it", "console"], "try pressing enter", "echo one$((1+1))\r", { killWhen: /one2/ });
    expect(first.out).toContain("one2");
    const r = await onTerminal(["attach", "-it", "console"], "try pressing enter", "stty size; echo bye; exit 2\r");
    expect(r.out).toMatch(/40 120\r?\n/);
    expect(r.out).toContain("bye");
    await eventually(() => phase("console"), (p) => p === "Failed", "console Failed");
    // What the terminal showed is in the log too.
    expect(h.log("kubemu", "default", "console", "c")).toContain("bye");
    const done = await h.kubectl.run(["attach", "console"]);
    expect(done.code).not.toBe(0);
    expect(done.stderr).toContain("cannot attach a container in a completed pod; current phase is Failed");
  }, 90_000);
});
