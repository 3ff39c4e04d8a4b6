/**
 * A whole cluster as real processes for benchmarks that need nodes: the ApiCluster (3 kubemu-etcd,
 * 2 kubemu-apiserver with ServiceAccount admission, apiserver-lb) plus one kubemu-scheduler, one
 * kubemu-controller-manager (every controller; --root-ca-file a throwaway CA) and kubemu-kubelets that run pods as sandboxed processes. Addresses:
 * `<subnet>.1–.3` etcd, `.11/.12` API servers, `.20` balancer, `.30` scheduler, `.40`
 * controller-manager; node N on `<nodeSubnet>.N` with pod CIDR `<podPrefix>.N.0/24`. Components
 * use the API servers' plain-HTTP URLs (as the kubelet e2e does). Every child is killed by pid in
 * stop() (and by procs.ts on exit or error); the state lives in the ApiCluster's temp dir.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createCertificateAuthority } from "@kubemu/common";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiCluster } from "./apiserver-cluster.js";
import { canBind } from "./net.js";
import { sleep, spawnChild, stopChild, type Child } from "./procs.js";

const bin = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));
const schedulerJs = bin("packages/scheduler/dist/main.js");
const managerJs = bin("packages/controller-manager/dist/main.js");
const kubeletJs = bin("packages/kubelet/dist/main.js");

export interface NodeClusterOptions {
  /** e.g. "127.1.120": the control plane's addresses. */
  subnet: string;
  /** e.g. "127.1.121": node N is <nodeSubnet>.N. */
  nodeSubnet: string;
  /** e.g. "127.247": node N's pods get <podPrefix>.N.0/24. */
  podPrefix: string;
  /** Node names; the Nth (from 1) gets address N. */
  nodes: string[];
  profile: "fast" | "realistic";
}

export class NodeCluster {
  readonly api: ApiCluster;
  readonly kubelets = new Map<string, Child>();
  private readonly others: Child[] = [];
  readonly schedulerUrl: string;
  readonly managerUrl: string;

  constructor(private readonly o: NodeClusterOptions) {
    for (const f of [schedulerJs, managerJs, kubeletJs]) if (!existsSync(f)) throw new Error(`${f} is missing: run "npx tsc -b" first`);
    this.api = new ApiCluster({ subnet: o.subnet, profile: o.profile, serviceAccountAdmission: true });
    this.schedulerUrl = `http://${o.subnet}.30:10259`;
    this.managerUrl = `http://${o.subnet}.40:10257`;
  }

  get root(): string {
    return this.api.root;
  }

  nodeIp(name: string): string {
    return `${this.o.nodeSubnet}.${this.o.nodes.indexOf(name) + 1}`;
  }

  /**
   * The CA kube-root-ca.crt publishes (pods' ca.crt in their kube-api-access volume). The
   * components talk plain HTTP here, so it signs nothing; without one the root CA publisher stays
   * off and every pod would wait on a missing ConfigMap.
   */
  private writeRootCa(): string {
    const path = join(this.root, "root-ca.crt");
    writeFileSync(path, this.rootCa);
    return path;
  }

  private rootCa = "";

