import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe as suite, expect, it } from "vitest";
import { readWal } from "../../src/wal/index.js";
import { tempDirs } from "./helpers.js";

const dirs = tempDirs();
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) killByPid(c);
  await dirs.cleanup();
});

const childScript = fileURLToPath(new URL("./crash-child.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

function killByPid(c: ChildProcess): void {
  if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
    try {
      process.kill(c.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Runs the child until it has acknowledged `acks` appends, SIGKILLs it, returns the acked indexes. */
async function runAndKill(dir: string, acks: number): Promise<number[]> {
  const child = spawn(process.execPath, ["--import", "tsx", childScript, dir], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const acked: number[] = [];
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      let buf = "";
      child.stdout?.on("data", (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split("\n");
        buf = lines.pop() ?? "";
        for (const line of lines) {
          const m = /^ack (\d+)$/.exec(line);
          if (m) acked.push(Number(m[1]));
        }
        if (acked.length >= acks) resolve();
      });
      child.on("exit", (code, signal) => reject(new Error(`child exited early (${code ?? signal}): ${stderr}`)));
      child.on("error", reject);
    });
    process.kill(child.pid as number, "SIGKILL");
    await new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));
  } finally {
    killByPid(child);
  }
  return acked;
}

suite("WAL crash safety", () => {
  it("every index acknowledged before SIGKILL is present after reopening, across repeated crashes", async () => {
    const dir = await dirs.make();
    let maxAcked = 0;
    for (let round = 0; round < 3; round++) {
      const acked = await runAndKill(dir, 400 + round * 100);
      expect(acked.length).toBeGreaterThanOrEqual(400);
      maxAcked = Math.max(maxAcked, ...acked);
      const state = await readWal(dir);
      const present = state.entries.map((e) => e.index);
      const last = present[present.length - 1] ?? 0;
      // Contiguous from 1, and reaching at least the highest acknowledged index.
      expect(present[0]).toBe(1);
      expect(last - present.length).toBe(0);
      expect(last).toBeGreaterThanOrEqual(maxAcked);
      for (const e of state.entries) expect(e.data[0]).toBe(e.index % 251);
    }
  }, 60_000);
});
