/** Prometheus metrics of the API server (upstream names): requests by verb/resource/code, latency. */
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"verb" | "group" | "version" | "resource" | "subresource" | "code">;
  readonly latency: Histogram<"verb" | "group" | "version" | "resource" | "subresource">;
  readonly watchEvents: Counter<"group" | "version" | "kind">;

  constructor(defaultMetrics = false) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: "apiserver_request_total",
      help: "Counter of apiserver requests broken out for each verb, group, version, resource, subresource and HTTP response code.",
      labelNames: ["verb", "group", "version", "resource", "subresource", "code"],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: "apiserver_request_duration_seconds",
      help: "Response latency distribution in seconds for each verb, group, version, resource and subresource (watches excluded).",
      labelNames: ["verb", "group", "version", "resource", "subresource"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60],
      registers: [this.registry],
    });
    this.watchEvents = new Counter({
      name: "apiserver_watch_events_total",
      help: "Number of events sent to watch clients (counted when each watch ends)",
      labelNames: ["group", "version", "kind"],
      registers: [this.registry],
    });
  }
}
