/**
 * The streaming connections' limits with the real kubectl through the API server: a kubelet
 * started with --streaming-connection-idle-timeout 2s ends an idle `kubectl exec -i` (WebSocket
 * and SPDY) the way kubectl shows it on a real cluster (exit 0, nothing printed) and an idle
 * `kubectl port-forward` ("lost connection to pod"), while a session with traffic lives on; on a
 * kubelet with the default timeout, a `kubectl exec -- yes` and a `kubectl attach` to a `yes`
 * container whose kubectl does not read its stdout leave the kubelet's memory bounded (and the
 * attached container is held back, its log too, as containerd's).
 * Subnets: etcd 127.6.1.x, API 127.6.2.x, scheduler 127.6.3.x, nodes 127.6.5.{1,2}, kubectl's
 * listener 127.6.6.1, pods 127.212.N.0/24.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { pinnedKubectl } from "../../../apiserver/test/e2e/kubectl-run.js";
import { shellQuote } from "../../src/streaming/exec.js";
import { eventually, kubeletHarnessForFile } from "./harness.js";

const h = kubeletHarnessForFile(
  { etcd: "127.6.1", api: "127.6.2", scheduler: "127.6.3" },
  [
    { name: "kubemu", n: 1, args: ["--streaming-connection-idle-timeout", "2s"] },
    { name: "kubemu-m02", n: 2 },
  ],
  { nodes: "127.6.5", pods: "127.212" },
);

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, "SIGKILL");
});

function kubectl(args: string[], o: { bin?: string; env?: Record<string, string> } = {}) {
  const child = spawn(o.bin ?? pinnedKubectl("32"), ["--cache-dir", h.kubectl.cacheDir, ...args], { env: { ...process.env, KUBECONFIG: h.kubectl.kubeconfig, ...o.env }, stdio: ["pipe", "pipe", "pipe"] });
  started.push(child);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; ms: number; stderr: string }>((resolve) => {
    const t0 = Date.now();
    child.on("close", (code) => resolve({ code, ms: Date.now() - t0, stderr }));
  });
  return { child, exited, stderr: () => stderr };
}

const apply = (obj: unknown) => h.kubectl.ok(["apply", "-f", "-"], { input: JSON.stringify(obj) });
const phase = async (pod: string) => (await h.kubectl.run(["get", "pod", pod, "-o", "jsonpath={.status.phase}"])).stdout;
async function runningPod(name: string, node: string, container: Record<string, unknown>): Promise<void> {
  await apply({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", ...container }] } });
  await eventually(() => phase(name), (p) => p === "Running", `${name} Running`);
}

/** Resident memory of a process, in bytes. */
const rss = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Bytes a process has written (write(2) calls, any file). */
const wchar = (pid: number) => Number(/wchar:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, "utf8"))![1]);