  /** Starts everything; resolves once every process answers /readyz (the controller-manager /healthz). */
  async start(): Promise<void> {
    this.rootCa = (await createCertificateAuthority("kubemu-bench-ca", new Date(), 30)).cert;
    const fixed = [`${this.o.subnet}.30:10259`, `${this.o.subnet}.40:10257`, ...this.o.nodes.map((n) => `${this.nodeIp(n)}:10250`)];
    for (const hp of fixed) {
      const [ip, port] = hp.split(":");
      if (!(await canBind(ip!, Number(port)))) throw new Error(`${hp} is taken: is an earlier run still alive?`);
    }
    await this.api.start();
    const urls = this.api.apiservers.join(",");
    const common = ["--apiserver-urls", urls, "--profile", this.o.profile, "--state-dir", this.root];
    this.others.push(
      this.spawn("scheduler-0", [schedulerJs, "--name", "scheduler-0", "--bind-address", `${this.o.subnet}.30`, "--port", "10259", ...common, "--log-level", "info"]),
      this.spawn("controller-manager-0", [managerJs, "--name", "controller-manager-0", "--bind-address", `${this.o.subnet}.40`, "--port", "10257", ...common, "--log-level", "info", "--controllers", "*", "--root-ca-file", this.writeRootCa()]),
    );
    for (const n of this.o.nodes) this.startKubelet(n);
    await Promise.all([
      this.waitHttp(`${this.schedulerUrl}/readyz`),
      this.waitHttp(`${this.managerUrl}/healthz`),
      ...this.o.nodes.map((n) => this.waitHttp(`http://${this.nodeIp(n)}:10250/readyz`)),
    ]);
    // What every pod's kube-api-access volume needs, before a benchmark times pods.
    const api = this.api.apiservers[0]!;
    await this.waitHttp(`${api}/api/v1/namespaces/default/serviceaccounts/default`);
    await this.waitHttp(`${api}/api/v1/namespaces/default/configmaps/kube-root-ca.crt`);
  }

  /** Starts (or starts again) a node's kubelet, with the same root dir, so it finds its pods again. */
  startKubelet(name: string): Child {
    const i = this.o.nodes.indexOf(name) + 1;
    if (i === 0) throw new Error(`unknown node ${name}`);
    const child = this.spawn(`kubelet-${name}`, [
      kubeletJs, "--name", `kubelet-${name}`, "--node-name", name, "--node-ip", this.nodeIp(name), "--pod-cidr", `${this.o.podPrefix}.${i}.0/24`,
      "--apiserver-urls", this.api.apiservers.join(","), "--state-dir", this.root, "--profile", this.o.profile, "--log-level", "info",
      "--capacity-cpu", "4", "--capacity-memory", "8Gi", "--images-file", join(this.root, "images.yaml"),
    ]);
    this.kubelets.set(name, child);
    return child;
  }

  /** SIGKILLs a kubelet by pid; its containers die with it (bwrap --die-with-parent). */
  async killKubelet(name: string): Promise<void> {
    const c = this.kubelets.get(name);
    if (c) await stopChild(c, "SIGKILL");
  }

  async waitKubeletReady(name: string, timeoutMs = 60_000): Promise<void> {
    await this.waitHttp(`http://${this.nodeIp(name)}:10250/readyz`, timeoutMs);
  }

  /** The last lines each process wrote (its stdout/stderr and its log file), for error messages. */
  tails(lines = 15): string {
    const names = [...this.others.map((c) => c.name), ...[...this.kubelets.values()].map((c) => c.name)];
    return names
      .map((n) => {
        const files = [join(this.root, `${n}.out`), join(this.root, "logs", `${n}.log`)].filter((f) => existsSync(f));
        const text = files.map((f) => readFileSync(f, "utf8").trimEnd().split("\n").slice(-lines).join("\n")).join("\n");
        return `--- ${n}\n${text}`;
      })
      .join("\n");
  }

  /** Kubelets first (SIGKILL: their pods go with them), then the scheduler and controller-manager, then the API cluster. */
  async stop(): Promise<void> {
    for (const c of this.kubelets.values()) await stopChild(c, "SIGKILL");
    for (const c of [...this.others].reverse()) await stopChild(c, "SIGTERM", 5000);
    await this.api.stop();
  }

  private spawn(name: string, args: string[]): Child {
    return spawnChild(name, process.execPath, args, join(this.root, `${name}.out`));
  }

  private async waitHttp(url: string, timeoutMs = 60_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let last = "";
    for (;;) {
      const dead = [...this.others, ...this.kubelets.values()].find((c) => c.proc.exitCode !== null);
      if (dead) throw new Error(`${dead.name} exited (code ${dead.proc.exitCode}) during startup\n${this.tails()}`);
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await r.arrayBuffer();
        if (r.ok) return;
        last = `${r.status}`;
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      if (performance.now() > deadline) throw new Error(`${url} not ready within ${timeoutMs} ms (${last})\n${this.tails()}`);
      await sleep(100);
    }
  }
}
