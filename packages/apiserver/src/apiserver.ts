/**
 * ApiServer: one kube-apiserver-like process's worth of parts — the registry over a
 * StorageFactory, the HTTP front (REST, discovery, OpenAPI, metrics, control endpoints), the
 * internal wire API, bootstrap objects, the `kubernetes` endpoints reconciler and periodic
 * compaction. Tests start it in-process on port 0; main.ts starts it as a process.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import type { AddressInfo } from "node:net";
import { FaultInjector, realClock, randomRng, silentLogger, WireServer, type Clock, type Rng, type Timer } from "@kubemu/common";
import type { Logger } from "pino";
import type { Storage, StorageFactory } from "./storage/index.js";
import { builtinRegistry, type Registry } from "./registry/registry.js";
import type { ResourceDef } from "./registry/types.js";
import { groupVersion } from "./registry/types.js";
import { PROFILE_SETTINGS, type ServerContext } from "./rest/context.js";
import { ResourceStore } from "./rest/store.js";
import { ResourceApi } from "./rest/resource-api.js";
import { HttpFront } from "./http/server.js";
import { ApiMetrics } from "./http/metrics.js";
import { registerWireApi } from "./internal/wire-api.js";
import { bootstrap } from "./bootstrap.js";
import { DEFAULT_SERVICE_CIDR, ServiceCidr } from "./allocators/service-cidr.js";
import { EndpointReconciler } from "./endpoint-reconciler.js";
import { EventsV1Storage } from "./registry/event-conversion.js";
import type { ComponentStatusProbe } from "./component-status.js";
import { CrdController } from "./crd/controller.js";
import { ServiceAccountTokens } from "./serviceaccount/index.js";
import { Authorization } from "./auth/authorization.js";
import { authorizingWire, WireUsers } from "./auth/wire-authorization.js";
import { Auditor } from "./audit/auditor.js";
import type { AuditBackend } from "./audit/event.js";
import { auditingWire } from "./audit/wire-audit.js";
import { computeContext } from "./resource-metrics/compute-context.js";
import { kubeletClient } from "./handlers/kubelet-client.js";

/** kube-apiserver's usual --service-account-issuer; also the default API audience. */
export const DEFAULT_SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";

/** How long stop() waits to leave the `kubernetes` endpoints (a store write) before going on without. */
const withdrawTimeoutMs = 1_000;

export interface ApiServerOptions {
  /** Process name (apiserver-0). */
  name: string;
  storage: StorageFactory;
  profile?: "fast" | "realistic";
  clock?: Clock;
  rng?: Rng;
  logger?: Logger;
  registry?: Registry;
  /** Compact the store this often (default 5 min, as kube-apiserver); 0 disables. */
  compactionIntervalMs?: number;
  /** Lease duration of the `kubernetes` endpoint reconciler in seconds (default 15). */
  endpointLeaseSeconds?: number;
  /** Register default process metrics (process mode only). */
  defaultMetrics?: boolean;
  /** Computes componentstatuses; without it the list is empty. */
  componentStatus?: ComponentStatusProbe;
  /** Serve HTTPS (PEM contents). */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer };
  /** With tls: also serve plain HTTP on this port, for the public probes only. */
  insecurePort?: number;
  /** Where audit events go (--audit-log-path); closed by stop(). */
  audit?: AuditBackend;
  /** The client certificate kubelets are reached with over HTTPS (--kubelet-client-*); without it, plain HTTP. */
  kubeletClientTls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer };
  /**
   * Service account token keys and names (--service-account-*). Without it a key pair is made
   * at start: tokens then only work on this one apiserver.
   */
  serviceAccount?: { signingKey: KeyObject; publicKeys: KeyObject[]; issuer?: string; audiences?: string[] };
  /** How long a store probe may take before it counts as failed (default 2 s). */
  storeProbeTimeoutMs?: number;
  /** Admission plugins to turn off (--disable-admission-plugins, upstream's names, e.g. "ServiceAccount"). */
  disableAdmissionPlugins?: readonly string[];
  /** --authorization-mode after system:masters (default Node,RBAC, upstream's order). */
  authorizationModes?: readonly ("Node" | "RBAC")[];
  /** --service-cluster-ip-range (default 127.96.0.0/16). */
  serviceCidr?: ServiceCidr;
}

