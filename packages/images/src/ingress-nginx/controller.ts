/**
 * The control loop: informers on IngressClasses, Ingresses, Services, EndpointSlices, Secrets and
 * the controller's ConfigMap; changes schedule a rebuild of the routing table, at most
 * --sync-rate-limit per second as upstream's sync queue (the DataPlane swaps it in at once), "Sync" events on Ingresses as ingress-nginx's store records
 * them, a RELOAD event on the controller pod when servers or locations change, and the status
 * sync every --status-update-interval while leading.
 */
import { structured, type Klog } from "./klog.js";
import { Informer, type Change, type KubeClient } from "./kube.js";
import { EventRecorder } from "./events.js";
import { LeaderElector } from "./leader.js";
import { buildRoutingTable, type RoutingTable } from "./routing.js";
import { runningAddresses, updateIngressStatus, type StatusOptions } from "./status.js";
import type { DataPlane } from "./server.js";
import { keyOf, type EndpointSlice, type Ingress, type IngressClass, type Pod, type Secret, type Service } from "./types.js";

export interface ControllerOptions {
  client: KubeClient;
  plane: DataPlane;
  klog: Klog;
  pod: Pod;
  ingressClass: string;
  controllerClass: string;
  watchWithoutClass: boolean;
  electionId: string;
  electionTTLms: number;
  disableLeaderElection: boolean;
  updateStatus: boolean;
  statusUpdateIntervalMs: number;
  publishStatusAddress: string;
  useNodeInternalIP: boolean;
  /** ns/name of the ConfigMap with the nginx configuration. */
  configMap: string;
  disableSyncEvents: boolean;
  /** Syncs per second at most. */
  syncRateLimit: number;
}

const INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class";

export class IngressController {
  private readonly classes: Informer<IngressClass>;
  private readonly ingresses: Informer<Ingress>;
  private readonly services: Informer<Service>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly secrets: Informer<Secret>;
  private readonly configMaps: Informer<{ metadata: { name: string; namespace?: string }; data?: Record<string, string> }>;
  private readonly recorder: EventRecorder;
  private readonly elector: LeaderElector;
  private syncTimer: NodeJS.Timeout | undefined;
  private lastShape = "";
  private started = false;

  constructor(private readonly o: ControllerOptions) {
    const info = (file: string) => (msg: string) => o.klog("I", file, msg);
    const warn = (msg: string) => o.klog("W", "reflector.go:561", msg);
    const c = o.client;
    this.recorder = new EventRecorder(c, "nginx-ingress-controller", (m) => o.klog("E", "event.go:368", m));
    this.classes = new Informer<IngressClass>(c, "/apis/networking.k8s.io/v1/ingressclasses", () => this.scheduleSync(), warn);
    this.ingresses = new Informer<Ingress>(c, "/apis/networking.k8s.io/v1/ingresses", (ch) => this.onIngress(ch), warn);
    this.services = new Informer<Service>(c, "/api/v1/services", () => this.scheduleSync(), warn);
    this.slices = new Informer<EndpointSlice>(c, "/apis/discovery.k8s.io/v1/endpointslices", () => this.scheduleSync(), warn);
    this.secrets = new Informer<Secret>(c, "/api/v1/secrets", () => this.scheduleSync(), warn);
    const [cmNs, cmName] = o.configMap.includes("/") ? o.configMap.split("/") : [o.pod.metadata.namespace ?? "default", o.configMap];
    this.configMaps = new Informer(c, `/api/v1/namespaces/${cmNs}/configmaps?fieldSelector=${encodeURIComponent(`metadata.name=${cmName || "-"}`)}`, (ch) => this.onConfigMap(ch), warn);
    this.elector = new LeaderElector({
      client: c,
      namespace: o.pod.metadata.namespace ?? "default",
      name: o.electionId,
      identity: o.pod.metadata.name,
      leaseDurationMs: o.electionTTLms,
      log: info("leaderelection.go:257"),
      onStarted: () => {
        o.klog("I", "status.go:85", structured("New leader elected"));
        void this.syncStatus();
      },
      onStopped: () => o.klog("I", "status.go:131", structured("leaving status update for next leader")),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    const runs = [this.classes.run(signal), this.configMaps.run(signal)];
    await Promise.all([this.classes.synced, this.configMaps.synced]);
    runs.push(this.services.run(signal), this.slices.run(signal), this.secrets.run(signal));
    await Promise.all([this.services.synced, this.slices.synced, this.secrets.synced]);
    runs.push(this.ingresses.run(signal));
    await this.ingresses.synced;
    this.started = true;
    this.sync();
    if (this.o.updateStatus) {
      if (this.o.disableLeaderElection) void this.syncStatus();
      else runs.push(this.elector.run(signal));
      const timer = setInterval(() => void this.syncStatus(), this.o.statusUpdateIntervalMs);
      signal.addEventListener("abort", () => clearInterval(timer), { once: true });
    }
    await Promise.all(runs);
  }

  /** GetIngressClass: ingressClassName (an IngressClass of our controller), else the annotation, else --watch-ingress-without-class. */
  private classOf(ing: Ingress): string | undefined {
    const name = ing.spec?.ingressClassName;
    if (name !== undefined) {
      const ic = this.classes.items.get(name);
      return ic && ic.spec?.controller === this.o.controllerClass ? ic.metadata.name : undefined;
    }
    const ann = ing.metadata.annotations?.[INGRESS_CLASS_ANNOTATION];
    if (ann !== undefined) return ann === this.o.ingressClass ? ann : undefined;
    return this.o.watchWithoutClass ? "_" : undefined;
  }

  private ours(): Ingress[] {
    return [...this.ingresses.items.values()].filter((i) => this.classOf(i) !== undefined);
  }

  private onIngress(ch: Change<Ingress>): void {
    const ing = ch.obj;
    if (ch.type === "add") {
      const cls = this.classOf(ing);
      if (cls === undefined) {
        this.o.klog("I", "store.go:440", structured("Ignoring ingress because of error while validating ingress class", { ingress: keyOf(ing), error: "ingress does not contain a valid IngressClass" }));
      } else {
        this.o.klog("I", "store.go:443", structured("Found valid IngressClass", { ingress: keyOf(ing), ingressclass: cls }));
        this.syncEvent(ing);
      }
    } else if (ch.type === "update") {
      const before = this.classOf(ch.old);
      const now = this.classOf(ing);
      if (now !== undefined) this.syncEvent(ing);
      else if (before !== undefined) this.o.klog("I", "store.go:496", structured("removing ingress because of unknown ingressclass", { ingress: keyOf(ing) }));
    }
    this.scheduleSync();
  }

  private syncEvent(ing: Ingress): void {
    if (!this.o.disableSyncEvents) this.recorder.event({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: ing.metadata }, "Normal", "Sync", "Scheduled for sync");
  }

  private onConfigMap(ch: Change<{ metadata: { name: string; namespace?: string; uid?: string }; data?: Record<string, string> }>): void {
    if (ch.type !== "delete") {
      const key = keyOf(ch.obj);
      this.recorder.event({ apiVersion: "v1", kind: "ConfigMap", metadata: ch.obj.metadata }, "Normal", ch.type === "add" ? "CREATE" : "UPDATE", `ConfigMap ${key}`);
    }
    const data = ch.type === "delete" ? {} : (ch.obj.data ?? {});
    const bool = (k: string, d: boolean) => (data[k] === undefined ? d : data[k] === "true");
    this.o.plane.config = { hsts: bool("hsts", true), hstsMaxAge: data["hsts-max-age"] ?? "31536000", hstsIncludeSubdomains: bool("hsts-include-subdomains", true) };
    this.sslRedirect = bool("ssl-redirect", true);
    this.scheduleSync();
  }

  private sslRedirect = true;

  /** --sync-rate-limit (0.3/s, burst 1): changes that arrive meanwhile are coalesced into the next sync. */
  private scheduleSync(): void {
    if (!this.started || this.syncTimer) return;
    const wait = Math.max(0, this.lastSync + 1000 / this.o.syncRateLimit - performance.now());
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.sync();
    }, wait);
  }

