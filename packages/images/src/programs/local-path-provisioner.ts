/**
 * rancher/local-path-provisioner (and kind's kindest/local-path-provisioner build of it):
 * `local-path-provisioner [--debug] start [--config F] [--helper-image I] [--provisioner-name N]
 * [--namespace NS] [--kubeconfig F]`. In-cluster API access from the pod's service account files and
 * KUBERNETES_SERVICE_HOST/PORT; the provisioning logic is ../local-path/.
 */
import { existsSync, readFileSync } from "node:fs";
import { ApiServerClient, inClusterConfig, kubeconfigConfig } from "../local-path/api.js";
import { LocalPathProvisioner } from "../local-path/provisioner.js";
import { KIND_CONFIG, parseConfig, PROVISIONER_NAME } from "../local-path/provisioning.js";
import { onStop } from "./lib.js";

function flag(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = args[i]!;
  return a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[i + 1];
}

const logTime = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
const log = (level: string) => (line: string) => process.stderr.write(`time="${logTime()}" level=${level} msg="${line.replace(/"/g, '\\"')}"\n`);

const args = process.argv.slice(2);
if (!args.includes("start")) {
  process.stderr.write("NAME:\n   local-path-provisioner - Local Path Provisioner\n\nUSAGE:\n   local-path-provisioner [global options] command [command options]\n\nCOMMANDS:\n   start    Start a local path provisioner\n");
  process.exit(args.length === 0 ? 0 : 1);
}
const configFile = flag(args, "config") ?? (process.env.CONFIG_MOUNT_PATH ? `${process.env.CONFIG_MOUNT_PATH.replace(/\/$/, "")}/config.json` : undefined);
let config = KIND_CONFIG;
try {
  if (configFile !== undefined && existsSync(configFile)) config = parseConfig(readFileSync(configFile, "utf8"));
  else if (flag(args, "config") !== undefined) throw new Error(`open ${configFile}: no such file or directory`);
} catch (e) {
  log("fatal")(`Error starting daemon: invalid config file: ${(e as Error).message}`);
  process.exit(1);
}

let client: ApiServerClient;
try {
  const kubeconfig = flag(args, "kubeconfig");
  client = new ApiServerClient(kubeconfig ? kubeconfigConfig(kubeconfig) : inClusterConfig());
} catch (e) {
  log("fatal")(`Error starting daemon: ${(e as Error).message}`);
  process.exit(1);
}
const namespace = flag(args, "namespace") ?? process.env.POD_NAMESPACE ?? "local-path-storage";
const provisioner = new LocalPathProvisioner({
  client,
  config,
  namespace,
  helperImage: flag(args, "helper-image") ?? "busybox",
  provisionerName: flag(args, "provisioner-name") ?? PROVISIONER_NAME,
  log: log("info"),
});
log("info")(`Starting provisioner controller ${flag(args, "provisioner-name") ?? PROVISIONER_NAME} in namespace ${namespace}`);
onStop(() => {
  provisioner.stop();
  process.exit(0);
});
void provisioner.run();
