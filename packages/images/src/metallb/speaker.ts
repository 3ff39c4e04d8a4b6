/**
 * metallb-speaker (MetalLB 0.9 speaker/main.go, layer2_controller.go), one per node: for each
 * LoadBalancer Service with an address from a layer2 pool it decides whether this node announces
 * it (election.ts) and, when it does, records `nodeAssigned` "announcing from node ..." on the
 * Service — on every change of the Service or its Endpoints while it keeps winning, as upstream's
 * SetBalancer does (hence `(x2 over ...)` in `kubectl describe`). A node that stops winning
 * withdraws (log line `serviceWithdrawn`).
 *
 * kubemu has no ARP: all nodes share the host's loopback, and the address itself is bound by
 * kube-proxy (its shared load-balancer listeners). What the announcement decides here is which
 * node is named, in the event, the log and `metallb_speaker_announced` on /metrics.
 */
import { parseIPv4, poolFor, type Config } from "./config.js";
import { shouldAnnounce } from "./election.js";
import { ServiceEvents } from "./events.js";
import { ConfigWatch } from "./config-watch.js";
import { serviceKey, type Api, type Endpoints, type List, type Service } from "./types.js";

export interface SpeakerOptions {
  api: Api;
  node: string;
  namespace: string;
  configMapName: string;
  log: (line: string) => void;
  now: () => Date;
}

export interface Announcement {
  service: string;
  ip: string;
  protocol: string;
}

export class MetallbSpeaker {
  private config: Config | undefined;
  private readonly configWatch: ConfigWatch;
  /** What each Service was last handled at: service rv + endpoints rv. */
  private readonly handled = new Map<string, string>();
  /** The Services this node announces. */
  readonly announced = new Map<string, Announcement>();
  private readonly events: ServiceEvents;

  constructor(private readonly o: SpeakerOptions) {
    this.events = new ServiceEvents(o.api, "metallb-speaker", o.node, o.now, o.log);
    this.configWatch = new ConfigWatch(o);
  }

  async tick(): Promise<void> {
    const reprocessAll = await this.syncConfig();
    if (this.config === undefined) return;
    const [services, endpoints] = await Promise.all([this.o.api.get<List<Service>>("/api/v1/services"), this.o.api.get<List<Endpoints>>("/api/v1/endpoints")]);
    const epsByKey = new Map(endpoints.items.map((e) => [serviceKey(e), e]));
    const live = new Set<string>();
    for (const svc of services.items) {
      const key = serviceKey(svc);
      live.add(key);
      const eps = epsByKey.get(key);
      const version = `${svc.metadata.resourceVersion}/${eps?.metadata.resourceVersion ?? ""}`;
      if (!reprocessAll && this.handled.get(key) === version) continue;
      this.handled.set(key, version);
      await this.setBalancer(key, svc, eps);
    }
    for (const key of [...this.handled.keys()]) {
      if (live.has(key)) continue;
      this.handled.delete(key);
      this.withdraw(key, "serviceDeleted");
    }
  }

  private async syncConfig(): Promise<boolean> {
    const cfg = await this.configWatch.poll();
    if (cfg === undefined) return false;
    for (const [svc, a] of this.announced) {
      if (poolFor(cfg.pools, parseIPv4(a.ip)!) === undefined) {
        this.o.log(`setConfig: new configuration rejected: service ${svc} ip ${a.ip} has no configuration under new config`);
        return false;
      }
    }
    this.config = cfg;
    this.o.log("configLoaded: config (re)loaded");
    return true;
  }

  private async setBalancer(key: string, svc: Service, eps: Endpoints | undefined): Promise<void> {
    if (svc.spec.type !== "LoadBalancer") return this.withdraw(key, "notLoadBalancer");
    const ingress = svc.status?.loadBalancer?.ingress ?? [];
    if (ingress.length !== 1) return this.withdraw(key, "noIPAllocated");
    const ipText = ingress[0]!.ip ?? "";
    const ip = parseIPv4(ipText);
    if (ip === undefined) return this.withdraw(key, "invalidIP");
    const pool = poolFor(this.config!.pools, ip);
    if (pool === undefined) return this.withdraw(key, "ipNotAllowed");
    const prior = this.announced.get(key);
    if (prior !== undefined && prior.ip !== ipText) this.withdraw(key, "loadBalancerIPChanged");
    if (pool.protocol !== "layer2") {
      // BGP sessions are not emulated: such a pool's addresses are never announced.
      return this.withdraw(key, "protocolNotSupported");
    }
    const reason = shouldAnnounce(this.o.node, key, eps);
    if (reason !== "") return this.withdraw(key, reason);
    if (!this.announced.has(key)) this.o.log(`serviceAnnounced: service has IP, announcing service=${key} ip=${ipText} pool=${pool.name} protocol=layer2`);
    this.announced.set(key, { service: key, ip: ipText, protocol: "layer2" });
    await this.events.record(svc, "Normal", "nodeAssigned", `announcing from node "${this.o.node}"`);
  }

  private withdraw(key: string, reason: string): void {
    const a = this.announced.get(key);
    if (a === undefined) return;
    this.announced.delete(key);
    this.o.log(`serviceWithdrawn: withdrawing service announcement service=${key} ip=${a.ip} reason=${reason}`);
  }

  /** Prometheus text: metallb_speaker_announced per announced Service. */
  metrics(): string {
    const lines = ["# HELP metallb_speaker_announced Services being announced from this node. This is desired state, it does not guarantee that the routing protocols have converged.", "# TYPE metallb_speaker_announced gauge"];
    for (const a of this.announced.values()) lines.push(`metallb_speaker_announced{ip="${a.ip}",node="${this.o.node}",protocol="${a.protocol}",service="${a.service}"} 1`);
    return lines.join("\n") + "\n";
  }
}