  private lastSync = -Infinity;

  /** One rebuild; a bad object costs its own routes only (buildRoutingTable never throws on input). */
  private sync(): void {
    this.lastSync = performance.now();
    const bySvc = new Map<string, EndpointSlice[]>();
    for (const s of this.slices.items.values()) {
      const svc = s.metadata.labels?.["kubernetes.io/service-name"];
      if (!svc) continue;
      const k = `${s.metadata.namespace}/${svc}`;
      bySvc.set(k, [...(bySvc.get(k) ?? []), s]);
    }
    let table: RoutingTable;
    try {
      table = buildRoutingTable({ ingresses: this.ours(), services: this.services.items, endpointSlices: bySvc, secrets: this.secrets.items, sslRedirect: this.sslRedirect });
    } catch (e) {
      this.o.klog("E", "controller.go:216", `Unexpected failure reloading the backend: ${(e as Error).message}`);
      return;
    }
    for (const w of table.warnings) this.o.klog("W", "controller.go:1135", w);
    this.o.plane.table = table;
    const shape = JSON.stringify([...table.servers.values()].map((s) => [s.hostname, s.certificate?.secret, s.locations.map((l) => [l.path, l.pathType, l.backend])]));
    if (shape !== this.lastShape) {
      this.lastShape = shape;
      this.o.klog("I", "controller.go:193", structured("Configuration changes detected, backend reload required"));
      this.o.klog("I", "controller.go:213", structured("Backend successfully reloaded"));
      this.recorder.event({ apiVersion: "v1", kind: "Pod", metadata: this.o.pod.metadata }, "Normal", "RELOAD", "NGINX reload triggered due to a change in configuration");
    }
  }

  private async syncStatus(): Promise<void> {
    if (!this.started || (!this.o.disableLeaderElection && !this.elector.isLeader)) return;
    const so: StatusOptions = {
      client: this.o.client,
      namespace: this.o.pod.metadata.namespace ?? "default",
      podLabels: this.o.pod.metadata.labels ?? {},
      publishStatusAddress: this.o.publishStatusAddress,
      useNodeInternalIP: this.o.useNodeInternalIP,
      log: (msg, kv) => this.o.klog("I", "status.go:311", structured(msg, kv)),
    };
    try {
      await updateIngressStatus(so, this.ours(), await runningAddresses(so));
    } catch (e) {
      this.o.klog("E", "status.go:144", `error running status sync: ${(e as Error).message}`);
    }
  }
}
