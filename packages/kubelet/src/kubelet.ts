/**
 * The kubemu-kubelet process: registers the node and keeps its status and Lease fresh
 * (node/node-agent.ts), watches the pods bound to it (fieldSelector spec.nodeName) and runs one
 * pod worker per pod (pod/worker.ts) with the sandboxed runtime, the image catalog and the
 * volume plugins; serves /healthz, /metrics and /kubemu/* on the node's IP.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { setMaxListeners } from "node:events";
import type { ConfigMap, PersistentVolume, PersistentVolumeClaim, Pod, Secret, Service } from "kubernetes-types/core/v1.js";
import type { KubeObject, Logger, ProcessStatus } from "@kubemu/common";
import { ApiClient, deletedObject, EventRecorder, FaultInjector, InformerFactory, isConflict, isNotFound, parseQuantity, quantityMilliValue, quantityValue, randomRng, realClock, Resources, startComponentServer } from "@kubemu/common";
import { ImageCatalog } from "@kubemu/images";
import type { KubeletConfig } from "./config.js";
import { fsStats, memoryAvailableBytes, readHostInfo } from "./node/host-info.js";
import { NodeAgent } from "./node/node-agent.js";
import { Backoff } from "./pod/backoff.js";
import { Ipam } from "./pod/ipam.js";
import { PodWorker, type PodWorkerDeps } from "./pod/worker.js";
import { podReferenceNames, type SourceKind } from "./pod/references.js";
import { ObjectManager } from "./objects/object-manager.js";
import { pollFeed, watchFeed } from "./objects/feeds.js";
import type { SandboxKind } from "./runtime/container.js";
import { NodeCgroups } from "./runtime/cgroups.js";
import { busyboxDir, findOnPath } from "./runtime/executables.js";
import { ImageManager } from "./runtime/image-manager.js";
import { hostFs } from "./runtime/sandbox.js";
import { nodeUsage, resourceMetrics } from "./runtime/usage.js";
import { containerKey, NODE_KEY, SAMPLE_INTERVAL_MS, summary, UsageSampler } from "./runtime/stats.js";
import { nowNanos } from "./runtime/cri-log.js";
import { serveContainerLogs } from "./streaming/container-logs.js";
import { execUpgradeHandler } from "./streaming/exec.js";
import { portForwardUpgradeHandler } from "./streaming/port-forward.js";
import { attachUpgradeHandler } from "./streaming/attach.js";
import { kubeletGuard } from "./streaming/authn.js";
import { SarAuthorizer } from "./streaming/sar-authorizer.js";
import { httpSubjectAccessReviewer } from "./streaming/sar-client.js";

export interface RunningKubelet {
  stop(): Promise<void>;
  readonly url: string;
}

/** Eviction thresholds upstream uses by default: memory.available<100Mi, nodefs.available<10%. */
const MEMORY_PRESSURE_BYTES = 100 * 1024 * 1024;
const DISK_PRESSURE_FRACTION = 0.1;
/** How often a claim or volume a pod uses is read again (they are only gettable by name, as upstream's volume manager reads them). */
const VOLUME_POLL_MS = 2_000;
/** How long a new pod waits for the first read of its secrets, configMaps and claims before it starts anyway. */
const SOURCE_SYNC_WAIT_MS = 10_000;

/** How long another node's subtree must be empty and unchanged before a starting kubelet removes it as abandoned. */
const ABANDONED_CGROUP_IDLE_MS = 10 * 60_000;

