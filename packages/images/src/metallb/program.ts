/**
 * What both metallb programs share: flags (`--port=7472 --config=config`, kubemu's `--kubeconfig`
 * and `--namespace`), API access (in-cluster service account, or a kubeconfig), go-kit's JSON log
 * lines on stdout, and the loop that runs one pass every period with backoff on errors.
 */
import { existsSync, readFileSync } from "node:fs";
import { ApiServerClient, inClusterConfig, kubeconfigConfig, SERVICE_ACCOUNT_DIR } from "../local-path/api.js";

export function flag(args: readonly string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`) || a === `-${name}` || a.startsWith(`-${name}=`));
  if (i < 0) return undefined;
  const a = args[i]!;
  return a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[i + 1];
}

/** go-kit's logfmt-as-JSON lines, as MetalLB logs: {"caller":..., "msg":..., "ts":...}. */
export function jsonLog(caller: string): (line: string) => void {
  return (line) => process.stdout.write(JSON.stringify({ caller, msg: line, ts: new Date().toISOString() }) + "\n");
}

export function apiClient(args: readonly string[]): ApiServerClient {
  const kubeconfig = flag(args, "kubeconfig");
  return new ApiServerClient(kubeconfig ? kubeconfigConfig(kubeconfig) : inClusterConfig());
}

/** The pod's namespace (upstream reads it from the service account files), else metallb-system. */
export function ownNamespace(args: readonly string[]): string {
  const given = flag(args, "namespace") ?? process.env.METALLB_NAMESPACE;
  if (given) return given;
  const file = `${SERVICE_ACCOUNT_DIR}/namespace`;
  return existsSync(file) ? readFileSync(file, "utf8").trim() : "metallb-system";
}

/** Runs tick every periodMs; a failed pass is logged and retried after a doubling backoff (at most 10 s). */
export function runLoop(tick: () => Promise<void>, periodMs: number, log: (line: string) => void): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  const pass = async () => {
    try {
      await tick();
      failures = 0;
    } catch (e) {
      failures++;
      log(`sync failed, retrying: ${(e as Error).message}`);
    }
    if (!stopped) timer = setTimeout(() => void pass(), failures === 0 ? periodMs : Math.min(10_000, periodMs * 2 ** failures));
  };
  void pass();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
