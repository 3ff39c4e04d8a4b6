import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { probeBind } from "../src/ports.js";
import { isOurProcessAlive, readProcStat } from "../src/proc.js";

export const repo = fileURLToPath(new URL("../../../", import.meta.url));
export const cliMain = join(repo, "packages/cli/dist/main.js");
export const fixture = fileURLToPath(new URL("./fixtures/fake-component.ts", import.meta.url));
/** tsx's ESM loader as a file URL, so `--import` works from any working directory. */
export const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ (tsc -b, incremental) when the CLI's or common's sources are newer than their builds. */
export function ensureBuilt(): void {
  const buildInfo = (pkg: string) => join(repo, "packages", pkg, "dist/.tsbuildinfo");
  const stale = ["cli", "common"].some((pkg) => !existsSync(buildInfo(pkg)) || newestMtime(join(repo, "packages", pkg, "src")) > statSync(buildInfo(pkg)).mtimeMs);
  if (stale) {
    try {
      execFileSync(join(repo, "node_modules/.bin/tsc"), ["-b", "packages/cli"], { cwd: repo, stdio: "ignore" });
    } catch {
      // Other packages' half-done files may fail type-checking; tsc still emits, and dist is what matters.
    }
  }
  if (!existsSync(cliMain)) throw new Error(`${cliMain} was not built`);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node packages/cli/dist/main.js --state-dir <stateDir> ...args` and collects its output. */
export function runKubemu(stateDir: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliMain, "--state-dir", stateDir, ...args], { cwd: repo, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts the CLI without waiting (for `logs -f`). */
export function spawnKubemu(stateDir: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [cliMain, "--state-dir", stateDir, ...args], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
}

const stateDirs: string[] = [];

/** A fresh state dir under the OS temp dir, remembered for {@link cleanupStateDirs}. */
export function newStateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "kubemu-cli-test-"));
  stateDirs.push(dir);
  return dir;
}

interface RecordedProcess {
  name: string;
  pid: number | null;
  startTime: number | null;
}

/** The processes in a state dir's cluster.json (empty if none). */
export function recorded(stateDir: string): RecordedProcess[] {
  const file = join(stateDir, "cluster.json");
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, "utf8")) as { processes: RecordedProcess[] }).processes;
}

/** Every pid ever seen in a test, so cleanup can kill restarted generations too. */
const seenPids: RecordedProcess[] = [];

/** Remembers the current pids of a state dir (call after each start/restart). */
export function rememberPids(stateDir: string): RecordedProcess[] {
  const procs = recorded(stateDir);
  seenPids.push(...procs.map((p) => ({ ...p })));
  return procs;
}

/** SIGKILLs every process recorded in any test state dir (matching start time only), then deletes the dirs. */
export function cleanupStateDirs(): void {
  for (const dir of stateDirs) seenPids.push(...recorded(dir));
  for (const p of seenPids) {
    if (p.pid !== null && isOurProcessAlive(p)) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  }
  seenPids.length = 0;
  for (const dir of stateDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** True if the process with this pid and start time is alive. */
export function alive(p: RecordedProcess): boolean {
  return isOurProcessAlive(p);
}

/** Polls until cond() holds or timeoutMs passes. */
export async function eventually(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Picks count loopback IPs 127.0.199.<first..> and one high port free on all of them. Each test
 * passes its own `first` so tests never share an address.
 */
export async function freeAddresses(first: number, count: number): Promise<{ ips: string[]; port: number }> {
  const ips = Array.from({ length: count }, (_, i) => `127.0.199.${first + i}`);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 40_000 + Math.floor(Math.random() * 20_000);
    const results = await Promise.all(ips.map((ip) => probeBind(ip, port)));
    if (results.every((r) => r === undefined)) return { ips, port };
  }
  throw new Error("no free port found");
}

export interface FixtureProcess {
  name: string;
  ip: string;
  extraArgs?: string[];
  /** The component it stands in for (decides its stop order); default "fake". */
  component?: string;
}

/** Writes a --spec YAML file of fixture processes and returns its path. */
export function writeFixtureSpec(stateDir: string, port: number, procs: FixtureProcess[]): string {
  const spec = procs.map((p) => ({
    name: p.name,
    component: p.component ?? "fake",
    bin: fixture,
    nodeArgs: ["--import", tsxLoader],
    args: p.extraArgs ?? [],
    addresses: { control: `${p.ip}:${port}` },
    controlUrl: `http://${p.ip}:${port}`,
  }));
  const file = join(stateDir, "spec.json");
  writeFileSync(file, JSON.stringify(spec, null, 2));
  return file;
}

/** /proc/<pid>/stat fields 5 and 6: process group and session. */
export function groupAndSession(pid: number): { pgrp: number; session: number } {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { pgrp: Number(rest[2]), session: Number(rest[3]) };
}

export { readProcStat };
