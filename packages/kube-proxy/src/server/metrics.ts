/** kube-proxy's metrics by upstream's names (pkg/proxy/metrics), plus the data plane's own (kubemu_kubeproxy_*). */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

const expBuckets = (start: number, factor: number, count: number) => Array.from({ length: count }, (_, i) => start * factor ** i);
const linear = (start: number, width: number, count: number) => Array.from({ length: count }, (_, i) => start + width * i);

export interface KubeProxyMetrics {
  registry: Registry;
  syncDuration: Histogram<string>;
  syncFullDuration: Histogram<string>;
  syncLastTimestamp: Gauge<string>;
  syncLastQueuedTimestamp: Gauge<string>;
  networkProgramming: Histogram<string>;
  endpointChangesPending: Gauge<string>;
  endpointChangesTotal: Counter<string>;
  serviceChangesPending: Gauge<string>;
  serviceChangesTotal: Counter<string>;
  noLocalEndpoints: Gauge<"traffic_policy">;
  healthzTotal: Counter<"code">;
  livezTotal: Counter<"code">;
  listeners: Gauge<"state">;
  udpSessions: Gauge<string>;
}

export function newKubeProxyMetrics(registry = new Registry()): KubeProxyMetrics {
  const r = [registry];
  return {
    registry,
    syncDuration: new Histogram({ name: "kubeproxy_sync_proxy_rules_duration_seconds", help: "SyncProxyRules latency in seconds", buckets: expBuckets(0.001, 2, 15), registers: r }),
    syncFullDuration: new Histogram({ name: "kubeproxy_sync_full_proxy_rules_duration_seconds", help: "SyncProxyRules latency in seconds for full resyncs", buckets: expBuckets(0.001, 2, 15), registers: r }),
    syncLastTimestamp: new Gauge({ name: "kubeproxy_sync_proxy_rules_last_timestamp_seconds", help: "The last time proxy rules were successfully synced", registers: r }),
    syncLastQueuedTimestamp: new Gauge({ name: "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds", help: "The last time a sync of proxy rules was queued", registers: r }),
    networkProgramming: new Histogram({ name: "kubeproxy_network_programming_duration_seconds", help: "In Cluster Network Programming Latency in seconds", buckets: [0, ...linear(0.25, 0.25, 2), ...linear(1, 1, 59), ...linear(60, 5, 12), ...linear(120, 30, 7)], registers: r }),
    endpointChangesPending: new Gauge({ name: "kubeproxy_sync_proxy_rules_endpoint_changes_pending", help: "Pending proxy rules Endpoint changes", registers: r }),
    endpointChangesTotal: new Counter({ name: "kubeproxy_sync_proxy_rules_endpoint_changes_total", help: "Cumulative proxy rules Endpoint changes", registers: r }),
    serviceChangesPending: new Gauge({ name: "kubeproxy_sync_proxy_rules_service_changes_pending", help: "Pending proxy rules Service changes", registers: r }),
    serviceChangesTotal: new Counter({ name: "kubeproxy_sync_proxy_rules_service_changes_total", help: "Cumulative proxy rules Service changes", registers: r }),
    noLocalEndpoints: new Gauge({ name: "kubeproxy_sync_proxy_rules_no_local_endpoints_total", help: "Number of services with a Local traffic policy and no endpoints", labelNames: ["traffic_policy"], registers: r }),
    healthzTotal: new Counter({ name: "kubeproxy_proxy_healthz_total", help: "Cumulative proxy healthz HTTP status", labelNames: ["code"], registers: r }),
    livezTotal: new Counter({ name: "kubeproxy_proxy_livez_total", help: "Cumulative proxy livez HTTP status", labelNames: ["code"], registers: r }),
    listeners: new Gauge({ name: "kubemu_kubeproxy_listeners", help: "Service addresses this kube-proxy wants open, by state: bound (it serves them), waiting (another kube-proxy on the host holds them), failed (cannot bind), binding.", labelNames: ["state"], registers: r }),
    udpSessions: new Gauge({ name: "kubemu_kubeproxy_udp_sessions", help: "Open UDP sessions (one per client address and service address).", registers: r }),
  };
}
