/**
 * metallb/speaker (MetalLB v0.9.6): `/speaker --port=7472 --config=config`, one per node
 * (--node-name / METALLB_NODE_NAME, --host / METALLB_HOST = the node IP; hostNetwork). Decides which node announces each
 * Service (../metallb/speaker.ts), serves /metrics on $METALLB_HOST:port; re-reads the
 * ConfigMap, Services and Endpoints every second (upstream watches them).
 */
import { createServer } from "node:http";
import { MetallbSpeaker } from "../metallb/speaker.js";
import { apiClient, flag, jsonLog, ownNamespace, runLoop } from "../metallb/program.js";
import { onStop, podIP } from "./lib.js";

const args = process.argv.slice(2);
const log = jsonLog("main.go");
// Upstream's flags default to these variables: --node-name $METALLB_NODE_NAME, --host $METALLB_HOST.
const node = flag(args, "node-name") ?? process.env.METALLB_NODE_NAME;
if (!node) {
  log("must specify --node-name or METALLB_NODE_NAME");
  process.exit(1);
}
let api;
try {
  api = apiClient(args);
} catch (e) {
  log(`failed to create k8s client: ${(e as Error).message}`);
  process.exit(1);
}
const speaker = new MetallbSpeaker({ api, node, namespace: ownNamespace(args), configMapName: flag(args, "config") ?? "config", log, now: () => new Date() });
log(`MetalLB speaker starting version 0.9.6 (commit kubemu, branch main) node=${node}`);
log("not starting fast dead node detection (memberlist), need ml-bindaddr / ml-labels / ml-namespace config");

const host = flag(args, "host") ?? (process.env.METALLB_HOST || podIP());
const port = Number(flag(args, "port") ?? 7472);
const metrics = createServer((req, res) => {
  if (req.url === "/metrics") {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(speaker.metrics());
    return;
  }
  res.writeHead(404).end("404 page not found\n");
});
metrics.on("error", (e) => log(`metrics server: ${e.message}`)); // metrics are optional; announcing goes on
metrics.listen(port, host);

const loop = runLoop(() => speaker.tick(), 1000, log);
onStop(() => {
  loop.stop();
  metrics.close();
  process.exit(0);
});
