/**
 * One container process: started in a bwrap sandbox (or, where bwrap cannot run, as a plain
 * child process that dies with the kubelet through setpriv --pdeathsig), its stdout/stderr
 * written to its CRI log file, its exit observed, stopped with its stop signal then SIGKILL after
 * the grace period. With a cgroup (cgroups.ts) the sandbox starts inside it — a shell writes its
 * own pid into the cgroup.procs files and execs bwrap, so nothing of the container is ever
 * outside — and the kernel enforces the limits: an OOM kill it counted makes the exit OOMKilled.
 * Without one, a memory limit is a sampling watchdog: a process tree whose resident memory goes
 * over the limit is SIGKILLed and reported as OOMKilled (exit 137); a burst between two samples
 * is not caught, and CPU limits are not enforced.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { programsDir } from "@kubemu/images";
import type { Logger } from "@kubemu/common";
import { ContainerIO, childTerminal, onTerminal } from "./container-io.js";
import { CriLogWriter } from "./cri-log.js";
import type { ContainerCgroup } from "./cgroups.js";
import { findOnPath } from "./executables.js";
import { bwrapArgs, type HostFs, type Mount } from "./sandbox.js";
import { treeUsage, type ProcessTreeUsage } from "./usage.js";

/** The kubemu checkout (catalog programs and node_modules) and Node itself, which containers run even when they live in /tmp. */
const EXPOSED = [resolve(programsDir, "../../../.."), dirname(dirname(process.execPath))];

export interface LaunchSpec {
  containerID: string;
  /** [executable (host path), ...args]. */
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  hostname: string;
  mounts: Mount[];
  etcHosts?: string;
  resolvConf?: string;
  /** Host paths to hide from the container. */
  hidden: string[];
  logPath: string;
  /** Watched by the sampling watchdog when there is no cgroup. */
  memoryLimitBytes?: number;
  /** The container's cgroup, made with its limits; the sandbox is started inside it. */
  cgroup?: ContainerCgroup;
  stopSignal: NodeJS.Signals;
  /** The container's `stdin`, `stdinOnce` and `tty`: its stdin is held open for `kubectl attach`, on a PTY with tty. */
  stdio?: { stdin: boolean; stdinOnce: boolean; tty: boolean };
}

export interface ExitInfo {
  exitCode: number;
  reason: "Completed" | "Error" | "OOMKilled";
  finishedAt: number;
}

export type SandboxKind = { kind: "bwrap"; unshareUser: boolean } | { kind: "none"; setpriv: boolean };

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15 };

/**
 * The first process of a container in a cgroup: `sh -c JOIN_CGROUP kubemu-cgroup-join N file1..fileN
 * cmd args`. It writes its own pid into each cgroup.procs file (one per v1 hierarchy) and execs the
 * command, so the sandbox and all it forks are born inside; a write that fails ends it with 126
 * and says why on stderr (the container's log) instead of running the container unconfined.
 */
export const JOIN_CGROUP = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || { echo "kubemu: cannot join cgroup $1" >&2; exit 126; }; shift; n=$((n - 1)); done; exec "$@"';

/** The argv that starts bin inside the cgroup whose cgroup.procs files are given. */
export function joinCgroupArgv(procsFiles: readonly string[], bin: string, args: readonly string[]): string[] {
  return ["-c", JOIN_CGROUP, "kubemu-cgroup-join", String(procsFiles.length), ...procsFiles, bin, ...args];
}

