/**
 * registry.k8s.io/ingress-nginx/controller: `/nginx-ingress-controller` with ingress-nginx's
 * flags (--election-id, --controller-class, --ingress-class, --watch-ingress-without-class,
 * --configmap, --publish-status-address, --report-node-internal-ip-address, --update-status,
 * --status-update-interval, --http-port, --https-port, --healthz-port, --apiserver-host,
 * --kubeconfig, --disable-leader-election, --election-ttl, --disable-sync-events,
 * --sync-rate-limit; the others
 * minikube passes are accepted and have no effect here). HTTP and HTTPS on $POD_IP, /healthz on
 * $POD_IP:10254; the routing is ../ingress-nginx/.
 *
 * hostPort: kubemu's kubelet does not forward host ports, so the controller binds the hostPorts
 * its own pod declares for the HTTP and HTTPS container ports on the node's IP
 * (status.hostIP) itself; `curl http://<node IP>/` then reaches it as on minikube.
 */
import { createServer } from "node:http";
import type { Server } from "node:net";
import { inClusterConfig, kubeconfigConfig, type ClientConfig } from "../local-path/api.js";
import { ContextCache, fakeCertificate } from "../ingress-nginx/certificates.js";
import { IngressController } from "../ingress-nginx/controller.js";
import { stderrKlog as klog, structured } from "../ingress-nginx/klog.js";
import { KubeClient } from "../ingress-nginx/kube.js";
import { findServer } from "../ingress-nginx/match.js";
import { DataPlane } from "../ingress-nginx/server.js";
import type { Pod } from "../ingress-nginx/types.js";
import { onStop, podIP } from "./lib.js";

const RELEASE = "v1.15.1";
const NGINX_VERSION = "nginx/1.27.1";

/** Go's flag package: --name=value, --name value, and bare --name for booleans. */
function parseFlags(args: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("-")) continue;
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    if (eq >= 0) m.set(body.slice(0, eq), body.slice(eq + 1));
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith("-") && !BOOL_FLAGS.has(body)) m.set(body, args[++i]!);
    else m.set(body, "true");
  }
  return m;
}
const BOOL_FLAGS = new Set(["watch-ingress-without-class", "report-node-internal-ip-address", "update-status", "disable-leader-election", "disable-sync-events", "enable-ssl-passthrough", "enable-metrics", "version", "profiling", "update-status-on-shutdown", "ingress-class-by-name"]);

const flags = parseFlags(process.argv.slice(2));
const str = (k: string, d: string) => flags.get(k) ?? d;
const bool = (k: string, d: boolean) => (flags.has(k) ? flags.get(k) === "true" : d);
const int = (k: string, d: number) => (flags.has(k) && /^\d+$/.test(flags.get(k)!) ? Number(flags.get(k)) : d);

if (bool("version", false)) {
  process.stdout.write(`-------------------------------------------------------------------------------\nNGINX Ingress controller\n  Release:       ${RELEASE}\n  Repository:    https://github.com/kubernetes/ingress-nginx\n  ${NGINX_VERSION}\n\n-------------------------------------------------------------------------------\n`);
  process.exit(0);
}

function fatal(file: string, msg: string): never {
  klog("F", file, msg);
  process.exit(255);
}

function durationMs(v: string | undefined, d: number): number {
  const m = v ? /^(\d+)(ms|s|m)$/.exec(v) : null;
  if (!m) return d;
  return Number(m[1]) * (m[2] === "ms" ? 1 : m[2] === "s" ? 1000 : 60_000);
}

