/**
 * The kubemu-kube-proxy process: informers on Services and EndpointSlices (without
 * service.kubernetes.io/service-proxy-name or service.kubernetes.io/headless, as upstream's
 * selector) and on Nodes; the sync loop; the listeners; healthz on :10256 (also the control
 * URL) and metrics on :10249. Nothing is leader-elected: every node runs one, and the
 * ClusterIPs they all want are held by whichever bound first.
 */
import { setMaxListeners } from "node:events";
import { ApiClient, EventRecorder, FaultInjector, InformerFactory, Resources, randomRng, realClock, type KubeObject, type Logger, type ProcessStatus } from "@kubemu/common";
import type { KubeProxyConfig } from "./config.js";
import { ListenerManager } from "./dataplane/listeners.js";
import { KubeletTunnels } from "./dataplane/kubelet-tunnel.js";
import { RouteTable } from "./dataplane/routes.js";
import { ProxyStats } from "./dataplane/stats.js";
import { SERVICE_NAME_LABEL } from "./model/endpoints.js";
import { PROXY_LABEL_SELECTOR } from "./model/service-ports.js";
import { Proxier, SLICE_SERVICE_INDEX } from "./proxier.js";
import { ProxierHealth } from "./server/health.js";
import { startHttpServer, type RunningHttpServer } from "./server/http.js";
import { newKubeProxyMetrics } from "./server/metrics.js";
import { ServiceHealthServers } from "./server/service-health.js";

/** Failed (not merely held elsewhere) listeners are retried this often. */
const FAILED_RETRY_MS = 5000;
/** Affinity entries that timed out are swept this often. */
const AFFINITY_SWEEP_MS = 60_000;

export interface RunningKubeProxy {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startKubeProxy(cfg: KubeProxyConfig, log: Logger): Promise<RunningKubeProxy> {
  const clock = realClock;
  const startMono = clock.monotonic();
  const { rng, seed } = randomRng();
  log.info({ node: cfg.nodeName, nodeIP: cfg.nodeIp, seed, apiservers: cfg.apiserverEndpoints, crossNodeViaKubelet: cfg.crossNodeViaKubelet }, "starting kube-proxy (userspace)");
  const faults = new FaultInjector({ rng: rng.fork() });
  const client = new ApiClient({ name: cfg.name, endpoints: cfg.apiserverEndpoints, ...(cfg.tls ? { tls: cfg.tls } : {}), fieldManager: "kube-proxy", clock, rng: rng.fork(), logger: log, faults });
  const factory = new InformerFactory(client, { clock, rng: rng.fork(), logger: log });
  const services = factory.informerFor<KubeObject>(Resources.services, { labelSelector: PROXY_LABEL_SELECTOR });
  const slices = factory.informerFor<KubeObject>(Resources.endpointSlices, { labelSelector: PROXY_LABEL_SELECTOR }, {
    [SLICE_SERVICE_INDEX]: (s) => {
      const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
      return svc && s.metadata?.namespace ? [`${s.metadata.namespace}/${svc}`] : [];
    },
  });
  const nodes = factory.informerFor<KubeObject>(Resources.nodes);
  const recorder = new EventRecorder({ client, component: "kube-proxy", host: cfg.nodeName, reportingInstance: cfg.nodeName, clock, logger: log });
  const metrics = newKubeProxyMetrics();
  const stats = new ProxyStats(metrics.registry);
  // Upstream answers unhealthy once an update has waited two sync periods.
  const health = new ProxierHealth(clock, 2 * cfg.syncPeriodMs, startMono);
  const routes = new RouteTable({ self: { nodeName: cfg.nodeName, zone: "" }, clock, rng: rng.fork(), crossNodeViaKubelet: cfg.crossNodeViaKubelet });
  // The proxier is made below; bind failures are reported through it.
  const proxierRef: { current?: Proxier } = {};
  const listeners = new ListenerManager({
    routes,
    nodeIp: cfg.nodeIp,
    stats,
    clock,
    rng: rng.fork(),
    log,
    bindRetryMs: cfg.bindRetryMs,
    failedRetryMs: FAILED_RETRY_MS,
    udpIdleTimeoutMs: cfg.udpTimeoutMs,
    // The kubelet authorizes kube-proxy's own client certificate (nodes/proxy) for the tunnel.
    ...(cfg.crossNodeViaKubelet ? { tunnels: new KubeletTunnels(cfg.tls?.cert ? cfg.tls : undefined) } : {}),
    onBindFailure: (spec, text) => proxierRef.current?.reportBindFailure(spec, text),
  });
  const serviceHealth = new ServiceHealthServers({ nodeName: cfg.nodeName, nodeIp: cfg.nodeIp, proxyHealthy: () => health.isHealthy(), serviceOf: (ns, name) => services.lister.get(ns, name), recorder, log });
  const p = new Proxier({ nodeName: cfg.nodeName, nodeIp: cfg.nodeIp, services: services.lister, slices: slices.lister, nodes: nodes.lister, routes, listeners, health, metrics, recorder, serviceHealth, clock, log, minSyncPeriodMs: cfg.minSyncPeriodMs });
  proxierRef.current = p;
  const changed = <T extends KubeObject>(on: (obj: T | undefined) => void) => ({
    onAdd: (obj: T) => on(obj),
    onUpdate: (old: T, obj: T) => {
      if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) on(obj);
    },
    onDelete: () => on(undefined),
  });
  services.addEventHandler(changed(() => p.onServiceChange()));
  slices.addEventHandler(changed((s) => p.onSliceChange(s)));
  nodes.addEventHandler(changed(() => p.onNodeChange()));

