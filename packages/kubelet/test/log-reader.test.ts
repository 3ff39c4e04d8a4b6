import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "kubernetes-types/core/v1.js";
import { afterAll, describe, expect, it } from "vitest";
import { parseRfc3339Nanos, readLogText } from "../src/streaming/log-reader.js";
import { chooseInstance, instanceLogPath, logOptions } from "../src/streaming/container-logs.js";
import { exitStatus, shellQuote, ttyCommand } from "../src/streaming/exec.js";

const FILE = [
  "2026-01-02T03:04:05.1Z stdout F one",
  "2026-01-02T03:04:06.123456789Z stderr F two",
  "2026-01-02T03:04:07Z stdout P thr",
  "2026-01-02T03:04:07Z stdout F ee",
  "not a cri line",
  "2026-01-02T03:04:08.5Z stdout F four",
  "",
].join("\n");

const read = (o: Partial<Parameters<typeof readLogText>[1]> = {}) => readLogText(FILE, { timestamps: false, ...o }).toString();

describe("log reader", () => {
  it("strips the CRI prefix, joins partial lines and skips malformed ones", () => {
    expect(read()).toBe("one\ntwo\nthree\nfour\n");
  });

  it("keeps the RFC3339Nano time with timestamps", () => {
    expect(read({ timestamps: true })).toBe("2026-01-02T03:04:05.1Z one\n2026-01-02T03:04:06.123456789Z two\n2026-01-02T03:04:07Z thr2026-01-02T03:04:07Z ee\n2026-01-02T03:04:08.5Z four\n");
  });

  it("tails entries from the end; 0 gives nothing", () => {
    expect(read({ tailLines: 2 })).toBe("ee\nfour\n");
    expect(read({ tailLines: 0 })).toBe("");
    expect(read({ tailLines: 100 })).toBe("one\ntwo\nthree\nfour\n");
  });

  it("drops entries before since, to the nanosecond", () => {
    expect(read({ sinceNanos: parseRfc3339Nanos("2026-01-02T03:04:06.123456789Z") })).toBe("two\nthree\nfour\n");
    expect(read({ sinceNanos: parseRfc3339Nanos("2026-01-02T03:04:06.12345679Z") })).toBe("three\nfour\n");
  });

  it("cuts the output at limitBytes", () => {
    expect(read({ limitBytes: 6 })).toBe("one\ntw");
  });

  it("parses RFC3339 with offsets and sinceSeconds against now", () => {
    expect(parseRfc3339Nanos("2026-01-02T04:04:05+01:00")).toBe(parseRfc3339Nanos("2026-01-02T03:04:05Z"));
    expect(parseRfc3339Nanos("yesterday")).toBeUndefined();
    const now = parseRfc3339Nanos("2026-01-02T03:04:10Z")!;
    expect(logOptions(new URLSearchParams("sinceSeconds=3&timestamps=true&tailLines=5"), now)).toEqual({ timestamps: true, tailLines: 5, sinceNanos: parseRfc3339Nanos("2026-01-02T03:04:07Z"), limitBytes: undefined });
  });
});

const pod = (state: object, lastState: object = {}): Pod => ({ metadata: { name: "p" }, spec: { containers: [{ name: "c" }] }, status: { containerStatuses: [{ name: "c", state, lastState, image: "", imageID: "", ready: false, restartCount: 0 }] } });

describe("which instance answers", () => {
  const dead = { terminated: { exitCode: 1, containerID: "containerd://1" } };
  it("the running one, or with previous the one before it", () => {
    expect(chooseInstance(pod({ running: {} }, dead), "c", false)).toBe("latest");
    expect(chooseInstance(pod({ running: {} }, dead), "c", true)).toBe("beforeLatest");
  });
  it("in CrashLoopBackOff both read the last run", () => {
    const waiting = { waiting: { reason: "CrashLoopBackOff" } };
    expect(chooseInstance(pod(waiting, dead), "c", false)).toBe("latest");
    expect(chooseInstance(pod(waiting, dead), "c", true)).toBe("latest");
  });
  it("errors in upstream's words", () => {
    expect(() => chooseInstance(pod({ waiting: { reason: "ContainerCreating" } }), "c", false)).toThrow('container "c" in pod "p" is waiting to start: ContainerCreating');
    expect(() => chooseInstance(pod({ running: {} }), "c", true)).toThrow('previous terminated container "c" in pod "p" not found');
    expect(() => chooseInstance(pod({ waiting: { reason: "ErrImagePull" } }), "c", false)).toThrow('container "c" in pod "p" is waiting to start: image can\'t be pulled');
    expect(() => chooseInstance({ metadata: { name: "p" }, spec: { containers: [{ name: "c" }] } }, "c", false)).toThrow("is waiting to start: ContainerCreating");
  });

  const dir = mkdtempSync(join(tmpdir(), "logs-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it("files by restart number, numerically", () => {
    for (const n of [0, 2, 10]) writeFileSync(join(dir, `${n}.log`), "");
    writeFileSync(join(dir, "10.log.20260101-000000"), "");
    expect(instanceLogPath(dir, "latest")).toBe(join(dir, "10.log"));
    expect(instanceLogPath(dir, "beforeLatest")).toBe(join(dir, "2.log"));
    expect(instanceLogPath(join(dir, "none"), "latest")).toBeUndefined();
  });
});

describe("exec pieces", () => {
  it("the v4/v5 Status: Success, or NonZeroExitCode with the code as its cause", () => {
    expect(exitStatus(["true"], 0)).toEqual({ metadata: {}, status: "Success" });
    expect(exitStatus(["sh", "-c", "exit 3"], 3)).toMatchObject({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "3" }] } });
  });
  it("a tty command: script around the quoted argv, sized first", () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(ttyCommand(["sh", "-c", "echo 'x'"], { width: 120, height: 40 })).toEqual(["script", "-qfec", `stty rows 40 cols 120 2>/dev/null; printf x >&3; exec 3>&-; exec 'sh' '-c' 'echo '\\''x'\\'''`, "/dev/null"]);
  });
});