/** Resident memory of a process and its descendants, from /proc (bytes; 0 if gone). */
export function treeRssBytes(pid: number): number {
  let total = 0;
  const seen = new Set<number>();
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    try {
      const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      if (m) total += Number(m[1]) * 1024;
      for (const t of readFileSync(`/proc/${p}/task/${p}/children`, "utf8").split(" ").filter(Boolean)) stack.push(Number(t));
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

export class ContainerProcess {
  /** Host pid of the container's process (PID 1 in its namespace); undefined until known. */
  pid: number | undefined;
  readonly exited: Promise<ExitInfo>;
  /** The stdio `kubectl attach` joins: output always, stdin only for a container with `stdin: true`. */
  readonly io: ContainerIO;
  private readonly child: ChildProcess;
  private oomKilled = false;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly log: CriLogWriter;
  private readonly pidKnown: Promise<number | undefined>;
  private readonly groupKill: boolean;
  private readonly sandboxed: boolean;

  constructor(
    private readonly spec: LaunchSpec,
    sandbox: SandboxKind,
    fs: HostFs,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {
    this.log = new CriLogWriter(spec.logPath);
    this.groupKill = sandbox.kind === "none";
    this.sandboxed = sandbox.kind === "bwrap";
    const held = spec.stdio && (spec.stdio.stdin || spec.stdio.tty) ? spec.stdio : undefined;
    // A tty container runs under `script` inside its sandbox, so the PTY comes from the sandbox's own /dev/pts.
    const script = held?.tty ? findOnPath("script", process.env.PATH ?? "") : undefined;
    if (held?.tty && !script) logger.warn({ container: spec.containerID }, "util-linux script is not installed: the tty container gets a plain stdin pipe");
    const argv = script ? onTerminal(script, spec.argv) : spec.argv;
    let args: string[];
    let bin: string;
    if (sandbox.kind === "bwrap") {
      bin = "bwrap";
      args = bwrapArgs(fs, {
        hostname: spec.hostname,
        mounts: spec.mounts,
        ...(spec.etcHosts ? { etcHosts: spec.etcHosts } : {}),
        ...(spec.resolvConf ? { resolvConf: spec.resolvConf } : {}),
        hidden: spec.hidden,
        exposed: EXPOSED,
        cwd: spec.cwd,
        argv,
        infoFd: 3,
        statusFd: 4,
        unshareUser: sandbox.unshareUser,
      });
    } else if (sandbox.setpriv) {
      bin = "setpriv";
      args = ["--pdeathsig", "KILL", "--", ...argv];
    } else {
      bin = argv[0]!;
      args = argv.slice(1);
    }
    const cwd = sandbox.kind === "none" && !existsSync(spec.cwd) ? "/" : sandbox.kind === "none" ? spec.cwd : "/";
    if (spec.cgroup) {
      // The shell looks bin up on the container's PATH, which need not hold the host's bwrap.
      args = joinCgroupArgv(spec.cgroup.procsFiles, findOnPath(bin, process.env.PATH ?? "") ?? bin, args);
      bin = "/bin/sh";
    }
    this.child = spawn(bin, args, {
      env: spec.env,
      cwd,
      stdio: [held ? "pipe" : "ignore", "pipe", "pipe", "pipe", "pipe"],
      // Plain processes get their own group so a stop reaches their children too.
      detached: sandbox.kind === "none",
    });
    // The PTY's process is script's child: PID 1 of the sandbox is script itself.
    this.io = new ContainerIO(held?.stdin ? this.child.stdin! : undefined, script !== undefined, held?.stdinOnce ?? false, () => (this.pid !== undefined ? childTerminal(this.pid) : undefined), [this.child.stdout!, this.child.stderr!]);
    if (held && !held.stdin) this.child.stdin!.on("error", () => undefined);
    this.child.stdout!.on("data", (d: Buffer) => {
      this.log.write("stdout", d);
      this.io.emit("stdout", d);
    });
    this.child.stderr!.on("data", (d: Buffer) => {
      this.log.write("stderr", d);
      this.io.emit("stderr", d);
    });
    let statusExit: number | undefined;
    this.pidKnown = new Promise((resolve) => {
      if (sandbox.kind !== "bwrap") {
        this.pid = this.child.pid;
        resolve(this.child.pid);
        return;
      }
      let info = "";
      const fd3 = this.child.stdio[3] as NodeJS.ReadableStream | null;
      fd3?.on("data", (d: Buffer) => {
        info += d.toString();
        const m = /"child-pid":\s*(\d+)/.exec(info);
        if (m && this.pid === undefined) {
          this.pid = Number(m[1]);
          resolve(this.pid);
        }
      });
      fd3?.on("end", () => resolve(this.pid));
      let status = "";
      const fd4 = this.child.stdio[4] as NodeJS.ReadableStream | null;
      fd4?.on("data", (d: Buffer) => {
        status += d.toString();
        const m = /"exit-code":\s*(\d+)/.exec(status);
        if (m) statusExit = Number(m[1]);
      });
    });
    this.exited = new Promise((resolve) => {
      this.child.on("error", (e) => {
        this.logger.error({ err: e.message, container: spec.containerID }, "cannot start the container process");
      });
      this.child.on("close", (code, signal) => {
        if (this.watchdog) clearInterval(this.watchdog);
        this.io.end();
        let exitCode = statusExit ?? code ?? (signal ? 128 + (SIGNALS[signal] ?? 9) : 1);
        const finishedAt = this.now();
        // The kernel's count, read before the cgroup goes.
        if (spec.cgroup?.oomKilled(exitCode === 137)) this.oomKilled = true;
        if (this.oomKilled && !spec.cgroup) exitCode = 137;
        void Promise.all([this.log.close(), spec.cgroup?.remove()]).then(() =>
          resolve({ exitCode, reason: this.oomKilled ? "OOMKilled" : exitCode === 0 ? "Completed" : "Error", finishedAt }),
        );
      });
    });
    if (spec.memoryLimitBytes && !spec.cgroup) {
      const limit = spec.memoryLimitBytes;
      this.watchdog = setInterval(() => {
        if (this.pid === undefined || this.oomKilled) return;
        if (treeRssBytes(this.pid) > limit) {
          this.oomKilled = true;
          this.logger.info({ container: spec.containerID, limit }, "memory limit exceeded: killing the container (OOMKilled)");
          this.signal("SIGKILL");
        }
      }, 250);
      this.watchdog.unref();
    }
  }

  /**
   * Resolves once the container's process runs its own program (undefined if it never started):
   * bwrap reports the pid before it has set up the mounts and exec'd, and an exec probe entering
   * the namespaces earlier would see a half-made root.
   */
  async started(): Promise<number | undefined> {
    const pid = await this.pidKnown;
    if (pid === undefined || !this.sandboxed) return pid;
    for (let i = 0; i < 200; i++) {
      let exe = "";
      try {
        exe = readlinkSync(`/proc/${pid}/exe`);
      } catch {
        return pid;
      }
      if (!exe.endsWith("/bwrap")) return pid;
      await new Promise((r) => setTimeout(r, 5));
    }
    return pid;
  }

  /** CPU and memory of the container: its cgroup's, else its process tree's from /proc. */
  usage(): ProcessTreeUsage | undefined {
    if (this.spec.cgroup) return this.spec.cgroup.usage();
    return this.pid === undefined ? undefined : treeUsage(this.pid);
  }

  signal(sig: NodeJS.Signals): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      // A plain process's whole group; a sandbox's PID 1 (its namespace dies with it).
      if (this.pid !== undefined) process.kill(this.groupKill ? -this.pid : this.pid, sig);
      else this.child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }

  /** Stop: the stop signal, then SIGKILL once graceMs passed. Resolves with the exit. */
  async stop(graceMs: number): Promise<ExitInfo> {
    this.signal(this.spec.stopSignal);
    const timer = setTimeout(() => this.signal("SIGKILL"), Math.max(0, graceMs));
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
