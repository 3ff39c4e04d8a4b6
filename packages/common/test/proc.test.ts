import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { isProcessAlive, readProcStat } from "../src/index.js";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/**
 * A real zombie: `sh` backgrounds `sleep 0.1`, prints its pid and execs `sleep 5`, which never
 * waits for children — so the short sleep exits and stays a zombie until its parent is killed.
 */
async function zombie(): Promise<{ pid: number; parent: ChildProcess }> {
  const parent = spawn("sh", ["-c", "sleep 0.1 & echo $!; exec sleep 5"], { stdio: ["ignore", "pipe", "ignore"] });
  children.push(parent);
  const [chunk] = (await once(parent.stdout!, "data")) as [Buffer];
  const pid = Number(chunk.toString().trim());
  expect(Number.isSafeInteger(pid)).toBe(true);
  const deadline = Date.now() + 5_000;
  while (readProcStat(pid)?.state !== "Z") {
    if (Date.now() > deadline) throw new Error(`pid ${pid} did not become a zombie: ${JSON.stringify(readProcStat(pid))}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { pid, parent };
}

describe("process liveness", () => {
  it("reads state and start time from /proc", () => {
    const stat = readProcStat(process.pid);
    expect(stat?.state).toMatch(/^[RS]$/);
    expect(stat?.startTime).toBeGreaterThan(0);
    expect(readProcStat(0x7fffffff)).toBeUndefined();
    expect(readProcStat(0)).toBeUndefined();
    expect(readProcStat(-1)).toBeUndefined();
  });

  it("a running process is alive; with a start time, only if it is still the same process", () => {
    const me = readProcStat(process.pid)!;
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(process.pid, me.startTime)).toBe(true);
    expect(isProcessAlive(process.pid, me.startTime - 1)).toBe(false); // a recycled pid
    expect(isProcessAlive(0x7ffffffe)).toBe(false);
    expect(isProcessAlive(0)).toBe(false);
    expect(isProcessAlive(Number.NaN)).toBe(false);
  });

  it("a zombie (exited, not yet reaped) is not alive, though signal 0 still reaches it", async () => {
    const { pid, parent } = await zombie();
    expect(() => process.kill(pid, 0)).not.toThrow(); // what the old check relied on
    const stat = readProcStat(pid)!;
    expect(isProcessAlive(pid)).toBe(false);
    expect(isProcessAlive(pid, stat.startTime)).toBe(false);
    expect(isProcessAlive(parent.pid!)).toBe(true);
  });
});
