/**
 * registry.k8s.io/coredns/coredns: `/coredns -conf /etc/coredns/Corefile` (also -version,
 * -plugins). The Corefile subset kubemu runs (src/coredns/config.ts), the kubernetes plugin over
 * the API with the pod's service account (in-cluster config) unless the block names an endpoint
 * or kubeconfig, servers on $POD_IP. A Corefile error ends the process at start in CoreDNS's words.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeSync } from "node:fs";
import { CorefileError, parseCorefile } from "../coredns/corefile.js";
import { serverConfig, type ServerConfig } from "../coredns/config.js";
import { PLUGIN_ORDER } from "../coredns/corefile.js";
import { VERSION } from "../coredns/metrics.js";
import { bannerLines, CoreDns } from "../coredns/server.js";
import { inClusterConfig } from "../local-path/api.js";
import { onStop, podIP } from "./lib.js";

// Lines go out once per event-loop turn: at thousands of queries a second (the log plugin) one
// write per line would cost more than answering.
let pending: string[] = [];
function flush(): void {
  if (pending.length === 0) return;
  const text = pending.join("");
  pending = [];
  process.stdout.write(text);
}
const out = (line: string) => {
  if (pending.length === 0) setImmediate(flush);
  pending.push(`${line}\n`);
};
process.on("exit", () => {
  if (pending.length) writeSync(1, pending.join(""));
});

function flag(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === `-${name}` || a === `--${name}` || a.startsWith(`-${name}=`) || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = args[i]!;
  return a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[i + 1];
}

const args = process.argv.slice(2);
if (args.includes("-version") || args.includes("--version")) {
  out(`CoreDNS-${VERSION}\nlinux/amd64, go1.21.11, a6338e9`);
  process.exit(0);
}
if (args.includes("-plugins") || args.includes("--plugins")) {
  out(`Server types:\n  dns\n\nCaddyfile loaders:\n  flag\n  default\n\nOther plugins:\n${PLUGIN_ORDER.map((p) => `  dns.${p}`).join("\n")}`);
  process.exit(0);
}
const confFile = flag(args, "conf") ?? "Corefile";

function load(): { text: string; configs: ServerConfig[] } {
  const text = readFileSync(confFile, "utf8");
  const blocks = parseCorefile(text, confFile);
  const port = flag(args, "dns.port");
  return { text, configs: blocks.map((b) => serverConfig(port ? { ...b, keys: b.keys.map((k) => ({ ...k, port: Number(port) })) } : b, confFile)) };
}

function fatal(e: unknown): never {
  flush();
  out(e instanceof CorefileError ? e.message : e instanceof Error && "code" in e && (e as NodeJS.ErrnoException).code === "ENOENT" ? `open ${confFile}: no such file or directory` : (e as Error).message);
  process.exit(1);
}

async function run(text: string, configs: ServerConfig[]): Promise<CoreDns> {
  const dns = new CoreDns({ configs, bindIP: podIP(), apiConfig: () => inClusterConfig(), out });
  await dns.start();
  for (const l of bannerLines(text)) out(l);
  dns.probeLoop(configs[0]!.port);
  return dns;
}

let loaded: { text: string; configs: ServerConfig[] };
try {
  loaded = load();
} catch (e) {
  fatal(e);
}
let current: CoreDns;
try {
  current = await run(loaded.text, loaded.configs);
} catch (e) {
  fatal(e);
}

// reload: poll the Corefile; a changed, valid one replaces the running servers.
const reload = loaded.configs.find((c) => c.reload)?.reload;
if (reload) {
  let sum = createHash("sha512").update(loaded.text).digest("hex");
  const tick = () => {
    setTimeout(() => void check(), reload.intervalMs + Math.floor(Math.random() * reload.jitterMs)).unref();
  };
  const check = async () => {
    try {
      const text = readFileSync(confFile, "utf8");
      const next = createHash("sha512").update(text).digest("hex");
      if (next !== sum) {
        sum = next;
        const { configs } = load();
        out("[INFO] Reloading");
        await current.stop();
        current = await run(text, configs);
        out("[INFO] Reloading complete");
      }
    } catch (e) {
      out(`[ERROR] Restart failed: ${(e as Error).message}`);
    }
    tick();
  };
  tick();
}

onStop((sig) => {
  out(`[INFO] ${sig}: Shutting down servers then terminating`);
  void current.shutdown().then(() => process.exit(0));
});