/** Whether bwrap can make a sandbox here; the kind of runtime to use and why. */
export function detectSandbox(mode: KubeletConfig["sandbox"]): { sandbox: SandboxKind; note: string } {
  const plain: SandboxKind = { kind: "none", setpriv: findOnPath("setpriv", process.env.PATH ?? "") !== undefined };
  if (mode === "none") return { sandbox: plain, note: "--sandbox=none: containers run as plain child processes" };
  const attempt = (extra: string[]) => spawnSync("bwrap", ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--as-pid-1", "--unshare-uts", ...extra, "--die-with-parent", "--", "true"], { encoding: "utf8", timeout: 10_000 });
  let r = attempt([]);
  if (r.status === 0) return { sandbox: { kind: "bwrap", unshareUser: false }, note: "containers run in bubblewrap sandboxes" };
  const first = (r.error?.message ?? r.stderr ?? "").trim();
  r = attempt(["--unshare-user"]);
  if (r.status === 0) return { sandbox: { kind: "bwrap", unshareUser: true }, note: "containers run in bubblewrap sandboxes (with a user namespace)" };
  const why = first || (r.error?.message ?? r.stderr ?? "").trim() || `exit ${r.status}`;
  if (mode === "bwrap") throw new Error(`--sandbox=bwrap: bubblewrap cannot run here: ${why}`);
  return {
    sandbox: plain,
    note: `bubblewrap cannot run here (${why}): containers run as plain child processes — no own root, hostname, /etc/hosts, /etc/resolv.conf or PID namespace, and volumes are not at their mountPath`,
  };
}

export async function startKubelet(cfg: KubeletConfig, log: Logger): Promise<RunningKubelet> {
  const clock = realClock;
  const { rng, seed } = randomRng();
  const { sandbox, note } = detectSandbox(cfg.sandbox);
  log.info({ node: cfg.nodeName, nodeIp: cfg.nodeIp, podCidr: cfg.podCidr, seed, apiservers: cfg.apiserverEndpoints, rootDir: cfg.rootDir }, "starting kubelet");
  if (sandbox.kind === "none") log.warn(note);
  else log.info(note);
  const root = cfg.rootDir;
  const podsDir = join(root, "kubelet", "pods");
  const logsDir = join(root, "pods");
  const nodeRoot = join(root, "root");
  for (const d of [podsDir, logsDir, nodeRoot]) mkdirSync(d, { recursive: true });
  // One cgroup per container where the kernel lets us; a previous run's leftovers (a killed kubelet's) swept first.
  const { cgroups, note: cgroupNote } = NodeCgroups.detect(cfg.nodeName, root, log);
  if (cgroups) {
    const stale = await cgroups.sweep();
    const abandoned = await cgroups.sweepAbandoned(ABANDONED_CGROUP_IDLE_MS);
    log.info({ parent: cgroups.parent, version: cgroups.version, staleRemoved: stale, abandonedRemoved: abandoned }, cgroupNote);
  } else log.warn(cgroupNote);

  const faults = new FaultInjector({ rng: rng.fork() });
  const client = new ApiClient({ name: cfg.name, endpoints: cfg.apiserverEndpoints, ...(cfg.tls ? { tls: cfg.tls } : {}), fieldManager: "kubelet", clock, rng: rng.fork(), logger: log, faults });
  const factory = new InformerFactory(client, { clock, rng: rng.fork(), logger: log });
  const pods = factory.informerFor<Pod & KubeObject>(Resources.pods, { fieldSelector: `spec.nodeName=${cfg.nodeName}` });
  const self = factory.informerFor(Resources.nodes, { fieldSelector: `metadata.name=${cfg.nodeName}` });
  const services = factory.informerFor<Service & KubeObject>(Resources.services);
  const recorder = new EventRecorder({ client, component: "kubelet", host: cfg.nodeName, reportingInstance: cfg.nodeName, clock, logger: log });
  const stopping = new AbortController();
  setMaxListeners(100, stopping.signal);

  const host = readHostInfo();
  const ephemeral = cfg.capacity.ephemeralStorage ?? `${Math.floor((fsStats(root)?.capacityBytes ?? 100 * 2 ** 30) / 1024)}Ki`;
  const capacity = { cpu: cfg.capacity.cpu, memory: cfg.capacity.memory, ephemeralStorage: ephemeral, pods: cfg.capacity.pods };
  const allocatable = { cpu: capacity.cpu, memory: capacity.memory, "ephemeral-storage": ephemeral, pods: capacity.pods };
  const catalogFile = cfg.imagesFile;
  let catalog: ImageCatalog;
  try {
    catalog = ImageCatalog.withUserFile(catalogFile);
  } catch (e) {
    log.error({ err: String(e) }, "user image catalog ignored");
    catalog = ImageCatalog.withUserFile(undefined);
  }
  const images = new ImageManager({
    catalog: () => catalog,
    clock,
    rng: rng.fork(),
    pullMinMs: cfg.timing.imagePullMinMs,
    pullMaxMs: cfg.timing.imagePullMaxMs,
    backoff: new Backoff(cfg.timing.crashLoopBackoffBaseMs, cfg.timing.crashLoopBackoffCapMs),
    stateFile: join(root, "images.json"),
    hostPath: process.env.PATH ?? "",
  });
  const ipam = new Ipam(cfg.podCidr ?? `127.244.${Number(cfg.nodeIp.split(".")[3])}.0/24`, join(root, "ipam.json"));

  const agent = new NodeAgent({
    client,
    recorder,
    nodeInformer: self,
    identity: { nodeName: cfg.nodeName, nodeIp: cfg.nodeIp, podCidr: cfg.podCidr, extraLabels: cfg.nodeLabels, kubeletPort: cfg.port },
    host,
    capacity: () => capacity,
    observe: () => {
      const fs = fsStats(root);
      return {
        memoryPressure: memoryAvailableBytes() < MEMORY_PRESSURE_BYTES,
        diskPressure: fs ? fs.availableBytes < fs.capacityBytes * DISK_PRESSURE_FRACTION : false,
        pidPressure: false,
        notReady: undefined,
      };
    },
    images: () => images.images(),
    clock,
    logger: log,
    leaseRenewMs: cfg.timing.nodeLeaseRenewMs,
    leaseDurationSeconds: Math.max(1, Math.round(cfg.timing.nodeMonitorGraceMs / 1000)),
    statusUpdateMs: cfg.timing.nodeStatusUpdateMs,
    statusReportMs: cfg.timing.nodeStatusReportMs,
  });

  const apiHttpBases = cfg.apiserverEndpoints.map((e) => e.replace(/^ws/, "http").replace(/\/kubemu\/wire$/, ""));
  const tokenRequest = (pod: Pod, audience: string | undefined, expirationSeconds: number) =>
    requestToken(apiHttpBases, cfg.tls, pod, audience, expirationSeconds);

  let hostResolv = "";
  try {
    hostResolv = readFileSync("/etc/resolv.conf", "utf8");
  } catch {
    hostResolv = "";
  }
  const workers = new Map<string, PodWorker>();
  // A configMap, secret or claim that appears or changes wakes the pods using it (a pod waiting on
  // a missing one starts at once); services reach env at the next container start.
  const wake = (kind: SourceKind, namespace: string, name: string) => workers.forEach((w) => w.sourceChanged(kind, namespace, name));
  const feedOpts = { clock, rng: rng.fork(), logger: log };
  const secrets = new ObjectManager(watchFeed<Secret & KubeObject>(client, Resources.secrets, feedOpts), (r) => wake("secret", r.namespace ?? "", r.name));
  const configMaps = new ObjectManager(watchFeed<ConfigMap & KubeObject>(client, Resources.configMaps, feedOpts), (r) => wake("configmap", r.namespace ?? "", r.name));
  const pvs = new ObjectManager(pollFeed<PersistentVolume & KubeObject>(client, Resources.persistentVolumes, VOLUME_POLL_MS, feedOpts), (r) => {
    for (const holder of pvs.holdersOf(r)) {
      const [ns = "", claim = ""] = holder.split("/");
      wake("pvc", ns, claim);
    }
  });
  // A claim's holder of its volume is the claim itself ("<namespace>/<claim>").
  const pvcs = new ObjectManager(pollFeed<PersistentVolumeClaim & KubeObject>(client, Resources.persistentVolumeClaims, VOLUME_POLL_MS, feedOpts), (r, pvc) => {
    const volume = pvc?.spec?.volumeName;
    pvs.register(`${r.namespace ?? ""}/${r.name}`, volume ? [{ name: volume }] : []);
    wake("pvc", r.namespace ?? "", r.name);
  });
  const podRefs = (pod: Pod, kind: SourceKind) => podReferenceNames(pod, kind).map((name) => ({ namespace: pod.metadata!.namespace!, name }));
  const registerPod = (pod: Pod) => {
    const uid = pod.metadata!.uid!;
    secrets.register(uid, podRefs(pod, "secret"));
    configMaps.register(uid, podRefs(pod, "configmap"));
    pvcs.register(uid, podRefs(pod, "pvc"));
  };
  const unregisterPod = (uid: string) => {
    secrets.unregister(uid);
    configMaps.unregister(uid);
    pvcs.unregister(uid);
  };
  const deps: PodWorkerDeps = {
    nodeName: cfg.nodeName,
    nodeIP: cfg.nodeIp,
    podsDir,
    logsDir,
    nodeRoot,
    hidden: cfg.stateDir ? [cfg.stateDir] : [],
    clock,
    rng: rng.fork(),
    log,
    recorder,
    sandbox,
    cgroups,
    fs: hostFs(),
    nodeBin: process.execPath,
    busyboxDir: busyboxDir(root, process.env.PATH ?? ""),
    images,
    catalog: () => catalog,
    crashBackoff: new Backoff(cfg.timing.crashLoopBackoffBaseMs, cfg.timing.crashLoopBackoffCapMs),
    ipam,
    envSources: {
      configMap: (ns, name) => configMaps.get(ns, name),
      secret: (ns, name) => secrets.get(ns, name),
      services: () => services.lister.list(),
      allocatable,
    },
    volumeSources: {
      configMap: (ns, name) => configMaps.get(ns, name),
      secret: (ns, name) => secrets.get(ns, name),
      pvc: (ns, name) => pvcs.get(ns, name),
      pv: (name) => pvs.get(undefined, name),
      token: tokenRequest,
      allocatable,
    },
    dns: { clusterDns: cfg.clusterDns, clusterDomain: cfg.clusterDomain, hostResolvConf: hostResolv },
    syncFrequencyMs: cfg.timing.syncFrequencyMs,
    postStatus: async (pod, status) => {
      const ns = pod.metadata!.namespace!;
      const name = pod.metadata!.name!;
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await client.patch(Resources.pods, ns, name, "strategic", { metadata: { uid: pod.metadata!.uid }, status }, { subresource: "status" });
          return;
        } catch (e) {
          if (isNotFound(e) || isConflict(e)) return;
          log.warn({ pod: `${ns}/${name}`, err: String(e) }, "Failed to update status for pod");
          await clock.sleep(200 * 2 ** attempt, stopping.signal).catch(() => undefined);
          if (stopping.signal.aborted) return;
        }
      }
    },
    finalDelete: async (pod) => {
      try {
        await client.delete(Resources.pods, pod.metadata!.namespace!, pod.metadata!.name!, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid! } });
      } catch (e) {
        if (!isNotFound(e) && !isConflict(e)) log.warn({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, err: String(e) }, "final delete failed");
      }
    },
    onDone: (uid) => workers.delete(uid),
  };

  // A new pod's worker starts once the objects it uses have been read once (bounded, as
  // upstream's manager Get waits for its reflector), so a pod does not flash "not found" errors
  // for a secret or configMap that exists; updates meanwhile are kept, the latest wins.
  const starting = new Map<string, Pod & KubeObject>();
  const startWorker = async (pod: Pod & KubeObject) => {
    const uid = pod.metadata.uid!;
    const wait = AbortSignal.any([stopping.signal, AbortSignal.timeout(SOURCE_SYNC_WAIT_MS)]);
    const refs = (k: SourceKind) => podRefs(pod, k);
    await Promise.all([secrets.waitForSync(refs("secret"), wait), configMaps.waitForSync(refs("configmap"), wait), pvcs.waitForSync(refs("pvc"), wait)]);
    const latest = starting.get(uid);
    starting.delete(uid);
    if (!latest || stopping.signal.aborted || workers.has(uid)) return;
    const worker = new PodWorker(latest, deps);
    workers.set(uid, worker);
    worker.update(latest);
  };
  const upsert = (pod: Pod & KubeObject) => {
    if (stopping.signal.aborted) return;
    const uid = pod.metadata.uid!;
    registerPod(pod);
    const w = workers.get(uid);
    if (w) w.update(pod);
    else {
      const waiting = starting.has(uid);
      starting.set(uid, pod);
      if (!waiting) void startWorker(pod);
    }
  };
  pods.addEventHandler({
    onAdd: (p) => upsert(p),
    onUpdate: (_o, p) => upsert(p),
    onDelete: (p) => {
      const uid = deletedObject(p).metadata.uid!;
      starting.delete(uid);
      unregisterPod(uid);
      workers.get(uid)?.remove();
    },
  });

  // Usage sampled every SAMPLE_INTERVAL_MS, so /stats/summary reports CPU rates (kubectl top).
  const nodeSize = { cores: quantityMilliValue(parseQuantity(capacity.cpu)) / 1000, memoryBytes: quantityValue(parseQuantity(capacity.memory)) };
  const kubeletStartedAt = clock.now();
  const sampler = new UsageSampler();
  const runningContainers = () => [...workers.entries()].flatMap(([uid, w]) => w.runningContainers().flatMap((c) => (c.pid === undefined ? [] : [{ ...c, pid: c.pid, uid }])));
  const sampleUsage = () => {
    const at = clock.now();
    const live = new Set([NODE_KEY]);
    sampler.record(NODE_KEY, at, nodeUsage(nodeSize));
    for (const c of runningContainers()) {
      const usage = c.usage();
      if (!usage) continue;
      const key = containerKey(c);
      live.add(key);
      sampler.record(key, at, usage);
    }
    sampler.retain(live);
  };
  sampleUsage();
  const sampling = clock.setInterval(sampleUsage, SAMPLE_INTERVAL_MS);
  const status = (): ProcessStatus => ({ name: cfg.name, pid: process.pid, node: cfg.nodeName, sandbox: sandbox.kind, cgroups: cgroups ? `v${cgroups.version}` : "none", pods: workers.size, ready: agent.registered && factory.hasSynced() });
  const readiness = { "informer-sync": () => (factory.hasSynced() ? undefined : "informers not synced"), registered: () => (agent.registered ? undefined : "node not registered yet") };
  // With a serving certificate :10250 is HTTPS, its users authorized by SubjectAccessReviews
  // (authn.ts), and health and /kubemu/* move to a plain port of their own (upstream's healthz port, 10248).
  const authorizer = new SarAuthorizer({
    nodeName: cfg.nodeName,
    review: httpSubjectAccessReviewer(apiHttpBases, cfg.tls),
    now: () => clock.monotonic(),
    onAnswer: (a, answer) => log.info({ user: a.user.name, verb: a.verb, subresource: a.subresource, allowed: answer.allowed, ...(answer.reason ? { reason: answer.reason } : {}) }, "SubjectAccessReview answered"),
  });
  const healthServer = cfg.serving ? await startComponentServer({ host: cfg.bindAddress, port: cfg.healthzPort, status, faults, readiness, logger: log }) : undefined;
  // --streaming-connection-idle-timeout for every exec, attach and port-forward connection.
  const idle = cfg.streamingConnectionIdleTimeoutMs > 0 ? { timeoutMs: cfg.streamingConnectionIdleTimeoutMs, clock } : undefined;
  const server = await startComponentServer({
    host: cfg.bindAddress,
    port: cfg.port,
    status,
    faults,
    readiness,
    ...(cfg.serving ? { tls: { cert: cfg.serving.cert, key: cfg.serving.key, ca: cfg.serving.clientCa }, guard: kubeletGuard(authorizer) } : {}),
    upgrades: {
      "/exec/": execUpgradeHandler({
        log,
        idle,
        target: (ns, name, container) => {
          const pod = pods.lister.get(ns, name);
          if (!pod) return `pod "${name}" does not exist`;
          return workers.get(pod.metadata.uid!)?.execTarget(container) ?? `container not found ("${container}")`;
        },
      }),
      "/attach/": attachUpgradeHandler({
        log,
        idle,
        target: (ns, name, container) => {
          const pod = pods.lister.get(ns, name);
          if (!pod) return `pod "${name}" does not exist`;
          return workers.get(pod.metadata.uid!)?.attachTarget(container) ?? `container not found ("${container}")`;
        },
      }),
      "/portForward/": portForwardUpgradeHandler({
        log,
        idle,
        target: (ns, name) => {
          const pod = pods.lister.get(ns, name);
          if (!pod) return { code: 404, message: "pod does not exist" };
          const podIP = workers.get(pod.metadata.uid!)?.podAddress();
          if (!podIP) return { code: 500, message: `pod ${ns}/${name} has no running sandbox` };
          return { sandboxId: pod.metadata.uid!, podIP };
        },
      }),
    },
    routes: {
      "/containerLogs/": (req, res) =>
        serveContainerLogs(req, res, {
          findPod: (ns, name) => pods.lister.get(ns, name),
          logsDir,
          isLive: (path) => [...workers.values()].some((w) => w.runningContainers().some((c) => c.logPath === path)),
          nowNanos,
        }),
      "/metrics/resource": (_req, res) => {
        const containers = runningContainers().flatMap((c) => {
          const usage = c.usage();
          return usage ? [{ ...c, usage }] : [];
        });
        const body = resourceMetrics(nodeUsage(nodeSize), containers, clock.now());
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(body);
      },
      "/stats/summary": (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(summary(cfg.nodeName, kubeletStartedAt, sampler, runningContainers())));
      },
    },
    logger: log,
  });
  recorder.event(agent.nodeRef, "Normal", "Starting", "Starting kubelet.");
  factory.start(stopping.signal);
  const agentRun = agent.run(stopping.signal).catch((e: unknown) => log.error({ err: String(e) }, "node agent failed"));
  // Addresses of pods that no longer exist are freed once the first list is in.
  void factory.waitForCacheSync(stopping.signal).then((ok) => {
    if (ok) ipam.retain(new Set(pods.lister.list().map((p) => p.metadata.uid!)));
  });

  return {
    url: server.url,
    async stop() {
      stopping.abort();
      sampling.cancel();
      // Containers die with the kubelet: give them a moment to go quietly.
      await Promise.all([...workers.values()].map((w) => w.shutdown(1500)));
      await cgroups?.sweep();
      await agentRun;
      recorder.stop();
      await Promise.race([recorder.flush(), clock.sleep(500)]);
      await server.close();
      await healthServer?.close();
      secrets.stop();
      configMaps.stop();
      pvcs.stop();
      pvs.stop();
      await client.close();
    },
  };
}

