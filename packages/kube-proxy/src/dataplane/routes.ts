/**
 * The endpoint tables the listeners read on every new connection: per Service port, its
 * endpoints, categorized per node on first use after each sync. The choice is uniform at random
 * over the usable endpoints (Ready ones; serving-terminating ones only when no Ready one is
 * left), restricted to the receiving node's endpoints under a Local traffic policy, and sticky
 * per client IP under sessionAffinity ClientIP. With --cross-node-via-kubelet (compose mode) the
 * endpoints this kube-proxy cannot reach (UDP ones on other nodes, model/endpoint-route.ts) are
 * left out of the choice.
 */
import type { Clock, Rng } from "@kubemu/common";
import { endpointRoute, type EndpointRoute } from "../model/endpoint-route.js";
import { categorizeEndpoints, type CategorizedEndpoints } from "../model/endpoints.js";
import { NodeLocator, type NodeInfo } from "../model/nodes.js";
import { endpointString, type EndpointInfo, type Protocol, type ServicePortInfo } from "../model/types.js";
import { AffinityTable } from "./affinity.js";

export type Traffic = "internal" | "external";

const NO_ENDPOINTS: readonly EndpointInfo[] = Object.freeze([]);

class ServiceRoute {
  private readonly byNode = new Map<string, CategorizedEndpoints>();
  readonly endpointSet: ReadonlySet<string>;

  constructor(
    readonly info: ServicePortInfo,
    readonly endpoints: readonly EndpointInfo[],
  ) {
    this.endpointSet = new Set(endpoints.map(endpointString));
  }

  categorized(node: string, zone: string): CategorizedEndpoints {
    const k = `${node}|${zone}`;
    let c = this.byNode.get(k);
    if (!c) {
      c = categorizeEndpoints(this.endpoints, node, zone);
      this.byNode.set(k, c);
    }
    return c;
  }
}

export interface RouteTableOptions {
  self: { nodeName: string; zone: string };
  clock: Clock;
  rng: Rng;
  affinity?: AffinityTable;
  /** Compose mode: endpoints on other nodes go through their kubelet's port-forward endpoint. */
  crossNodeViaKubelet?: boolean;
}

export class RouteTable {
  private routes = new Map<string, ServiceRoute>();
  private locator = new NodeLocator([]);
  private self: { nodeName: string; zone: string };
  readonly affinity: AffinityTable;
  /** Usable endpoint lists with the unreachable ones left out (compose mode), per list; emptied at every update. */
  private reachable = new WeakMap<readonly EndpointInfo[], readonly EndpointInfo[]>();

  constructor(private readonly o: RouteTableOptions) {
    this.self = o.self;
    this.affinity = o.affinity ?? new AffinityTable();
  }

  /** Replaces every table at once (one sync); a Service port whose info and endpoints are the same objects as before keeps its table. */
  update(ports: readonly ServicePortInfo[], endpoints: ReadonlyMap<string, readonly EndpointInfo[]>, nodes: readonly NodeInfo[], selfZone: string): void {
    const next = new Map<string, ServiceRoute>();
    for (const p of ports) {
      const eps = endpoints.get(p.key) ?? NO_ENDPOINTS;
      const old = this.routes.get(p.key);
      next.set(p.key, old && old.info === p && old.endpoints === eps ? old : new ServiceRoute(p, eps));
    }
    this.routes = next;
    this.locator = new NodeLocator(nodes);
    this.reachable = new WeakMap();
    this.self = { nodeName: this.self.nodeName, zone: selfZone };
  }

  info(serviceKey: string): ServicePortInfo | undefined {
    return this.routes.get(serviceKey)?.info;
  }

  /** Whether the Service port still lists this endpoint (UDP sessions to removed ones are dropped). */
  hasEndpoint(serviceKey: string, endpoint: string): boolean {
    return this.routes.get(serviceKey)?.endpointSet.has(endpoint) ?? false;
  }

  /** The node a connection is handled for: the client's own node for ClusterIP traffic, this node otherwise. */
  private receivingNode(clientIp: string, traffic: Traffic): { nodeName: string; zone: string } {
    if (traffic === "internal") {
      const n = this.locator.nodeFor(clientIp);
      if (n) return { nodeName: n.name, zone: n.zone };
    }
    return this.self;
  }

  /** How this kube-proxy reaches an endpoint: directly, through its node's kubelet, or not at all. */
  endpointRoute(ep: EndpointInfo, protocol: Protocol): EndpointRoute {
    return endpointRoute(ep, protocol, this.o.self.nodeName, this.o.crossNodeViaKubelet ?? false, (n) => this.locator.get(n));
  }

  /** The endpoints a new connection from clientIp may go to. */
  usable(serviceKey: string, clientIp: string, traffic: Traffic): readonly EndpointInfo[] {
    const route = this.routes.get(serviceKey);
    if (!route) return [];
    const node = this.receivingNode(clientIp, traffic);
    const cat = route.categorized(node.nodeName, node.zone);
    const local = traffic === "internal" ? route.info.internalPolicyLocal : route.info.externalPolicyLocal;
    const eps = local ? cat.local : cat.cluster;
    if (!this.o.crossNodeViaKubelet) return eps;
    let kept = this.reachable.get(eps);
    if (!kept) {
      kept = eps.filter((e) => this.endpointRoute(e, route.info.protocol).kind !== "unreachable");
      this.reachable.set(eps, kept);
    }
    return kept;
  }

  /** Picks the endpoint for a new connection (or UDP session); `exclude` holds endpoints that just failed to connect. */
  pick(serviceKey: string, clientIp: string, traffic: Traffic, exclude?: ReadonlySet<string>): EndpointInfo | undefined {
    const route = this.routes.get(serviceKey);
    if (!route) return undefined;
    let eps = this.usable(serviceKey, clientIp, traffic);
    if (exclude && exclude.size > 0) eps = eps.filter((e) => !exclude.has(endpointString(e)));
    if (eps.length === 0) return undefined;
    const timeout = route.info.affinityTimeoutSeconds;
    if (timeout === undefined) return eps.length === 1 ? eps[0] : eps[this.o.rng.int(eps.length)];
    const now = this.o.clock.monotonic();
    const sticky = this.affinity.lookup(serviceKey, clientIp, timeout, now);
    const chosen = (sticky !== undefined ? eps.find((e) => endpointString(e) === sticky) : undefined) ?? eps[this.o.rng.int(eps.length)]!;
    this.affinity.record(serviceKey, clientIp, endpointString(chosen), now);
    return chosen;
  }

  /** Drops timed-out affinity entries. */
  sweepAffinity(): number {
    return this.affinity.sweep((k) => this.routes.get(k)?.info.affinityTimeoutSeconds, this.o.clock.monotonic());
  }
}
