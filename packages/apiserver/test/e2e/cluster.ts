/**
 * e2e helper: 3 kubemu-etcd members and N kubemu-apiservers as real processes (built dist/) on
 * a private loopback subnet, every one killed by pid in stop(). Run `npx tsc -b` first.
 * ServiceAccount admission is off unless asked for (see the constructor).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCertificateAuthority } from "@kubemu/common";

const ETCD_MAIN = fileURLToPath(new URL("../../../etcd-raft/dist/server/main.js", import.meta.url));
const APISERVER_MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));
const LB_MAIN = fileURLToPath(new URL("../../../cli/dist/apiserver-lb/main.js", import.meta.url));

export interface Proc {
  name: string;
  proc: ChildProcess;
  output: string[];
  exited: Promise<void>;
}

export class E2eCluster {
  readonly procs: Proc[] = [];
  root = "";
  readonly apiservers: { name: string; url: string }[] = [];

  constructor(
    private readonly etcdSubnet: string,
    private readonly apiSubnet: string,
    private readonly apiserverCount = 2,
    /**
     * Run the ServiceAccount admission plugin. Off by default (as in upstream's integration
     * tests): these clusters have no controller-manager to create each namespace's `default`
     * account, so pods would be refused. Harnesses that run pods turn it on and provide them.
     */
    private readonly opts: { serviceAccountAdmission?: boolean; /** More apiserver flags (e.g. --kubelet-client-certificate). */ apiserverArgs?: string[] } = {},
  ) {
    for (const f of [ETCD_MAIN, APISERVER_MAIN]) if (!existsSync(f)) throw new Error(`${f} is missing: run "npx tsc -b" before these tests`);
  }

  /** Starts a node process (killed by pid in stop()); its output is kept for failure messages. */
  spawn(name: string, args: string[]): Proc {
    const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    const output: string[] = [];
    proc.stdout!.on("data", (d: Buffer) => output.push(d.toString()));
    proc.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
    const exited = new Promise<void>((resolve) => proc.on("exit", () => resolve()));
    const p = { name, proc, output, exited };
    this.procs.push(p);
    return p;
  }

  async start(): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), "kubemu-apiserver-e2e-"));
    const members = [1, 2, 3].map((i) => ({ name: `etcd-${i - 1}`, ip: `${this.etcdSubnet}.${i}` }));
    const initial = members.map((m) => `${m.name}=ws://${m.ip}:2380`).join(",");
    for (const m of members)
      this.spawn(m.name, [
        ETCD_MAIN,
        "--name", m.name,
        "--data-dir", join(this.root, m.name),
        "--listen-client-urls", `ws://${m.ip}:2379`,
        "--listen-peer-urls", `ws://${m.ip}:2380`,
        "--control-url", `http://${m.ip}:2381`,
        "--initial-cluster", initial,
        "--log-level", "warn",
      ]);
    const etcdServers = members.map((m) => `ws://${m.ip}:2379`).join(",");
    for (let i = 0; i < this.apiserverCount; i++) {
      const ip = `${this.apiSubnet}.${i + 1}`;
      const name = `apiserver-${i}`;
      this.spawn(name, [
        APISERVER_MAIN,
        "--name", name,
        "--bind-address", ip,
        "--port", "6443",
        "--etcd-servers", etcdServers,
        "--log-level", "warn",
        "--component-status", members.map((m) => `${m.name}=http://${m.ip}:2381/health`).join(","),
        ...(this.opts.serviceAccountAdmission ? [] : ["--disable-admission-plugins", "ServiceAccount"]),
        ...(this.opts.apiserverArgs ?? []),
      ]);
      this.apiservers.push({ name, url: `http://${ip}:6443` });
    }
    await Promise.all(this.apiservers.map((a) => this.waitReady(a.url)));
  }

  async waitReady(url: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (r.status === 200) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${url} not ready after ${timeoutMs} ms:\n${this.procs.map((p) => `${p.name}: ${p.output.join("").slice(-2000)}`).join("\n")}`);
  }

  /**
   * Writes a CA certificate for the controller-manager's --root-ca-file (what kube-root-ca.crt
   * publishes) and returns its path. These clusters serve plain HTTP, so it signs nothing: pods'
   * ca.crt is a well-formed CA their clients never need here.
   */
  async writeRootCa(): Promise<string> {
    const path = join(this.root, "root-ca.crt");
    await writeFile(path, (await createCertificateAuthority("kubemu-e2e-ca", new Date(), 30)).cert);
    return path;
  }

  /** Starts the launcher's apiserver-lb (health-checked round robin) on ip:6443; returns its URL. */
  async startLb(ip: string): Promise<string> {
    if (!existsSync(LB_MAIN)) throw new Error(`${LB_MAIN} is missing: run "npx tsc -b" before these tests`);
    this.spawn("apiserver-lb", [
      LB_MAIN,
      "--name", "apiserver-lb",
      "--bind-address", ip,
      "--port", "6443",
      "--control-url", `http://${ip}:6444`,
      "--backends", this.apiservers.map((a) => `${a.name}=${a.url}`).join(","),
      "--log-level", "warn",
    ]);
    const url = `http://${ip}:6443`;
    await this.waitReady(url);
    return url;
  }

  /** Writes a kubeconfig for apiserver i (or any URL) and returns its path. */
  async kubeconfig(i: number | string = 0): Promise<string> {
    const path = join(this.root, `kubeconfig-${typeof i === "string" ? "url" : i}`);
    const server = typeof i === "string" ? i : this.apiservers[i]!.url;
    await writeFile(
      path,
      `apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: "${server}"}\n  name: e2e\ncontexts:\n- context: {cluster: e2e, user: e2e}\n  name: e2e\ncurrent-context: e2e\nusers:\n- name: e2e\n  user: {}\n`,
    );
    return path;
  }

  async kill(name: string): Promise<void> {
    const p = this.procs.find((x) => x.name === name);
    if (!p || p.proc.exitCode !== null || p.proc.signalCode !== null) return;
    p.proc.kill("SIGKILL");
    await p.exited;
  }

  async stop(): Promise<void> {
    for (const p of this.procs) {
      if (p.proc.exitCode === null && p.proc.signalCode === null && p.proc.pid !== undefined) {
        try {
          process.kill(p.proc.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    await Promise.all(this.procs.map((p) => p.exited));
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}