async function main(): Promise<void> {
  process.stdout.write(`-------------------------------------------------------------------------------\nNGINX Ingress controller\n  Release:       ${RELEASE}\n  Build:         kubemu\n  Repository:    https://github.com/kubernetes/ingress-nginx\n  ${NGINX_VERSION}\n\n-------------------------------------------------------------------------------\n\n`);
  const podName = process.env.POD_NAME;
  const podNamespace = process.env.POD_NAMESPACE;
  let cfg: ClientConfig;
  try {
    const kubeconfig = flags.get("kubeconfig");
    const host = flags.get("apiserver-host");
    cfg = kubeconfig ? { ...kubeconfigConfig(kubeconfig), ...(host ? { server: host } : {}) } : host ? { server: host } : inClusterConfig();
  } catch (e) {
    fatal("main.go:70", `Error while initiating a connection to the Kubernetes API server. This could mean the cluster is misconfigured (e.g. it has invalid API server certificates or Service Accounts configuration). Reason: ${(e as Error).message}`);
  }
  klog("I", "main.go:205", structured("Creating API client", { host: cfg.server }));
  const client = new KubeClient(cfg, `${RELEASE} ingress-nginx`);
  const version = await retry(() => client.get<{ major?: string; minor?: string; gitVersion?: string; platform?: string }>("/version"));
  klog("I", "main.go:248", structured("Running in Kubernetes cluster", { major: version.major ?? "", minor: version.minor ?? "", git: version.gitVersion ?? "", state: "clean", platform: version.platform ?? "linux/amd64" }));
  if (!podName || !podNamespace) fatal("main.go:112", "unexpected error obtaining pod information: unable to get POD information (missing POD_NAME or POD_NAMESPACE environment variable");
  const pod = await retry(() => client.get<Pod>(`/api/v1/namespaces/${podNamespace}/pods/${podName}`));

  const fake = await fakeCertificate();
  klog("I", "ssl.go:535", structured("SSL fake certificate created", { file: "/etc/ingress-controller/ssl/default-fake-certificate.pem" }));
  const contexts = new ContextCache(fake);
  const plane = new DataPlane((line) => process.stdout.write(`${line}\n`), podIP());
  const sni = (name: string) => (plane.table ? contexts.contextFor(findServer(plane.table, name).certificate, (m) => klog("W", "controller.go:1468", m)) : contexts.fallback);

  const httpPort = int("http-port", 80);
  const httpsPort = int("https-port", 443);
  const servers: Server[] = [];
  const bind = (s: Server, ip: string, port: number, what: string) => {
    s.on("error", (e: NodeJS.ErrnoException) => klog("E", "nginx.go:316", `${what}: listen ${ip}:${port}: ${e.code === "EADDRINUSE" ? "bind: address already in use" : e.message}`));
    s.listen(port, ip);
    servers.push(s);
  };
  const ip = podIP();
  bind(plane.httpServer(), ip, httpPort, "http");
  bind(plane.httpsServer(fake, sni), ip, httpsPort, "https");

  const controller = new IngressController({
    client,
    plane,
    klog,
    pod,
    ingressClass: str("ingress-class", "nginx"),
    controllerClass: str("controller-class", "k8s.io/ingress-nginx"),
    watchWithoutClass: bool("watch-ingress-without-class", false),
    electionId: str("election-id", "ingress-controller-leader"),
    electionTTLms: durationMs(flags.get("election-ttl"), 30_000),
    disableLeaderElection: bool("disable-leader-election", false),
    updateStatus: bool("update-status", true),
    statusUpdateIntervalMs: Math.max(int("status-update-interval", 60), 5) * 1000,
    publishStatusAddress: str("publish-status-address", ""),
    useNodeInternalIP: bool("report-node-internal-ip-address", false),
    configMap: str("configmap", ""),
    disableSyncEvents: bool("disable-sync-events", false),
    syncRateLimit: Number(flags.get("sync-rate-limit")) > 0 ? Number(flags.get("sync-rate-limit")) : 0.3,
  });
  const stop = new AbortController();
  klog("I", "nginx.go:273", structured("Starting NGINX Ingress controller"));
  void controller.run(stop.signal);

  const healthz = createServer((req, res) => {
    const ok = req.url?.split("?")[0] === str("health-check-path", "/healthz") && plane.table !== undefined;
    res.writeHead(ok ? 200 : 500, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(ok ? "ok" : "not ready");
  });
  bind(healthz, ip, int("healthz-port", 10254), "healthz");
  void bindHostPorts(client, pod, ip, [
    [httpPort, () => plane.httpServer()],
    [httpsPort, () => plane.httpsServer(fake, sni)],
  ], bind);

  onStop((sig) => {
    klog("I", "main.go:193", structured(`Received ${sig}, shutting down`));
    stop.abort();
    klog("I", "nginx.go:394", structured("Shutting down controller queues"));
    for (const s of servers) {
      s.close();
      if ("closeAllConnections" in s && typeof s.closeAllConnections === "function") s.closeAllConnections();
    }
    klog("I", "nginx.go:422", structured("NGINX process has stopped"));
    klog("I", "main.go:201", structured("Exiting", { code: "0" }));
    process.exit(0);
  });
}

/** The pod's hostPorts for our container ports, on the node's IP once the pod's status has it. */
async function bindHostPorts(client: KubeClient, pod: Pod, podIp: string, ports: [number, () => Server][], bind: (s: Server, ip: string, port: number, what: string) => void): Promise<void> {
  const wanted = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []).filter((p) => p.hostPort && ports.some(([cp]) => cp === p.containerPort));
  if (wanted.length === 0) return;
  let hostIP = pod.status?.hostIP;
  while (!hostIP) {
    await new Promise((r) => setTimeout(r, 1000));
    hostIP = (await client.get<Pod>(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`).catch(() => pod)).status?.hostIP;
  }
  if (hostIP === podIp) return;
  for (const p of wanted) bind(ports.find(([cp]) => cp === p.containerPort)![1](), hostIP, p.hostPort!, `hostPort ${p.hostPort}`);
}

async function retry<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i > 0 && i % 10 === 0) klog("W", "main.go:230", `${(e as Error).message}; retrying`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

void main();
