/**
 * metallb/controller (MetalLB v0.9.6): `/controller --port=7472 --config=config`. Allocates
 * load-balancer addresses (../metallb/controller.ts); re-reads the ConfigMap and Services every
 * second (upstream watches them).
 */
import { MetallbController } from "../metallb/controller.js";
import { apiClient, flag, jsonLog, ownNamespace, runLoop } from "../metallb/program.js";
import { onStop } from "./lib.js";

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
const loop = runLoop(() => controller.tick(), 1000, log);
onStop(() => {
  loop.stop();
  process.exit(0);
});
