/**
 * `kubectl port-forward` and SPDY exec with the real kubectl through the API server to a real
 * kubelet: pod/x :80 (random local port), svc/x 8080:8080 (the seed's shape: service port 8080 →
 * targetPort 80), deploy/x, several ports at once, a closed port's error text, 100 MB each way
 * (sha256 compared), many concurrent connections, over kubectl 1.32's default WebSocket tunnel
 * (`SPDY/3.1+portforward.k8s.io`) and plain SPDY (KUBECTL_PORT_FORWARD_WEBSOCKETS=false, and
 * kubectl 1.28, which knows nothing else); exec (stdin, exit code, -it with its resize stream), cp
 * and attach over SPDY (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false, and kubectl 1.28).
 * Also @kubernetes/client-node's PortForward (the WebSocket channel protocol).
 * Subnets: etcd 127.1.190.x, API 127.1.191.x, scheduler 127.1.192.x, node 127.1.195.1,
 * kubectl's local listeners 127.1.196.1, pods 127.233.1.0/24.
 */
import { afterEach, describe, expect, it } from "vitest";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import * as k8s from "@kubernetes/client-node";
import { Kubectl, pinnedKubectl } from "../../../apiserver/test/e2e/kubectl-run.js";
import { shellQuote } from "../../src/streaming/exec.js";
import { eventually, kubeletHarnessForFile } from "./harness.js";

