import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { programPath } from "../src/index.js";

const built = existsSync(programPath("pi"));

describe.skipIf(!built)("programs (built dist/)", () => {
  it("kiamol/ch05-pi prints pi to the asked decimal places", () => {
    const out = execFileSync(process.execPath, [programPath("pi"), "-m", "console", "-dp", "50"], { encoding: "utf8" });
    expect(out).toBe("3.14159265358979323846264338327950288419716939937510\n");
  });
});
