/**
 * The control plane the apiserver benchmark drives, as real processes on one private loopback
 * subnet: 3 kubemu-etcd members (.1–.3), 2 kubemu-apiservers (.11, .12) and apiserver-lb (.20),
 * temp data dirs, plain HTTP — or, with `tls`, HTTPS API servers with a CA of this run that signs
 * their serving certificate and the clients' certificates (`issueClient`), a shared service
 * account signing key, and the balancer passing TLS through. Every child goes through procs.ts,
 * so it is killed by pid on exit, error or SIGINT.
 */
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCertificateAuthority, issueCertificate, type KeyPair } from "@kubemu/common";
import { freePortBlock } from "./net.js";
import { makeTempDir, removeTempDir, sleep, spawnChild, stopChild, type Child } from "./procs.js";

const bin = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));
const etcdJs = bin("packages/etcd-raft/dist/server/main.js");
const apiserverJs = bin("packages/apiserver/dist/main.js");
const lbJs = bin("packages/cli/dist/apiserver-lb/main.js");

export interface ApiClusterOptions {
  /** e.g. "127.0.170": etcd on .1–.3, apiservers on .11/.12, the balancer on .20. */
  subnet: string;
  profile: "fast" | "realistic";
  /** Extra node flags per process name (etcd-0…2, apiserver-0/1, apiserver-lb), e.g. --cpu-prof. */
  nodeFlags?: (name: string) => string[];
  /** Run the ServiceAccount admission plugin (only with a controller-manager making the `default` accounts). */
  serviceAccountAdmission?: boolean;
  /** HTTPS with client certificates (authentication, then Node,RBAC authorization) instead of plain HTTP. */
  tls?: boolean;
}

/** A running cluster; `url` is the load balancer's base URL (http://ip:port, https:// with tls). */
export class ApiCluster {
  readonly root = makeTempDir("kubemu-apibench-");
  private readonly children: Child[] = [];
  url = "";
  /** Base URLs of the API servers themselves (for /metrics). */
  apiservers: string[] = [];
  /** Control URLs of the etcd members (for /metrics and /kubemu/status), by member index. */
  etcdControls: string[] = [];
  /** With tls: the CA (PEM) that signs the serving and client certificates. */
  ca: KeyPair | undefined;

  constructor(private readonly o: ApiClusterOptions) {
    for (const f of [etcdJs, apiserverJs, lbJs]) if (!existsSync(f)) throw new Error(`${f} is missing: run "npx tsc -b" first`);
  }

  /** Starts everything and resolves once the balancer answers /readyz 200 from both API servers. */
  async start(): Promise<void> {
    const s = this.o.subnet;
    const etcdIps = [1, 2, 3].map((i) => `${s}.${i}`);
    const apiIps = [`${s}.11`, `${s}.12`];
    const lbIp = `${s}.20`;
    // One block of 3 ports free on every IP: etcd client/peer/control, apiserver port, lb port/control.
    const port = await freePortBlock([...etcdIps, ...apiIps, lbIp], 3);
    this.etcdControls = etcdIps.map((ip) => `http://${ip}:${port + 2}`);
    const initialCluster = etcdIps.map((ip, i) => `etcd-${i}=ws://${ip}:${port + 1}`).join(",");
    etcdIps.forEach((ip, i) => {
      const name = `etcd-${i}`;
      const dataDir = join(this.root, name);
      mkdirSync(dataDir, { recursive: true });
      this.spawn(name, [
        etcdJs, "--name", name, "--data-dir", dataDir,
        "--listen-client-urls", `ws://${ip}:${port}`, "--listen-peer-urls", `ws://${ip}:${port + 1}`,
        "--control-url", `http://${ip}:${port + 2}`, "--initial-cluster", initialCluster,
        "--profile", this.o.profile, "--log-level", "warn",
      ]);
    });
    const etcdServers = etcdIps.map((ip) => `ws://${ip}:${port}`).join(",");
    const scheme = this.o.tls ? "https" : "http";
    const tlsFlags = this.o.tls ? await this.serverPki([...apiIps, lbIp]) : { apiserver: [], lb: [] };
    this.apiservers = apiIps.map((ip) => `${scheme}://${ip}:${port}`);
    apiIps.forEach((ip, i) => {
      this.spawn(`apiserver-${i}`, [
        apiserverJs, "--name", `apiserver-${i}`, "--bind-address", ip, "--port", String(port),
        "--etcd-servers", etcdServers, "--profile", this.o.profile, "--log-level", "warn",
        // Nothing else of a cluster runs here; do not probe the default component addresses.
        "--component-status", "",
        ...(this.o.serviceAccountAdmission ? [] : ["--disable-admission-plugins", "ServiceAccount"]),
        ...tlsFlags.apiserver,
      ]);
    });
    const backends = apiIps.map((ip, i) => `apiserver-${i}=${this.apiservers[i]}`).join(",");
    this.spawn("apiserver-lb", [
      lbJs, "--name", "apiserver-lb", "--bind-address", lbIp, "--port", String(port),
      "--control-url", `http://${lbIp}:${port + 1}`, "--backends", backends, "--profile", this.o.profile, "--log-level", "warn",
      ...tlsFlags.lb,
    ]);
    this.url = `${scheme}://${lbIp}:${port}`;
    await this.waitReady([...this.apiservers, this.url], 60_000);
  }