  const stopping = new AbortController();
  setMaxListeners(50, stopping.signal);
  const status = (): ProcessStatus => {
    const ls = listeners.status();
    const ids = (state: string) => ls.filter((l) => l.state === state).map((l) => l.id);
    return {
      name: cfg.name,
      pid: process.pid,
      role: "proxy",
      node: cfg.nodeName,
      nodeIP: cfg.nodeIp,
      ready: factory.hasSynced(),
      ...p.summary(),
      bound: ids("bound"),
      waiting: ids("waiting"),
      failed: ls.filter((l) => l.state === "failed").map((l) => ({ id: l.id, service: l.service, error: l.error })),
      connections: stats.activeConnections,
      udpSessions: listeners.udpSessions,
      affinityEntries: routes.affinity.size,
    };
  };
  const servers: RunningHttpServer[] = [];
  servers.push(
    await startHttpServer({
      host: cfg.healthz.host,
      port: cfg.healthz.port,
      log,
      registry: metrics.registry,
      health: { healthz: () => health.healthz(), livez: () => health.livez(), onAnswer: (path, code) => (path === "healthz" ? metrics.healthzTotal : metrics.livezTotal).inc({ code: String(code) }) },
      control: { faults, status },
    }),
  );
  if (cfg.metrics) servers.push(await startHttpServer({ host: cfg.metrics.host, port: cfg.metrics.port, log, registry: metrics.registry }));

  factory.start(stopping.signal);
  let periodic: { cancel(): void } | undefined;
  let sweeper: { cancel(): void } | undefined;
  void factory.waitForCacheSync(stopping.signal).then((ok) => {
    if (!ok || stopping.signal.aborted) return;
    log.info({ services: services.lister.size(), endpointSlices: slices.lister.size(), nodes: nodes.lister.size() }, "caches synced; proxying");
    p.sync();
    periodic = clock.setInterval(() => p.requestSync(false), cfg.syncPeriodMs);
    sweeper = clock.setInterval(() => routes.sweepAffinity(), AFFINITY_SWEEP_MS);
    // Upstream's "Starting" event on the node at start.
    recorder.event({ apiVersion: "v1", kind: "Node", metadata: { name: cfg.nodeName, uid: cfg.nodeName } }, "Normal", "Starting", "");
  });

  return {
    url: servers[0]!.url,
    async stop() {
      stopping.abort();
      p.stop();
      periodic?.cancel();
      sweeper?.cancel();
      listeners.close();
      serviceHealth.close();
      recorder.stop();
      await Promise.race([recorder.flush(), clock.sleep(500)]);
      await Promise.all(servers.map((s) => s.close()));
      await client.close();
    },
  };
}
