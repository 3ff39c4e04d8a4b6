/** The prometheus plugin's metrics, with CoreDNS's names and labels. */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export const VERSION = "1.11.3";

export class DnsMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: "coredns_dns_requests_total", help: "Counter of DNS requests made per zone, protocol and family.", labelNames: ["server", "zone", "view", "proto", "family", "type"], registers: [this.registry] });
  readonly responses = new Counter({ name: "coredns_dns_responses_total", help: "Counter of response status codes.", labelNames: ["server", "zone", "view", "rcode", "plugin"], registers: [this.registry] });
  readonly duration = new Histogram({ name: "coredns_dns_request_duration_seconds", help: "Histogram of the time (in seconds) each request took per zone.", labelNames: ["server", "zone", "view", "type"], buckets: Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i), registers: [this.registry] });
  readonly requestSize = new Histogram({ name: "coredns_dns_request_size_bytes", help: "Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.", labelNames: ["server", "zone", "view", "proto"], buckets: [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3], registers: [this.registry] });
  readonly responseSize = new Histogram({ name: "coredns_dns_response_size_bytes", help: "Size of the returned response in bytes.", labelNames: ["server", "zone", "view", "proto"], buckets: [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3], registers: [this.registry] });
  readonly panics = new Counter({ name: "coredns_panics_total", help: "A metrics that counts the number of panics.", registers: [this.registry] });
  readonly pluginEnabled = new Gauge({ name: "coredns_plugin_enabled", help: "A metric that indicates whether a plugin is enabled on per server and zone basis.", labelNames: ["server", "zone", "view", "name"], registers: [this.registry] });
  readonly buildInfo = new Gauge({ name: "coredns_build_info", help: "A metric with a constant '1' value labeled by version, revision, and goversion from which CoreDNS was built.", labelNames: ["version", "revision", "goversion"], registers: [this.registry] });
  readonly cacheEntries = new Gauge({ name: "coredns_cache_entries", help: "The number of elements in the cache.", labelNames: ["server", "type", "zones", "view"], registers: [this.registry] });
  readonly cacheRequests = new Counter({ name: "coredns_cache_requests_total", help: "The count of cache requests.", labelNames: ["server", "zones", "view"], registers: [this.registry] });
  readonly cacheHits = new Counter({ name: "coredns_cache_hits_total", help: "The count of cache hits.", labelNames: ["server", "type", "zones", "view"], registers: [this.registry] });
  readonly cacheMisses = new Counter({ name: "coredns_cache_misses_total", help: "The count of cache misses. Deprecated, derive misses from cache hits/requests counters.", labelNames: ["server", "zones", "view"], registers: [this.registry] });
  readonly proxyDuration = new Histogram({ name: "coredns_proxy_request_duration_seconds", help: "Histogram of the time each request took.", labelNames: ["proxy_name", "to", "rcode"], buckets: Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i), registers: [this.registry] });
  readonly maxConcurrentRejects = new Counter({ name: "coredns_forward_max_concurrent_rejects_total", help: "Counter of the number of queries rejected because the concurrent queries were at maximum.", registers: [this.registry] });
  readonly healthDuration = new Histogram({ name: "coredns_health_request_duration_seconds", help: "Histogram of the time (in seconds) each request took.", buckets: [0.00025, 0.0025, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 2, 4, 8, 16], registers: [this.registry] });

  constructor() {
    this.buildInfo.labels(VERSION, "a6338e9", "go1.21.11").set(1);
  }
}
