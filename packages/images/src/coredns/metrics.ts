/**
 * The prometheus plugin's metrics, with CoreDNS's names and labels. The per-query series go
 * through Series: prom-client turns label values into an object, validates it and hashes it on
 * every `labels(...)` and again on every inc/observe, which at 10,000 queries a second cost more
 * than answering. Counters are counted in plain numbers and added to prom-client when a scrape
 * collects them; histograms' label children are made once per combination.
 */
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

  /** The per-query series (see Series). */
  readonly requestsBy = new Series(() => ({ n: 0 }));
  readonly responsesBy = new Series(() => ({ n: 0 }));
  readonly cacheRequestsBy = new Series(() => ({ n: 0 }));
  readonly cacheHitsBy = new Series(() => ({ n: 0 }));
  readonly cacheMissesBy = new Series(() => ({ n: 0 }));
  readonly durationBy = new Series((v) => this.duration.labels(...v));
  readonly requestSizeBy = new Series((v) => this.requestSize.labels(...v));
  readonly responseSizeBy = new Series((v) => this.responseSize.labels(...v));
  /** Run before every scrape (the cache plugin's entry gauges are read then). */
  beforeScrape: () => void = () => undefined;
  private readonly flushes: (() => void)[];

  constructor() {
    this.buildInfo.labels(VERSION, "a6338e9", "go1.21.11").set(1);
    const flushInto = (series: Series<{ n: number }>, c: Counter) => () => {
      for (const [values, s] of series.entries()) {
        if (s.n === 0) continue;
        c.labels(...values).inc(s.n);
        s.n = 0;
      }
    };
    this.flushes = [flushInto(this.requestsBy, this.requests), flushInto(this.responsesBy, this.responses), flushInto(this.cacheRequestsBy, this.cacheRequests), flushInto(this.cacheHitsBy, this.cacheHits), flushInto(this.cacheMissesBy, this.cacheMisses)];
  }

  /** The text of /metrics, with the counts so far added in. */
  scrape(): Promise<string> {
    for (const f of this.flushes) f();
    this.beforeScrape();
    return this.registry.metrics();
  }
}

/**
 * Something kept per combination of label values, found by walking one Map per label (no key
 * string is built per query); `make` runs once per new combination.
 */
export class Series<T> {
  private readonly root = new Map<string, unknown>();
  private readonly all: [string[], T][] = [];

  constructor(private readonly make: (values: string[]) => T) {}

  of(...values: string[]): T {
    let m = this.root;
    for (let i = 0; i < values.length - 1; i++) {
      let next = m.get(values[i]!) as Map<string, unknown> | undefined;
      if (!next) m.set(values[i]!, (next = new Map()));
      m = next;
    }
    const last = values[values.length - 1]!;
    let t = m.get(last) as T | undefined;
    if (t === undefined) {
      t = this.make(values);
      m.set(last, t);
      this.all.push([values, t]);
    }
    return t;
  }

  entries(): readonly [string[], T][] {
    return this.all;
  }
}
