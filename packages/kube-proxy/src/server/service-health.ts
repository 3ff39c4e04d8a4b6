/**
 * Per-Service health-check servers (upstream's ServiceHealthServer) for LoadBalancer Services
 * with `externalTrafficPolicy: Local`: each listens on <node IP>:<healthCheckNodePort> and
 * answers any path with the Service's local endpoint count — 200 while this node has a ready
 * endpoint and the proxy is healthy, 503 otherwise — so a load balancer sends traffic only to
 * nodes that can serve it locally. A port that cannot be opened gets upstream's Warning event
 * `FailedToStartServiceHealthcheck` and is tried again at the next sync.
 */
import { createServer, type Server } from "node:http";
import type { Logger } from "pino";
import type { EventRecorder, KubeObject } from "@kubemu/common";
import { listenErrorText } from "../dataplane/errors.js";
import { healthCheckBody, type HealthCheckService } from "../model/health-check.js";

export const FAILED_TO_START_SERVICE_HEALTHCHECK = "FailedToStartServiceHealthcheck";

export interface ServiceHealthOptions {
  nodeName: string;
  nodeIp: string;
  /** The proxy's own health (upstream: the healthz server's IsHealthy). */
  proxyHealthy: () => boolean;
  /** The Service object an event goes on. */
  serviceOf: (namespace: string, name: string) => KubeObject | undefined;
  recorder?: EventRecorder;
  log: Logger;
}

interface Instance {
  service: HealthCheckService;
  server: Server;
}

export class ServiceHealthServers {
  private readonly instances = new Map<string, Instance>();

  constructor(private readonly o: ServiceHealthOptions) {}

  /** Opens servers for new Services, closes those no longer wanted (or moved), updates counts. */
  sync(wanted: Map<string, HealthCheckService>): void {
    for (const [key, inst] of this.instances) {
      const w = wanted.get(key);
      if (w && w.port === inst.service.port) continue;
      this.o.log.info({ service: key, port: inst.service.port }, "closing healthcheck");
      inst.server.close();
      this.instances.delete(key);
    }
    for (const [key, svc] of wanted) {
      const inst = this.instances.get(key);
      if (inst) inst.service = svc;
      else this.open(key, svc);
    }
  }

  /** The ports being served or opened, by Service key (status pages, tests). */
  ports(): Map<string, number> {
    return new Map([...this.instances].map(([k, i]) => [k, i.service.port]));
  }

  close(): void {
    for (const inst of this.instances.values()) inst.server.close();
    this.instances.clear();
  }

  private open(key: string, svc: HealthCheckService): void {
    const server = createServer((req, res) => {
      const cur = this.instances.get(key);
      if (!cur || cur.server !== server) return void res.socket?.destroy();
      const healthy = this.o.proxyHealthy();
      res.writeHead(cur.service.localEndpoints !== 0 && healthy ? 200 : 503, { "Content-Type": "application/json", "X-Content-Type-Options": "nosniff" });
      res.end(healthCheckBody(cur.service, healthy));
    });
    const inst: Instance = { service: svc, server };
    this.instances.set(key, inst);
    server.once("error", (e) => {
      if (this.instances.get(key) === inst) this.instances.delete(key);
      const msg = `node ${this.o.nodeName} failed to start healthcheck "${key}" on port ${svc.port}: ${listenErrorText("TCP", this.o.nodeIp, svc.port, e).replace("tcp4", "tcp")}`;
      this.o.log.warn({ service: key, port: svc.port }, msg);
      const obj = this.o.serviceOf(svc.namespace, svc.name);
      if (obj) this.o.recorder?.event(obj, "Warning", FAILED_TO_START_SERVICE_HEALTHCHECK, msg);
    });
    server.listen({ host: this.o.nodeIp, port: svc.port, exclusive: true }, () => this.o.log.info({ service: key, port: svc.port }, "opened healthcheck"));
  }
}
