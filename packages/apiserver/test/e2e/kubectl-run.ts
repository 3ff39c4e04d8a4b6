/** Runs the real kubectl (the dispatcher on PATH, or a pinned binary) with a kubeconfig and a private cache dir. */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { realpathSync } from "node:fs";
import { execFileSync } from "node:child_process";

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Path of a specific kubectl minor beside the dispatcher (kubectl.1.33). */
export function pinnedKubectl(minor: string): string {
  const dispatcher = realpathSync(execFileSync("which", ["kubectl"]).toString().trim());
  return join(dirname(dispatcher), `kubectl.1.${minor}`);
}

export class Kubectl {
  constructor(
    readonly kubeconfig: string,
    readonly cacheDir: string,
    readonly bin = "kubectl",
  ) {}

  private env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { ...process.env, KUBECONFIG: this.kubeconfig, ...extra };
  }

  run(args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<KubectlResult> {
    return new Promise((resolve) => {
      const child = execFile(
        this.bin,
        ["--cache-dir", this.cacheDir, ...args],
        { env: this.env(opts.env), timeout: opts.timeoutMs ?? 30_000, maxBuffer: 32 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
          resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
        },
      );
      if (opts.input !== undefined) child.stdin!.end(opts.input);
    });
  }

  /** Runs and throws with stderr unless it succeeds; returns stdout. */
  async ok(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<string> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** Starts a long-running kubectl (get -w); the caller kills it by pid. */
  spawn(args: string[]): { child: ChildProcess; output: () => string } {
    const child = spawn(this.bin, ["--cache-dir", this.cacheDir, ...args], { env: this.env(), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    return { child, output: () => out };
  }
}
