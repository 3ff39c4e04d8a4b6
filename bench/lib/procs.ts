/**
 * Children of a benchmark: every process is spawned through here and killed by its pid when
 * the benchmark ends, fails, or is interrupted (SIGINT/SIGTERM), and on process exit. Temp
 * directories registered here are removed then too.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<Child>();
const tempDirs = new Set<string>();
let hooked = false;

function killAllSync(): void {
  for (const c of live) {
    try {
      process.kill(c.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  live.clear();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

/** A new directory under the OS temp dir, removed when the benchmark exits (or by removeTempDir). */
export function makeTempDir(prefix: string): string {
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Removes a directory made by makeTempDir. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", killAllSync);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      killAllSync();
      process.exit(130);
    });
  }
}

/** Spawns a child with stdout+stderr appended to logFile; it is tracked until it exits. */
export function spawnChild(name: string, cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): Child {
  hookExit();
  const out = createWriteStream(logFile, { flags: "a" });
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env });
  proc.stdout!.pipe(out);
  proc.stderr!.pipe(out);
  if (proc.pid === undefined) throw new Error(`cannot start ${name} (${cmd})`);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  const child: Child = { name, proc, pid: proc.pid, exited };
  live.add(child);
  void exited.then(() => live.delete(child));
  return child;
}

/** Sends a signal to a child by pid (if it is still ours and alive) and waits for it to exit. */
export async function stopChild(c: Child, signal: NodeJS.Signals = "SIGKILL", graceMs = 5000): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill(signal);
  const done = await Promise.race([c.exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    c.proc.kill("SIGKILL");
    await c.exited;
  }
}

/** SIGKILLs every child still running (the error path). */
export function killAllChildren(): void {
  killAllSync();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
