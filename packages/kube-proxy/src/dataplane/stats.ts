/** What the data plane counts, as Prometheus metrics (kubemu's own: upstream's proxies count nothing per connection). */
import { Counter, Gauge, type Registry } from "prom-client";
import type { ListenerKind } from "../model/listener-plan.js";
import type { Protocol } from "../model/types.js";

export class ProxyStats {
  private readonly connections: Counter<"protocol" | "kind">;
  private readonly rejections: Counter<"protocol" | "kind" | "reason">;
  private readonly tunnels: Counter<"node" | "result">;
  readonly active: Gauge<"protocol">;
  private activeTcp = 0;
  private activeUdp = 0;

  constructor(registry: Registry) {
    this.connections = new Counter({ name: "kubemu_kubeproxy_connections_total", help: "Connections (TCP) and sessions (UDP) proxied to an endpoint, by protocol and listener kind.", labelNames: ["protocol", "kind"], registers: [registry] });
    this.rejections = new Counter({ name: "kubemu_kubeproxy_rejected_connections_total", help: "Connections (TCP) reset and datagrams (UDP) dropped because no endpoint could take them.", labelNames: ["protocol", "kind", "reason"], registers: [registry] });
    this.tunnels = new Counter({ name: "kubemu_kubeproxy_kubelet_tunnels_total", help: "Connections carried to a pod on another node through that node's kubelet port-forward endpoint (compose mode), by node and result (opened, failed).", labelNames: ["node", "result"], registers: [registry] });
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const stats = this;
    this.active = new Gauge({
      name: "kubemu_kubeproxy_active_connections",
      help: "Open proxied TCP connections and UDP sessions.",
      labelNames: ["protocol"],
      registers: [registry],
      // Read when scraped: the hot path only bumps two numbers.
      collect() {
        this.set({ protocol: "TCP" }, stats.activeTcp);
        this.set({ protocol: "UDP" }, stats.activeUdp);
      },
    });
  }

  proxied(protocol: Protocol, kind: ListenerKind): void {
    this.connections.inc({ protocol, kind });
  }

  rejected(protocol: Protocol, kind: ListenerKind, reason: "no_endpoints" | "dial_failed"): void {
    this.rejections.inc({ protocol, kind, reason });
  }

  tunnel(node: string, result: "opened" | "failed"): void {
    this.tunnels.inc({ node, result });
  }

  connectionOpened(protocol: Protocol): void {
    if (protocol === "TCP") this.activeTcp++;
    else this.activeUdp++;
  }

  connectionClosed(protocol: Protocol): void {
    if (protocol === "TCP") this.activeTcp--;
    else this.activeUdp--;
  }

  get activeConnections(): { tcp: number; udp: number } {
    return { tcp: this.activeTcp, udp: this.activeUdp };
  }
}