/** A descendant of root whose command name is name (0 if none). */
function descendantNamed(root: number, name: string): number {
  const parent = new Map<number, number>();
  const comm = new Map<number, string>();
  for (const d of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      comm.set(Number(d), stat.slice(stat.indexOf("(") + 1, close));
      parent.set(Number(d), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  for (const [pid, n] of comm) {
    if (n !== name) continue;
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === root) return pid;
  }
  return 0;
}

describe("--streaming-connection-idle-timeout 2s", () => {
  it("an idle `kubectl exec -i` ends after about 2 s with exit code 0 and nothing printed, over WebSocket and SPDY; one with traffic runs to its end", async () => {
    await runningPod("idle", "kubemu", { command: ["sleep", "3600"] });
    for (const [minor, env] of [["32", {}], ["33", {}], ["32", { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false" }]] as const) {
      // stdin stays open and silent: nothing either way.
      const k = kubectl(["exec", "-i", "idle", "--", "cat"], { env, bin: pinnedKubectl(minor) });
      const r = await k.exited;
      expect(r, `kubectl 1.${minor} ${JSON.stringify(env)}`).toMatchObject({ code: 0, stderr: "" });
      expect(r.ms).toBeGreaterThan(1500);
      expect(r.ms).toBeLessThan(15_000);
    }
    const busy = await h.kubectl.run(["exec", "idle", "--", "sh", "-c", "for i in 1 2 3 4 5; do echo $i; sleep 1; done"], { timeoutMs: 30_000 });
    expect(busy).toMatchObject({ code: 0, stdout: "1\n2\n3\n4\n5\n" });
  }, 60_000);

  it("an idle `kubectl port-forward` loses its connection: kubectl says so and exits 1", async () => {
    // No connection is forwarded: only the tunnel, silent (kubectl's first PING would come after 10 s).
    await runningPod("web", "kubemu", { command: ["sleep", "3600"] });
    const k = kubectl(["port-forward", "--address", "127.6.6.1", "pod/web", "18080:8080"]);
    let out = "";
    k.child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    await eventually(async () => out, (o) => o.includes("Forwarding from"), "forwarding");
    const r = await k.exited;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("lost connection to pod");
    expect(r.ms).toBeLessThan(20_000);
  }, 60_000);
});

describe("a client that does not read its output (default idle timeout)", () => {
  it("`kubectl exec -- yes` with kubectl's stdout unread: the kubelet's memory stays bounded, and the output flows again once read", async () => {
    await runningPod("yes-exec", "kubemu-m02", { command: ["sleep", "3600"] });
    const kubelet = h.kubelets.get("kubemu-m02")!.proc.pid!;
    const k = kubectl(["exec", "yes-exec", "--", "yes"]);
    let got = 0;
    const count = (d: Buffer) => (got += d.length);
    k.child.stdout!.on("data", count);
    await eventually(async () => got, (n) => n > 1024 * 1024, "yes's output");
    k.child.stdout!.off("data", count);
    k.child.stdout!.pause();
    const base = rss(kubelet);
    let most = base;
    for (let i = 0; i < 16; i++) {
      await sleep(500);
      most = Math.max(most, rss(kubelet));
      // Without backpressure this grows by hundreds of MB a second: stop before the host suffers.
      if (most - base > 256 * 1024 * 1024) break;
    }
    console.info(`exec, stalled client: kubelet RSS ${(base / 2 ** 20).toFixed(1)} MiB → at most ${(most / 2 ** 20).toFixed(1)} MiB over 8 s`);
    expect(most - base).toBeLessThan(48 * 1024 * 1024);
    const before = got;
    k.child.stdout!.on("data", count);
    k.child.stdout!.resume();
    await eventually(async () => got, (n) => n > before + 16 * 1024 * 1024, "output again");
  }, 60_000);

  it("`kubectl attach` to a `yes` container, stdout unread: the container's output is held back (its log waits too, as containerd's), the kubelet's memory stays bounded", async () => {
    await runningPod("yes-attach", "kubemu-m02", { command: ["sh", "-c", "read go; exec yes"], stdin: true });
    const kubelet = h.kubelets.get("kubemu-m02")!.proc.pid!;
    const k = kubectl(["attach", "-i", "yes-attach"]);
    let got = 0;
    const count = (d: Buffer) => (got += d.length);
    k.child.stdout!.on("data", count);
    await sleep(1500);
    k.child.stdin!.write("go\n");
    await eventually(async () => got, (n) => n > 1024 * 1024, "yes's output");
    k.child.stdout!.off("data", count);
    k.child.stdout!.pause();
    await sleep(1000);
    // What the container's yes has written (its /proc io counter): to the log and the sessions alike.
    const yes = descendantNamed(kubelet, "yes");
    expect(yes).toBeGreaterThan(0);
    const base = rss(kubelet);
    const written = wchar(yes);
    let most = base;
    for (let i = 0; i < 8; i++) {
      await sleep(500);
      most = Math.max(most, rss(kubelet));
      if (most - base > 256 * 1024 * 1024) break;
    }
    expect(most - base).toBeLessThan(48 * 1024 * 1024);
    // A trickle passes while the kernel's socket buffers on the way to kubectl grow (TCP autotuning:
    // MBs per socket, 0.9–4.5 MB measured); yes unchecked writes GBs in this time.
    const wrote = wchar(yes) - written;
    console.info(`attach, stalled client: kubelet RSS ${(base / 2 ** 20).toFixed(1)} MiB → at most ${(most / 2 ** 20).toFixed(1)} MiB over 4 s; the container wrote ${wrote} bytes meanwhile`);
    expect(wrote).toBeLessThan(32 * 1024 * 1024);
    // The client reads again: the container and its log go on.
    const before = got;
    k.child.stdout!.on("data", count);
    k.child.stdout!.resume();
    await eventually(async () => got, (n) => n > before + 16 * 1024 * 1024, "output again");
  }, 60_000);
});

describe("kubectl exec -it on a terminal resized in a burst", () => {
  it("`stty size` in the container reports the terminal's last size (kubectl 1.32 over WebSocket, and over SPDY)", async () => {
    await runningPod("term", "kubemu-m02", { command: ["sleep", "3600"] });
    for (const env of [{}, { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false" }]) {
      const bin = pinnedKubectl("32");
      const line = [bin, "--cache-dir", h.kubectl.cacheDir, "exec", "-it", "term", "--", "sh"].map(shellQuote).join(" ");
      const script = spawn("script", ["-qfec", `stty rows 40 cols 120; exec ${line}`, "/dev/null"], { env: { ...process.env, KUBECONFIG: h.kubectl.kubeconfig, ...env }, stdio: ["pipe", "pipe", "pipe"] });
      started.push(script);
      let out = "";
      script.stdout.on("data", (d: Buffer) => (out += d.toString()));
      const closed = new Promise<number | null>((r) => script.on("close", (code) => r(code)));
      await eventually(async () => out, (o) => /[#$] /.test(o), "the shell's prompt");
      const kubectlPid = descendantNamed(script.pid!, "kubectl.1.32");
      expect(kubectlPid).toBeGreaterThan(0);
      // Each stty on kubectl's terminal is a SIGWINCH, and kubectl sends the new size at once.
      for (let i = 1; i <= 12; i++) {
        execFileSync("stty", ["-F", `/proc/${kubectlPid}/fd/0`, "rows", String(20 + i), "cols", String(80 + i)]);
        await sleep(30);
      }
      await sleep(2000);
      script.stdin.write("stty size; exit\r");
      expect(await closed).toBe(0);
      expect(out, JSON.stringify(env)).toMatch(/\r\n32 92\r\n/);
    }
  }, 60_000);
});

describe("kubectl exec of a command the container does not have", () => {
  it("fails as on containerd: `error: Internal error occurred: … executable file not found in $PATH: unknown`, exit 1 (1.32 and 1.33, WebSocket and SPDY, with and without -i)", async () => {
    await runningPod("nobash", "kubemu-m02", { command: ["sleep", "3600"] });
    const runs: [string, Record<string, string>, string[]][] = [
      ["32", {}, []],
      ["33", {}, []],
      ["32", { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false" }, []],
      ["32", {}, ["-i"]],
    ];
    for (const [minor, env, flags] of runs) {
      const k = kubectl(["exec", ...flags, "nobash", "--", "kubemu-nosuchcmd"], { env, bin: pinnedKubectl(minor) });
      k.child.stdin!.end();
      const r = await k.exited;
      expect(r.code, `1.${minor} ${JSON.stringify(env)} ${flags.join(" ")}`).toBe(1);
      expect(r.stderr).toMatch(
        /^error: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "[0-9a-f]{64}": OCI runtime exec failed: exec failed: unable to start container process: exec: "kubemu-nosuchcmd": executable file not found in \$PATH: unknown\n$/,
      );
    }
  }, 60_000);
});