  /** A client certificate of this run's CA: CN is the user, O its groups. */
  issueClient(commonName: string, organizations: string[] = []): Promise<KeyPair> {
    if (!this.ca) throw new Error("issueClient needs a cluster started with tls");
    return issueCertificate(this.ca, { commonName, organizations, use: { kind: "client" }, validDays: 1 }, new Date());
  }

  /** The CA, the API servers' serving certificate (every server and balancer IP) and the service account key, as files and flags. */
  private async serverPki(ips: string[]): Promise<{ apiserver: string[]; lb: string[] }> {
    const now = new Date();
    this.ca = await createCertificateAuthority("kubemu-bench-ca", now, 1);
    const serving = await issueCertificate(this.ca, { commonName: "kube-apiserver", use: { kind: "server", dnsNames: ["localhost"], ips }, validDays: 1 }, now);
    const file = (name: string, text: string) => {
      const path = join(this.root, name);
      writeFileSync(path, text, { mode: 0o600 });
      return path;
    };
    const ca = file("ca.crt", this.ca.cert);
    const saKey = file("sa.key", generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string);
    return {
      apiserver: [
        "--tls-cert-file", file("apiserver.crt", serving.cert), "--tls-private-key-file", file("apiserver.key", serving.key), "--client-ca-file", ca,
        // Both servers sign and verify service account tokens with one key, as `up` sets them.
        "--service-account-signing-key-file", saKey,
      ],
      lb: ["--backend-ca-file", ca],
    };
  }

  private spawn(name: string, args: string[]): void {
    const flags = this.o.nodeFlags?.(name) ?? [];
    this.children.push(spawnChild(name, process.execPath, [...flags, ...args], join(this.root, `${name}.out`)));
  }

  private async waitReady(urls: string[], timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (const u of urls) {
      let last = "";
      for (;;) {
        const dead = this.children.find((c) => c.proc.exitCode !== null || c.proc.signalCode !== null);
        if (dead) throw new Error(`${dead.name} exited during startup (log: ${join(this.root, `${dead.name}.out`)})`);
        try {
          const status = await this.readyz(u);
          if (status === 200) break;
          last = `/readyz ${status}`;
        } catch (e) {
          last = e instanceof Error ? e.message : String(e);
        }
        if (performance.now() > deadline) throw new Error(`${u} not ready within ${timeoutMs} ms (${last})`);
        await sleep(100);
      }
    }
  }

  /** The status of GET <u>/readyz (public: no credential needed, only the CA over https). */
  private async readyz(u: string): Promise<number> {
    if (!u.startsWith("https:")) {
      const res = await fetch(`${u}/readyz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return res.status;
    }
    return new Promise((resolve, reject) => {
      const req = httpsGet(`${u}/readyz`, { ca: this.ca!.cert, timeout: 1000 }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", reject);
    });
  }

  /** SIGTERM every process (balancer first), SIGKILL after 5 s, then removes the data dirs. */
  async stop(): Promise<void> {
    for (const c of [...this.children].reverse()) await stopChild(c, "SIGTERM", 5000);
    removeTempDir(this.root);
  }
}
