import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { realClock } from "@kubemu/common";
import { afterEach, describe, expect, it } from "vitest";
import { isOurProcessAlive, killOurProcess, readProcStat, stopOurProcess } from "../src/proc.js";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/** A child node process that sleeps; with ignoreTerm it survives SIGTERM. It prints "ready" once its handlers are set. */
async function sleeper(ignoreTerm = false) {
  const code = `${ignoreTerm ? 'process.on("SIGTERM", () => {});' : ""} setInterval(() => {}, 1000); console.log("ready");`;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "ignore"] });
  children.push(child);
  await once(child.stdout!, "data");
  const stat = readProcStat(child.pid!);
  expect(stat).toBeDefined();
  return { child, id: { pid: child.pid!, startTime: stat!.startTime } };
}

describe("process identity", () => {
  it("reads state and start time from /proc", () => {
    const stat = readProcStat(process.pid);
    expect(stat?.state).toMatch(/^[RS]$/);
    expect(stat?.startTime).toBeGreaterThan(0);
    expect(readProcStat(0x7fffffff)).toBeUndefined();
  });

  it("never signals a pid whose start time differs (pid reuse)", async () => {
    const { child, id } = await sleeper();
    const reused = { pid: id.pid, startTime: id.startTime - 1 };
    expect(isOurProcessAlive(reused)).toBe(false);
    expect(await stopOurProcess(reused, 100, realClock)).toBe("not-running");
    expect(await killOurProcess(reused, realClock)).toBe(false);
    expect(isOurProcessAlive(id)).toBe(true);
    expect(child.exitCode).toBeNull();
    expect(isOurProcessAlive({ pid: null, startTime: null })).toBe(false);
  });

  it("stops with SIGTERM within the grace period", async () => {
    const { child, id } = await sleeper();
    expect(await stopOurProcess(id, 5_000, realClock)).toBe("terminated");
    expect(isOurProcessAlive(id)).toBe(false);
    if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
    expect(child.signalCode).toBe("SIGTERM");
  });

  it("escalates to SIGKILL when SIGTERM is ignored", async () => {
    const { child, id } = await sleeper(true);
    const started = Date.now();
    expect(await stopOurProcess(id, 300, realClock)).toBe("killed");
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(isOurProcessAlive(id)).toBe(false);
    if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
    expect(child.signalCode).toBe("SIGKILL");
  });
});
