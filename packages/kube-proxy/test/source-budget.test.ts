import { describe, expect, it } from "vitest";
import { FakeClock } from "@kubemu/common";
import { DEFAULT_SOURCE, SourceBudget } from "../src/dataplane/source-budget.js";

describe("SourceBudget", () => {
  it("keeps a client's address at ordinary rates and falls back to the default source past its budget", () => {
    const clock = new FakeClock(0);
    const b = new SourceBudget(clock, 10, 5);
    expect(b.source(DEFAULT_SOURCE)).toBeUndefined();
    expect(b.source(undefined)).toBeUndefined();
    const got = Array.from({ length: 8 }, () => b.source("127.244.1.5"));
    expect(got.filter((s) => s === "127.244.1.5")).toHaveLength(5);
    expect(got.slice(5)).toEqual([undefined, undefined, undefined]);
    expect(b.source("127.244.1.6")).toBe("127.244.1.6");
    clock.advance(100); // one token back at 10/s
    expect(b.source("127.244.1.5")).toBe("127.244.1.5");
    expect(b.source("127.244.1.5")).toBeUndefined();
  });
});
