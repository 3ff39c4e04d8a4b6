/**
 * metallb/controller (MetalLB v0.9.6): `/controller --port=7472 --config=config`. Allocates
 * load-balancer addresses (../metallb/controller.ts), serves the allocator's gauges on
 * $POD_IP:port/metrics; re-reads the ConfigMap and Services every
 * second (upstream watches them).
 */
import { createServer } from "node:http";
import { MetallbController } from "../metallb/controller.js";
import { apiClient, flag, jsonLog, ownNamespace, runLoop } from "../metallb/program.js";
import { onStop, podIP } from "./lib.js";

const args = process.argv.slice(2);
const log = jsonLog("main.go");
let api;
try {
  api = apiClient(args);
} catch (e) {
  log(`failed to create k8s client: ${(e as Error).message}`);
  process.exit(1);
}
const configMapName = flag(args, "config") ?? "config";
const controller = new MetallbController({ api, namespace: ownNamespace(args), configMapName, log, now: () => new Date() });
log("MetalLB controller starting version 0.9.6 (commit kubemu, branch main)");
const metrics = createServer((req, res) => {
  if (req.url === "/metrics") {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(controller.metrics());
    return;
  }
  res.writeHead(404).end("404 page not found\n");
});
metrics.on("error", (e) => log(`metrics server: ${e.message}`)); // metrics are optional; allocating goes on
metrics.listen(Number(flag(args, "port") ?? 7472), podIP());

const loop = runLoop(() => controller.tick(), 1000, log);
onStop(() => {
  loop.stop();
  metrics.close();
  process.exit(0);
});
