import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CriLogWriter, parseCriLine } from "../src/runtime/cri-log.js";

const dir = mkdtempSync(join(tmpdir(), "kubemu-cri-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("CriLogWriter", () => {
  it("splits chunks into lines, keeps a partial line until its newline, flushes it on close", async () => {
    const w = new CriLogWriter(join(dir, "a", "0.log"));
    w.write("stdout", Buffer.from("hel"));
    w.write("stdout", Buffer.from("lo\nwor"));
    w.write("stderr", Buffer.from("oops\n"));
    await w.close();
    const lines = readFileSync(join(dir, "a", "0.log"), "utf8").trimEnd().split("\n").map((l) => parseCriLine(l)!);
    expect(lines.map((l) => [l.stream, l.tag, l.content])).toEqual([
      ["stdout", "F", "hello"],
      ["stderr", "F", "oops"],
      ["stdout", "F", "wor"],
    ]);
    expect(lines[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
  });
  it("rotates by size and keeps at most maxFiles - 1 rotated files", async () => {
    const w = new CriLogWriter(join(dir, "b", "0.log"), 200, 3);
    for (let i = 0; i < 40; i++) {
      w.write("stdout", Buffer.from(`line ${i} ${"x".repeat(40)}\n`));
      await new Promise((r) => setTimeout(r, i % 8 === 0 ? 1100 : 0));
    }
    await w.close();
    const files = readdirSync(join(dir, "b")).sort();
    expect(files).toContain("0.log");
    expect(files.filter((f) => f.startsWith("0.log.")).length).toBeLessThanOrEqual(2);
    expect(readFileSync(join(dir, "b", "0.log"), "utf8")).toContain("line 39");
  }, 15_000);
});