export class ApiServer {
  readonly ctx: ServerContext;
  readonly store: ResourceStore;
  /** The verbs both front ends (HTTP, wire) serve, over the store. */
  readonly api: ResourceApi;
  readonly http: HttpFront;
  readonly wire: WireServer;
  readonly faults = new FaultInjector();
  readonly metrics: ApiMetrics;
  private readonly auditor: Auditor | undefined;
  private reconciler: EndpointReconciler | undefined;
  private compactTimer: Timer | undefined;
  private ready = false;
  /** Whether the last store probe answered (readiness follows it, as upstream's etcd check). */
  private storeHealthy = true;
  private probeTimer: Timer | undefined;
  private address: AddressInfo | undefined;
  private readonly storages = new Map<ResourceDef, Storage>();
  /** Serves CustomResourceDefinitions and the custom resources they declare. */
  readonly crds: CrdController;
  /** Issues and authenticates service account tokens. */
  readonly tokens: ServiceAccountTokens;
  /** RBAC: the policy caches, the authorizer chain, the bootstrap policy. */
  readonly authorization: Authorization;

  constructor(private readonly o: ApiServerOptions) {
    const registry = o.registry ?? builtinRegistry();
    const log = o.logger ?? silentLogger;
    this.ctx = {
      clock: o.clock ?? realClock,
      rng: o.rng ?? randomRng().rng,
      log,
      registry,
      storage: o.storage,
      profile: PROFILE_SETTINGS[o.profile ?? "fast"],
      serviceCidr: o.serviceCidr ?? (ServiceCidr.parse(DEFAULT_SERVICE_CIDR) as ServiceCidr),
      ...(o.disableAdmissionPlugins?.length ? { disabledAdmissionPlugins: new Set(o.disableAdmissionPlugins) } : {}),
      storageFor: (def) => {
        let s = this.storages.get(def);
        if (!s) {
          const resource = def.storageResource ?? def.plural;
          if (def.storedAsCoreEvent) {
            const core = registry.lookup("", "v1", "events")!;
            s = new EventsV1Storage(this.ctx.storageFor(core));
          } else {
            const spec = { ...(def.group ? { group: def.group } : {}), resource, kind: def.kind, apiVersion: groupVersion(def), ...(def.storagePrefix ? { prefix: def.storagePrefix } : {}) };
            s = o.storage.forResource(spec);
          }
          this.storages.set(def, s);
        }
        return s;
      },
    };
    this.store = new ResourceStore(this.ctx);
    const computing = computeContext(this.store, registry, kubeletClient(o.kubeletClientTls), this.ctx.clock);
    this.api = new ResourceApi(this.store, registry, (def, ns) => (def.compute ? def.compute(computing, ns) : def.kind === "ComponentStatus" && o.componentStatus ? o.componentStatus() : undefined));
    this.crds = new CrdController(this.ctx, this.store);
    this.metrics = new ApiMetrics(o.defaultMetrics ?? false);
    this.tokens = this.serviceAccountTokens(registry);
    this.authorization = new Authorization(this.ctx, this.store, o.authorizationModes ?? ["Node", "RBAC"]);
    const wireUsers = new WireUsers();
    this.auditor = o.audit ? new Auditor(o.audit, this.ctx.clock, this.ctx.rng) : undefined;
    this.http = new HttpFront({
      ...(this.auditor ? { auditor: this.auditor } : {}),
      authorization: this.authorization,
      wireUsers,
      tokens: this.tokens,
      ctx: this.ctx,
      api: this.api,
      name: o.name,
      faults: this.faults,
      metrics: this.metrics,
      ready: () => this.ready && this.storeHealthy,
      status: () => ({ name: o.name, pid: process.pid, role: "apiserver", ready: this.ready }),
      ...(o.tls ? { tls: o.tls } : {}),
      ...(o.insecurePort !== undefined ? { insecurePort: o.insecurePort } : {}),
      ...(o.kubeletClientTls ? { kubeletClientTls: o.kubeletClientTls } : {}),
    });
    this.wire = new WireServer({ name: o.name, logger: log, clock: this.ctx.clock, faults: this.faults });
    registerWireApi(
      authorizingWire(this.auditor ? auditingWire(this.wire, wireUsers, this.auditor) : this.wire, wireUsers, {
        check: async (user, attrs) => {
          if (!this.authorization.canDecideNow(user)) await this.authorization.waitForSync();
          this.authorization.check(user, attrs);
        },
        runAs: (user, fn) => this.authorization.runAs(user, fn),
      }),
      this.api,
    );
    this.http.wireUpgrade = (req, socket, head) => this.wire.handleUpgrade(req, socket, head);
  }

  private serviceAccountTokens(registry: Registry): ServiceAccountTokens {
    let sa = this.o.serviceAccount;
    if (!sa) {
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      sa = { signingKey: privateKey, publicKeys: [createPublicKey(privateKey)] };
    }
    const issuer = sa.issuer ?? DEFAULT_SERVICE_ACCOUNT_ISSUER;
    return new ServiceAccountTokens({
      signingKey: sa.signingKey,
      publicKeys: sa.publicKeys,
      issuer,
      audiences: sa.audiences ?? [issuer],
      clock: this.ctx.clock,
      lookup: (resource, ns, name, fromCache) => this.store.get(registry.lookup("", "v1", resource)!, ns, name, fromCache ? "0" : undefined),
      admit: (ns, name, request) => this.store.validateSubresourceCreate(registry.lookup("", "v1", "serviceaccounts")!, ns, name, "token", request),
    });
  }

