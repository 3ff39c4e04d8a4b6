import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

// Real child processes running runProcessMain; each is SIGKILLed afterwards if still alive.
const fixture = fileURLToPath(new URL("./fixtures/process-main.ts", import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

async function startFixture(stopMs: number, deadlineMs: number) {
  const child = spawn(process.execPath, ["--import", "tsx", fixture, String(stopMs), String(deadlineMs)], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("fixture did not start")), 15_000);
    child.stdout!.once("data", () => {
      clearTimeout(timer);
      resolve();
    });
    child.once("exit", (code) => reject(new Error(`fixture exited early with ${code}: ${stderr}`)));
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, stderr: () => stderr };
}

describe("runProcessMain shutdown", () => {
  it("SIGTERM: a stop that finishes exits 0", async () => {
    const { child, exited } = await startFixture(50, 2_000);
    child.kill("SIGTERM");
    expect(await exited).toEqual([0, null]);
  });

  it("SIGTERM: a stop that never finishes is cut off at the deadline, logged, exit 1", async () => {
    const { child, exited, stderr } = await startFixture(-1, 300);
    const sent = Date.now();
    child.kill("SIGTERM");
    expect(await exited).toEqual([1, null]);
    const took = Date.now() - sent;
    expect(took).toBeGreaterThanOrEqual(300);
    expect(took).toBeLessThan(3_000);
    expect(stderr()).toContain("shutdown did not finish within 300 ms; exiting anyway");
  });

  it("a second signal while stopping exits at once", async () => {
    const { child, exited, stderr } = await startFixture(-1, 60_000);
    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 200));
    expect(child.exitCode).toBeNull();
    const sent = Date.now();
    child.kill("SIGINT");
    expect(await exited).toEqual([1, null]);
    expect(Date.now() - sent).toBeLessThan(3_000);
    expect(stderr()).toContain("second signal while shutting down; exiting now");
  });
});