const h = kubeletHarnessForFile({ etcd: "127.1.190", api: "127.1.191", scheduler: "127.1.192" }, [{ name: "kubemu", n: 1 }], { nodes: "127.1.195", pods: "127.233" });
const LOCAL = "127.1.196.1";
const SPDY = { KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" };
const MB100 = 100 * 1000 * 1000;

/** A file server on 8080 (the nginx volume's files) and a sink on 9000 that answers "<bytes> <sha256>" at EOF. */
const PY = `
import functools, hashlib, http.server, os, socketserver, threading
ip = os.environ["POD_IP"]
class Sink(socketserver.BaseRequestHandler):
    def handle(self):
        h, n = hashlib.sha256(), 0
        while True:
            d = self.request.recv(1 << 16)
            if not d:
                break
            h.update(d)
            n += len(d)
        self.request.sendall(f"{n} {h.hexdigest()}\\n".encode())
socketserver.ThreadingTCPServer.allow_reuse_address = True
# A listen backlog of 5 (socketserver's default) overflows under 20 connections at once: the kernel answers with SYN cookies, some fail, and the pod resets those connections.
socketserver.TCPServer.request_queue_size = 128
sink = socketserver.ThreadingTCPServer((ip, 9000), Sink)
threading.Thread(target=sink.serve_forever, daemon=True).start()
http.server.ThreadingHTTPServer((ip, 8080), functools.partial(http.server.SimpleHTTPRequestHandler, directory="/data")).serve_forever()
`;

const apply = (obj: unknown) => h.kubectl.ok(["apply", "-f", "-"], { input: JSON.stringify(obj) });
const running: ChildProcess[] = [];

/** Kills a kubectl by its pid (it may have exited already). */
function stop(c: ChildProcess): void {
  try {
    if (c.pid && c.exitCode === null) process.kill(c.pid, "SIGKILL");
  } catch {
    // Gone already.
  }
}

afterEach(() => {
  for (const c of running.splice(0)) stop(c);
});

/** Starts `kubectl port-forward` on LOCAL and waits for its "Forwarding from" lines; the local ports in order. */
async function portForward(args: string[], o: { env?: Record<string, string>; bin?: string } = {}): Promise<{ ports: number[]; output: () => string; child: ChildProcess }> {
  const child = spawn(o.bin ?? "kubectl", ["--cache-dir", h.kubectl.cacheDir, "port-forward", "--address", LOCAL, ...args], {
    env: { ...process.env, KUBECONFIG: h.kubectl.kubeconfig, ...o.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.push(child);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const wanted = args.filter((a) => /^\d*:?\d+$/.test(a)).length;
  await eventually(
    async () => [...out.matchAll(/Forwarding from [\d.]+:(\d+) ->/g)].length,
    (n) => n >= wanted || child.exitCode !== null,
    `kubectl port-forward ${args.join(" ")}`,
    40_000,
  );
  if (child.exitCode !== null) throw new Error(`kubectl port-forward exited ${child.exitCode}: ${out}`);
  return { ports: [...out.matchAll(/Forwarding from [\d.]+:(\d+) ->/g)].map((m) => Number(m[1])), output: () => out, child };
}

/** GET over the tunnel; the body's text (or its size and sha256 when hash is set). */
function get(port: number, path: string, hash = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: LOCAL, port, path, agent: false }, (res) => {
      const sha = createHash("sha256");
      let n = 0;
      let text = "";
      res.on("data", (d: Buffer) => {
        n += d.length;
        if (hash) sha.update(d);
        else text += d.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: hash ? `${n} ${sha.digest("hex")}` : text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.setTimeout(120_000, () => req.destroy(new Error("GET timed out")));
    req.end();
  });
}

/** Sends size pseudo-random bytes to the sink and half-closes; resolves with its answer and the bytes' own digest. */
function upload(port: number, size: number): Promise<{ answer: string; expected: string }> {
  return new Promise((resolve, reject) => {
    const sha = createHash("sha256");
    const block = randomBytes(1 << 20);
    const sock = connect({ host: LOCAL, port });
    let sent = 0;
    let answer = "";
    const pump = () => {
      while (sent < size) {
        const n = Math.min(block.length, size - sent);
        const piece = block.subarray(0, n);
        block[0] = (block[0]! + 1) & 0xff;
        sha.update(piece);
        sent += n;
        if (!sock.write(piece)) return void sock.once("drain", pump);
      }
      sock.end();
    };
    sock.on("connect", pump);
    sock.on("data", (d: Buffer) => (answer += d.toString()));
    sock.on("end", () => resolve({ answer: answer.trim(), expected: `${size} ${sha.digest("hex")}` }));
    sock.on("error", reject);
    sock.setTimeout(120_000, () => sock.destroy(new Error("upload timed out")));
  });
}

const kubeletLog = () => h.output("kubelet-kubemu");

describe("kubectl port-forward", () => {
  let webIP = "";
  let webUID = "";

  it("pod/x :80 and several ports at once, over the WebSocket tunnel, plain SPDY, kubectl 1.27–1.29 (SPDY only) and 1.33", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web", labels: { app: "web" } },
      spec: {
        terminationGracePeriodSeconds: 1,
        volumes: [{ name: "html", emptyDir: {} }],
        containers: [
          { name: "nginx", image: "nginx", ports: [{ containerPort: 80 }], volumeMounts: [{ name: "html", mountPath: "/usr/share/nginx/html" }] },
          {
            name: "py",
            image: "busybox",
            command: ["python3", "-c", PY],
            env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
            volumeMounts: [{ name: "html", mountPath: "/data" }],
          },
        ],
      },
    });
    await eventually(() => h.kubectl.run(["get", "pod", "web", "-o", "jsonpath={.status.phase}"]), (r) => r.stdout === "Running", "web Running", 40_000);
    await h.kubectl.ok(["exec", "web", "-c", "nginx", "--", "sh", "-c", "echo hello from web > /usr/share/nginx/html/index.html"]);
    webIP = (await h.kubectl.ok(["get", "pod", "web", "-o", "jsonpath={.status.podIP}"])).trim();
    webUID = (await h.kubectl.ok(["get", "pod", "web", "-o", "jsonpath={.metadata.uid}"])).trim();

    const versions = ["27", "28", "29", "33"].map((v) => [`kubectl 1.${v}`, { bin: pinnedKubectl(v) }] as const);
    for (const [how, o] of [["websocket", {}], ["spdy", { env: SPDY }], ...versions] as const) {
      const pf = await portForward(["pod/web", ":80", ":8080"], o);
      expect(pf.output(), how).toMatch(new RegExp(`Forwarding from ${LOCAL.replace(/\./g, "\\.")}:\\d+ -> 80\\n`));
      const page = await eventually(() => get(pf.ports[0]!, "/").catch((e: Error) => ({ status: 0, body: e.message })), (r) => r.status === 200, `${how}: GET / through the tunnel`, 20_000);
      expect(page.body, how).toBe("hello from web\n");
      expect((await get(pf.ports[1]!, "/index.html")).body, how).toBe("hello from web\n");
      expect(pf.output(), how).toContain(`Handling connection for ${pf.ports[0]}`);
      stop(pf.child);
    }
    // A plain request (no upgrade) gets upstream's answer once the pod is found.
    const plain = await h.kubectl.run(["get", "--raw", "/api/v1/namespaces/default/pods/web/portforward"]);
    expect(plain.stderr).toContain("Error from server (BadRequest): Upgrade request required");
    expect((await h.kubectl.run(["get", "--raw", "/api/v1/namespaces/default/pods/nope/portforward"])).stderr).toContain('pods "nope" not found');
    // Each transport really was used (the kubelet logs the one it served).
    expect(kubeletLog()).toContain('"transport":"SPDY/3.1+portforward.k8s.io"');
    expect(kubeletLog()).toContain('"transport":"SPDY/3.1"');
  }, 150_000);

  it("svc/x 8080:8080 (service port → targetPort 80, as the seed) and deploy/x", async () => {
    await h.kubectl.ok(["create", "service", "clusterip", "web-svc", "--tcp=8080:80"]);
    await h.kubectl.ok(["patch", "service", "web-svc", "-p", JSON.stringify({ spec: { selector: { app: "web" } } })]);
    const svc = await portForward(["service/web-svc", "8080:8080"]);
    expect(svc.output()).toContain(`Forwarding from ${LOCAL}:8080 -> 80`);
    expect((await get(8080, "/")).body).toBe("hello from web\n");
    stop(svc.child);
    // deploy/x: kubectl picks a pod by the deployment's selector (no controller-manager here, so replicas 0 and the pod above).
    await apply({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: { replicas: 0, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "nginx", image: "nginx" }] } } },
    });
    const dep = await portForward(["deploy/web", ":80"], { env: SPDY });
    expect((await get(dep.ports[0]!, "/")).body).toBe("hello from web\n");
  }, 90_000);

  it("@kubernetes/client-node's PortForward: the WebSocket channel protocol, the port in the query", async () => {
    const kc = new k8s.KubeConfig();
    // client-node 1.x refuses plain HTTP unless TLS verification is explicitly off.
    kc.loadFromOptions({
      clusters: [{ name: "e2e", server: h.cluster.apiservers[0]!.url, skipTLSVerify: true }],
      users: [{ name: "e2e" }],
      contexts: [{ name: "e2e", cluster: "e2e", user: "e2e" }],
      currentContext: "e2e",
    });
    const [out, err, input] = [new PassThrough(), new PassThrough(), new PassThrough()];
    let got = "";
    out.on("data", (d: Buffer) => (got += d.toString()));
    const ws = (await new k8s.PortForward(kc).portForward("default", "web", [80], out, err, input)) as { close(): void };
    try {
      input.write("GET / HTTP/1.0\r\nHost: web\r\n\r\n");
      await eventually(async () => got, (g) => g.includes("hello from web"), "nginx's answer through client-node's tunnel", 20_000);
      expect(got).toMatch(/^HTTP\/1.1 200 OK\r\n/);
    } finally {
      ws.close();
    }
  }, 60_000);

  it("a closed port: kubectl prints the kubelet's error text (containerd's shape)", async () => {
    for (const o of [{}, { env: SPDY }]) {
      const pf = await portForward(["pod/web", ":81"], o);
      await get(pf.ports[0]!, "/").catch(() => undefined);
      const out = await eventually(async () => pf.output(), (t) => t.includes("an error occurred forwarding"), "the error", 20_000);
      // kubectl 1.32 logs it as klog's `"Unhandled Error" err="…"`, quotes escaped.
      expect(out.replace(/\\"/g, '"')).toContain(
        `an error occurred forwarding ${pf.ports[0]} -> 81: error forwarding port 81 to pod ${webUID}, uid : failed to execute portforward in network namespace "host": failed to connect to ${webIP}:81 inside namespace "${webUID}", IPv4: dial tcp4 ${webIP}:81: connect: connection refused`,
      );
    }
  }, 60_000);

  it("is authorized as create on pods/portforward (RBAC, here through impersonation)", async () => {
    await h.kubectl.ok(["create", "role", "pod-reader", "--verb=get,list", "--resource=pods"]);
    await h.kubectl.ok(["create", "rolebinding", "jane-reads", "--role=pod-reader", "--user=jane"]);
    const denied = await h.kubectl.run(["port-forward", "--address", LOCAL, "pod/web", ":80", "--as=jane"], { timeoutMs: 30_000 });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('pods "web" is forbidden: User "jane" cannot create resource "pods/portforward" in API group "" in the namespace "default"');
    await h.kubectl.ok(["create", "role", "pod-forwarder", "--verb=create", "--resource=pods/portforward"]);
    await h.kubectl.ok(["create", "rolebinding", "jane-forwards", "--role=pod-forwarder", "--user=jane"]);
    const allowed = await portForward(["pod/web", ":80", "--as=jane"]);
    expect((await get(allowed.ports[0]!, "/")).body).toBe("hello from web\n");
  }, 60_000);

  it("100 MB each way intact (sha256), on both transports; 40 concurrent connections", async () => {
    const made = await h.kubectl.ok(["exec", "web", "-c", "nginx", "--", "sh", "-c", `head -c ${MB100} /dev/urandom > /usr/share/nginx/html/blob && sha256sum /usr/share/nginx/html/blob`]);
    const digest = made.split(" ")[0]!;
    for (const o of [{}, { env: SPDY }]) {
      const pf = await portForward(["pod/web", ":80", ":9000"], o);
      const down = await get(pf.ports[0]!, "/blob", true);
      expect(down.body).toBe(`${MB100} ${digest}`);
      const up = await upload(pf.ports[1]!, MB100);
      expect(up.answer).toBe(up.expected);
      // Many at once on one kubectl connection: each its own stream pair.
      const many = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? get(pf.ports[0]!, "/index.html") : upload(pf.ports[1]!, 200_000 + i))));
      for (const r of many) {
        if ("answer" in r) expect(r.answer).toBe(r.expected);
        else expect(r.body).toBe("hello from web\n");
      }
      stop(pf.child);
    }
  }, 240_000);
});

