import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../src/cli.js";

// In-process runs of the CLI for behaviour that needs no child processes.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function run(argv: string[], isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { io: { out: (l) => out.push(l), err: (l) => err.push(l), isTTY }, env: {} });
  return { code, out, err };
}

function stateDirWithLog(name: string, lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "kubemu-cli-unit-"));
  dirs.push(dir);
  mkdirSync(join(dir, "logs"));
  writeFileSync(join(dir, "logs", `${name}.log`), lines.join("\n") + "\n");
  return dir;
}

describe("runCli", () => {
  it("kubeconfig prints the state dir's kubeconfig path, or says the API server was never started", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kubemu-cli-unit-"));
    dirs.push(dir);
    const missing = await run(["--state-dir", dir, "kubeconfig"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toEqual([expect.stringMatching(/^kubemu: no kubeconfig yet/)]);
    writeFileSync(join(dir, "kubeconfig"), "apiVersion: v1\n");
    expect(await run(["--state-dir", dir, "kubeconfig"])).toEqual({ code: 0, out: [join(dir, "kubeconfig")], err: [] });
  });

  const line = JSON.stringify({ level: 30, time: "2026-01-01T00:00:00.000Z", component: "etcd-1", pid: 42, msg: "became leader", term: 3 });

  it("pretty-prints a component's JSON log on a terminal and prints it raw otherwise", async () => {
    const dir = stateDirWithLog("etcd-1", [line]);
    const raw = await run(["--state-dir", dir, "logs", "etcd-1"]);
    expect(raw).toEqual({ code: 0, out: [line], err: [] });
    const pretty = await run(["--state-dir", dir, "logs", "etcd-1"], true);
    expect(pretty.code).toBe(0);
    const text = pretty.out.join("\n").replace(/\x1b\[[0-9;]*m/g, ""); // strip colors
    expect(text).toMatch(/INFO.*\(42\).*became leader/);
    expect(text).toContain("term: 3");
  });

  it("knows the built-in names even without a cluster.json", async () => {
    const dir = stateDirWithLog("etcd-1", [line]);
    const res = await run(["--state-dir", dir, "logs", "etcd-7"]);
    expect(res.code).toBe(1);
    expect(res.err).toHaveLength(1);
    expect(res.err[0]).toMatch(/^kubemu: unknown process "etcd-7" \(valid: etcd-0, etcd-1, etcd-2, apiserver-0, .*kubemu-cli; nodes: kubemu, kubemu-m02, kubemu-m03\)$/);
  });

  it("rejects bad global flags with one line", async () => {
    expect(await run(["--cluster", "Bad_Name", "status"])).toMatchObject({ code: 1, err: ['kubemu: invalid cluster name "Bad_Name" (lowercase letters, digits and \'-\', at most 40 characters)'] });
    const level = await run(["--log-level", "loud", "status"]);
    expect(level.code).toBe(1);
    expect(level.err).toEqual([expect.stringMatching(/^kubemu: option '--log-level <level>' argument 'loud' is invalid\. Allowed choices are fatal, error/)]);
    const envErr: string[] = [];
    const envLevel = await runCli(["status"], { io: { out: () => {}, err: (l) => envErr.push(l), isTTY: false }, env: { KUBEMU_LOG_LEVEL: "loud" } });
    expect({ envLevel, envErr }).toEqual({ envLevel: 1, envErr: ['kubemu: unknown log level "loud" (use one of fatal, error, warn, info, debug, trace, silent)'] });
    expect(await run(["up", "--wait", "-1"])).toMatchObject({ code: 1, err: [expect.stringContaining("--wait takes seconds from 0 to 3600")] });
    expect(await run(["frobnicate"])).toMatchObject({ code: 1, err: [expect.stringMatching(/^kubemu: unknown command 'frobnicate'/)] });
    expect(await run([])).toMatchObject({ code: 1 }); // no command: help on stderr, like a usage error
  });

  it("reports a corrupt cluster.json in one line", async () => {
    const dir = stateDirWithLog("etcd-1", [line]);
    writeFileSync(join(dir, "cluster.json"), "{ not json");
    const res = await run(["--state-dir", dir, "status"]);
    expect(res.code).toBe(1);
    expect(res.err).toEqual([expect.stringMatching(new RegExp(`^kubemu: cannot read ${join(dir, "cluster.json")}: .*JSON`))]);
    writeFileSync(join(dir, "cluster.json"), JSON.stringify({ version: 9 }));
    expect((await run(["--state-dir", dir, "kill", "etcd-0"])).err).toEqual([`kubemu: ${join(dir, "cluster.json")} is not a kubemu cluster file (version 1)`]);
  });

  it("prints help and exits 0", async () => {
    const res = await run(["--help"]);
    expect(res.code).toBe(0);
    expect(res.out.join("\n")).toContain("partition [options] <name...>");
  });
});