  /** Listens, creates the bootstrap objects, starts the reconcilers. Resolves with the bound address. */
  async start(host: string, port: number, advertise?: { ip: string; port: number }): Promise<AddressInfo> {
    this.address = await this.http.listen(host, port);
    const adv = advertise ?? { ip: this.address.address, port: this.address.port };
    await this.retry(() => bootstrap(this.store, this.ctx.registry, adv.port, this.ctx.serviceCidr.kubernetesServiceIp));
    await this.retry(() => this.authorization.reconcileBootstrapPolicy());
    await this.authorization.start();
    await this.crds.start();
    this.reconciler = new EndpointReconciler({
      store: this.store,
      registry: this.ctx.registry,
      clock: this.ctx.clock,
      log: this.ctx.log,
      name: this.o.name,
      ip: adv.ip,
      port: adv.port,
      leaseSeconds: this.o.endpointLeaseSeconds ?? 15,
    });
    this.reconciler.start();
    const every = this.o.compactionIntervalMs ?? 5 * 60_000;
    if (every > 0)
      this.compactTimer = this.ctx.clock.setInterval(() => {
        this.o.storage.compact().catch((e) => this.ctx.log.warn({ err: String(e) }, "compaction failed"));
      }, every);
    this.startStoreProbe();
    this.ready = true;
    this.ctx.log.info({ address: `${this.address.address}:${this.address.port}` }, "apiserver ready");
    return this.address;
  }

  /** Probes the store every second; two failures in a row make /readyz 503 until one succeeds. */
  private startStoreProbe(): void {
    let failures = 0;
    let inFlight = false;
    const timeoutMs = this.o.storeProbeTimeoutMs ?? 2000;
    const probe = () => {
      if (inFlight) return;
      inFlight = true;
      const probeDone = this.o.storage.forResource({ resource: "namespaces" }).currentResourceVersion();
      const timeout = new Promise<never>((_, reject) => {
        const t = this.ctx.clock.setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
        probeDone.then(
          () => t.cancel(),
          () => t.cancel(),
        );
      });
      Promise.race([probeDone, timeout])
        .then(() => {
          if (!this.storeHealthy) this.ctx.log.info("store reachable again; ready");
          failures = 0;
          this.storeHealthy = true;
        })
        .catch((e: unknown) => {
          failures++;
          if (failures >= 2 && this.storeHealthy) {
            this.storeHealthy = false;
            this.ctx.log.warn({ err: e instanceof Error ? e.message : String(e) }, "store unreachable; not ready");
          }
        })
        .finally(() => (inFlight = false));
    };
    this.probeTimer = this.ctx.clock.setInterval(probe, 1000);
  }

  /** Bootstrap needs the store; it may still be electing a leader when we start. */
  private async retry(fn: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await fn();
        return;
      } catch (e) {
        if (attempt >= 60) throw e;
        this.ctx.log.warn({ err: e instanceof Error ? e.message : String(e), attempt }, "bootstrap failed; retrying");
        await this.ctx.clock.sleep(500);
      }
    }
  }

  /**
   * Graceful stop: not ready, withdraw from the `kubernetes` endpoints, close listeners and storage.
   * Withdrawing writes to the store, so it gets at most {@link withdrawTimeoutMs}: with the store
   * unreachable the endpoints keep this server until its lease expires, as after a crash.
   */
  async stop(): Promise<void> {
    this.ready = false;
    this.compactTimer?.cancel();
    this.probeTimer?.cancel();
    await this.crds.stop();
    await this.authorization.stop();
    if (this.reconciler) await this.withdraw(this.reconciler);
    await this.wire.close();
    await this.http.close();
    await this.auditor?.close();
    await this.o.storage.close();
  }

  private async withdraw(reconciler: EndpointReconciler): Promise<void> {
    let timer: Timer | undefined;
    const timedOut = new Promise<"timeout">((resolve) => (timer = this.ctx.clock.setTimeout(() => resolve("timeout"), withdrawTimeoutMs)));
    const outcome = await Promise.race([
      reconciler.withdraw().then(
        () => "done" as const,
        (e: unknown) => {
          this.ctx.log.warn({ err: e instanceof Error ? e.message : String(e) }, "could not leave the kubernetes endpoints");
          return "failed" as const;
        },
      ),
      timedOut,
    ]);
    timer?.cancel();
    if (outcome === "timeout") this.ctx.log.warn({ timeoutMs: withdrawTimeoutMs }, "leaving the kubernetes endpoints took too long (store unreachable?); stopping anyway");
  }
}