describe("kubectl exec, cp and attach over SPDY (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false, and kubectl 1.28)", () => {
  const env = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false" };

  it("stdout, stderr, stdin and the exit code", async () => {
    for (const o of [{ env }, { bin: pinnedKubectl("28") }]) {
      const k = o.bin ? new Kubectl(h.kubectl.kubeconfig, h.kubectl.cacheDir, o.bin) : h.kubectl;
      const runOpts = o.env ? { env: o.env } : {};
      expect(await k.ok(["exec", "web", "-c", "nginx", "--", "hostname"], runOpts)).toBe("web\n");
      const out = await k.run(["exec", "web", "-c", "nginx", "--", "sh", "-c", "echo out; echo err >&2; exit 3"], runOpts);
      expect(out.stdout).toBe("out\n");
      expect(out.stderr).toContain("err\n");
      expect(out.stderr).toContain("command terminated with exit code 3");
      expect(out.code).toBe(3);
      const piped = await k.run(["exec", "-i", "web", "-c", "nginx", "--", "sh", "-c", "tr a-z A-Z"], { ...runOpts, input: "hello\n" });
      expect(piped).toMatchObject({ code: 0, stdout: "HELLO\n" });
    }
    // kubectl cp is tar over exec: to and from the pod over SPDY.
    const local = join(h.cluster.root, "spdy-cp.txt");
    writeFileSync(local, "over spdy\n".repeat(5000));
    await h.kubectl.ok(["cp", "-c", "nginx", local, "web:/tmp/spdy-cp.txt"], { env });
    const back = join(h.cluster.root, "spdy-cp-back.txt");
    await h.kubectl.ok(["cp", "-c", "nginx", "web:/tmp/spdy-cp.txt", back], { env });
    expect(readFileSync(back, "utf8")).toBe("over spdy\n".repeat(5000));
  }, 90_000);

  it("-it gets a terminal of the caller's size (the resize stream)", async () => {
    const kubectl = ["kubectl", "--cache-dir", h.kubectl.cacheDir, "exec", "-it", "web", "-c", "nginx", "--", "sh", "-c", "stty size; [ -t 0 ] && echo is a tty; exit 5"].map(shellQuote).join(" ");
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile("script", ["-qfec", `stty rows 33 cols 99; exec ${kubectl}`, "/dev/null"], { env: { ...process.env, KUBECONFIG: h.kubectl.kubeconfig, ...env }, timeout: 30_000 }, (err, stdout) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, out: stdout }),
      );
    });
    expect(r.out).toContain("33 99");
    expect(r.out).toContain("is a tty");
    expect(r.out).toContain("command terminated with exit code 5");
    expect(r.code).toBe(5);
  }, 60_000);

  it("attach -i joins the container's stdin over SPDY", async () => {
    await apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "reader" },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "c", image: "busybox", stdin: true, command: ["sh", "-c", "while read l; do echo got $l; done"] }] },
    });
    await eventually(() => h.kubectl.run(["get", "pod", "reader", "-o", "jsonpath={.status.phase}"]), (r) => r.stdout === "Running", "reader Running", 40_000);
    for (const [how, bin, extra] of [["SPDY", "kubectl", env], ["kubectl 1.28", pinnedKubectl("28"), {}]] as const) {
      // stdin stays open: at its EOF the session would end (the container's stdin stays open, as
      // containerd) and the answer could come after it; kubectl is stopped by pid.
      const child = spawn(bin, ["--cache-dir", h.kubectl.cacheDir, "attach", "reader", "-i"], { env: { ...process.env, KUBECONFIG: h.kubectl.kubeconfig, ...extra }, stdio: ["pipe", "pipe", "pipe"] });
      running.push(child);
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      child.stdin.write(`${how}\n`);
      await eventually(async () => out, (o) => o.includes(`got ${how}\n`), `${how}: the container's answer`, 30_000);
      stop(child);
    }
  }, 90_000);
});

describe("the kubelet killed mid-forward", () => {
  it("kubectl says it lost the connection to the pod and exits", async () => {
    const pf = await portForward(["pod/web", ":80"]);
    expect((await get(pf.ports[0]!, "/")).body).toBe("hello from web\n");
    await h.killKubelet("kubemu");
    await eventually(async () => ({ code: pf.child.exitCode, out: pf.output() }), (r) => r.code !== null, "kubectl to exit", 30_000);
    expect(pf.child.exitCode).toBe(1);
    expect(pf.output()).toContain("lost connection to pod");
  }, 60_000);
});
