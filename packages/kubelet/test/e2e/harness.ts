/**
 * e2e harness: a store and API servers (packages/apiserver's E2eCluster: real kubemu-etcd and
 * kubemu-apiserver processes, ServiceAccount admission on), one kubemu-scheduler (<scheduler>.1:10259),
 * one kubemu-controller-manager (<scheduler>.1:10258, not leader-elected: the serviceaccount and
 * root CA publisher controllers only, so pods' kube-api-access volumes mount) and kubemu-kubelet
 * processes, all on private
 * loopback subnets (nodes 127.1.70.N, pod CIDRs 127.246.N.0/24; never the 127.0.100.x /
 * 127.244.x a user's cluster uses). Every process is killed by pid in stop(); the kubelets'
 * containers die with them. Run `npx tsc -b` first: the processes run the built dist/.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll } from "vitest";
import { ApiClient, Resources } from "@kubemu/common";
import { E2eCluster, type Proc } from "../../../apiserver/test/e2e/cluster.js";
import { Kubectl } from "../../../apiserver/test/e2e/kubectl-run.js";

const KUBELET_MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));
const SCHEDULER_MAIN = fileURLToPath(new URL("../../../scheduler/dist/main.js", import.meta.url));
const MANAGER_MAIN = fileURLToPath(new URL("../../../controller-manager/dist/main.js", import.meta.url));

export interface NodeDef {
  name: string;
  /** N in 127.1.70.N and 127.246.N.0/24. */
  n: number;
  labels?: string;
  /** More kubelet flags (e.g. --cluster-dns). */
  args?: string[];
  /** Where readiness is waited for: 10250, or the plain --healthz-port (10248) of a kubelet serving HTTPS. */
  readyPort?: number;
}

/**
 * A harness for one test file: started before its tests and stopped after them (every process
 * by pid, also when a test fails). Call it at the top level of the file.
 */
export function kubeletHarnessForFile(...args: ConstructorParameters<typeof KubeletHarness>): KubeletHarness {
  const h = new KubeletHarness(...args);
  beforeAll(async () => {
    await h.start();
  }, 60_000);
  afterAll(async () => {
    await h.stop();
  }, 30_000);
  return h;
}

export class KubeletHarness {
  readonly cluster: E2eCluster;
  client!: ApiClient;
  kubectl!: Kubectl;
  readonly kubelets = new Map<string, Proc>();

  constructor(
    private readonly subnets: { etcd: string; api: string; scheduler: string },
    readonly nodes: NodeDef[],
    /** First three octets of node IPs and first two of pod CIDRs (a test file's own subnets). */
    readonly net = { nodes: "127.1.70", pods: "127.246" },
    /** More apiserver flags (e.g. --kubelet-client-certificate). */
    apiserverArgs: string[] = [],
  ) {
    for (const f of [KUBELET_MAIN, SCHEDULER_MAIN, MANAGER_MAIN]) if (!existsSync(f)) throw new Error(`${f} is missing: run "npx tsc -b" before these tests`);
    this.cluster = new E2eCluster(subnets.etcd, subnets.api, 1, { serviceAccountAdmission: true, apiserverArgs });
  }

  async start(): Promise<void> {
    await this.cluster.start();
    const urls = this.cluster.apiservers.map((a) => a.url).join(",");
    this.client = new ApiClient({ name: "e2e", endpoints: this.cluster.apiservers.map((a) => `${a.url.replace(/^http/, "ws")}/kubemu/wire`) });
    this.kubectl = new Kubectl(await this.cluster.kubeconfig(0), `${this.cluster.root}/kubectl-cache`);
    const ip = `${this.subnets.scheduler}.1`;
    this.cluster.spawn("scheduler-0", [SCHEDULER_MAIN, "--name", "scheduler-0", "--bind-address", ip, "--port", "10259", "--apiserver-urls", urls, "--leader-elect", "false", "--log-level", "warn"]);
    // Pods get the ServiceAccount admission's kube-api-access volume: a controller-manager makes
    // each namespace's `default` account and kube-root-ca.crt, as in a real cluster. It is not
    // leader-elected and has its own name and port, so a test may run a controller-manager of its
    // own (other controllers, 10257) beside it.
    const manager = `http://${ip}:10258`;
    this.cluster.spawn("controller-manager-serviceaccounts", [
      MANAGER_MAIN, "--name", "controller-manager-serviceaccounts", "--bind-address", ip, "--port", "10258", "--leader-elect", "false", "--apiserver-urls", urls, "--profile", "fast", "--log-level", "warn",
      "--controllers", "serviceaccount-controller,root-ca-certificate-publisher-controller", "--root-ca-file", await this.cluster.writeRootCa(),
    ]);
    for (const n of this.nodes) this.startKubelet(n.name);
    await Promise.all([
      this.cluster.waitReady(`http://${ip}:10259`),
      this.cluster.waitReady(manager),
      ...this.nodes.map((n) => this.cluster.waitReady(`http://${this.net.nodes}.${n.n}:${n.readyPort ?? 10250}`)),
    ]);
    await eventually(
      async () => (await this.client.get(Resources.serviceAccounts, "default", "default").then(() => this.client.get(Resources.configMaps, "default", "kube-root-ca.crt")).then(() => true, () => false)),
      (ok) => ok,
      "the default ServiceAccount and kube-root-ca.crt in default",
    );
  }

  startKubelet(name: string): Proc {
    const n = this.nodes.find((x) => x.name === name)!;
    const proc = this.cluster.spawn(`kubelet-${name}`, [
      KUBELET_MAIN, "--name", `kubelet-${name}`, "--node-name", name, "--node-ip", `${this.net.nodes}.${n.n}`, "--pod-cidr", `${this.net.pods}.${n.n}.0/24`,
      "--apiserver-urls", this.cluster.apiservers.map((a) => a.url).join(","), "--state-dir", this.cluster.root, "--profile", "fast", "--log-level", "info",
      "--capacity-cpu", "4", "--capacity-memory", "8Gi",
      ...(n.labels ? ["--node-labels", n.labels] : []),
      ...(n.args ?? []),
    ]);
    this.kubelets.set(name, proc);
    return proc;
  }

  async killKubelet(name: string): Promise<void> {
    await this.cluster.kill(`kubelet-${name}`);
  }

  /** The node's directory (<state>/nodes/<node>). */
  nodeDir(name: string): string {
    return join(this.cluster.root, "nodes", name);
  }

  /** The CRI log lines' content of a container's restart N, or "" if none yet. */
  log(node: string, ns: string, pod: string, container: string, restart = 0): string {
    const dir = join(this.nodeDir(node), "pods");
    const podDir = existsSync(dir) ? readdirSync(dir).find((d) => d.startsWith(`${ns}_${pod}_`)) : undefined;
    if (!podDir) return "";
    const file = join(dir, podDir, container, `${restart}.log`);
    if (!existsSync(file)) return "";
    return readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" ").slice(3).join(" "))
      .join("\n");
  }

  output(name: string): string {
    return this.cluster.procs.filter((p) => p.name === name).map((p) => p.output.join("")).join("\n---\n");
  }

  async stop(): Promise<void> {
    await this.client?.close().catch(() => undefined);
    await this.cluster.stop();
  }
}

/** Host pids whose command line mentions s (container processes carry their pod's uid in their bwrap arguments). */
export function pidsMentioning(s: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", s], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map(Number)
      .filter((p) => p !== process.pid);
  } catch {
    return [];
  }
}

export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)?.slice(0, 1500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