/** TokenRequest (POST serviceaccounts/<name>/token) on the first API server that answers, bound to the pod. */
async function requestToken(bases: string[], tls: KubeletConfig["tls"], pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<{ token: string; expiresAt: number }> {
  const ns = pod.metadata!.namespace!;
  const sa = pod.spec?.serviceAccountName || "default";
  const body = JSON.stringify({
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { ...(audience ? { audiences: [audience] } : {}), expirationSeconds, boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata!.name, uid: pod.metadata!.uid } },
  });
  let last: unknown;
  for (const base of bases) {
    try {
      const url = `${base}/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`;
      const answer = await new Promise<{ code: number; text: string }>((resolve, reject) => {
        const secure = url.startsWith("https:");
        const req = (secure ? httpsRequest : httpRequest)(
          url,
          { method: "POST", headers: { "content-type": "application/json", accept: "application/json" }, timeout: 5000, ...(secure && tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}) } as never,
          (res) => {
            let text = "";
            res.on("data", (d: Buffer) => (text += d.toString()));
            res.on("end", () => resolve({ code: res.statusCode ?? 0, text }));
          },
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
        req.end(body);
      });
      const parsed = JSON.parse(answer.text) as { status?: { token?: string; expirationTimestamp?: string }; message?: string };
      if (answer.code >= 300 || !parsed.status?.token) throw new Error(parsed.message ?? `TokenRequest answered ${answer.code}`);
      return { token: parsed.status.token, expiresAt: Date.parse(parsed.status.expirationTimestamp ?? "") || Date.now() + expirationSeconds * 1000 };
    } catch (e) {
      last = e;
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}
