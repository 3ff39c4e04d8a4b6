import { describe, expect, it } from "vitest";
import { formatGoDuration, rfc3339Micro } from "../src/util/go-duration.js";
import { Backoff } from "../src/pod/backoff.js";
import { expand } from "../src/pod/expansion.js";
import { criLines, parseCriLine, rfc3339Nano, MAX_LINE } from "../src/runtime/cri-log.js";

describe("formatGoDuration", () => {
  it("prints as Go's time.Duration does", () => {
    expect(formatGoDuration(0)).toBe("0s");
    expect(formatGoDuration(313)).toBe("313ms");
    expect(formatGoDuration(1393)).toBe("1.393s");
    expect(formatGoDuration(1500)).toBe("1.5s");
    expect(formatGoDuration(10_000)).toBe("10s");
    expect(formatGoDuration(80_000)).toBe("1m20s");
    expect(formatGoDuration(300_000)).toBe("5m0s");
    expect(formatGoDuration(3_723_000)).toBe("1h2m3s");
  });
  it("MicroTime has six fractional digits", () => {
    expect(rfc3339Micro(Date.parse("2024-05-01T10:00:00.123Z"))).toBe("2024-05-01T10:00:00.123000Z");
  });
});

describe("Backoff (CrashLoopBackOff)", () => {
  it("restarts the first failure at once, then doubles to the cap", () => {
    const b = new Backoff(1000, 30_000);
    const k = "web_default_uid_web";
    let t = 0;
    expect(b.isInBackOffSince(k, t, t)).toBe(false);
    b.next(k, t);
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      t += 100;
      expect(b.isInBackOffSince(k, t, t + 1)).toBe(true);
      const d = b.get(k);
      delays.push(d);
      expect(b.isInBackOffSince(k, t, t + d)).toBe(false);
      b.next(k, t);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });
  it("starts over after running for twice the cap", () => {
    const b = new Backoff(10_000, 300_000);
    b.next("k", 0);
    b.next("k", 1000);
    expect(b.get("k")).toBe(20_000);
    b.next("k", 1000 + 600_001);
    expect(b.get("k")).toBe(10_000);
  });
  it("pull backoff counts from the last update", () => {
    const b = new Backoff(1000, 30_000);
    b.next("p", 0);
    expect(b.isInBackOffSinceUpdate("p", 500)).toBe(true);
    expect(b.isInBackOffSinceUpdate("p", 1000)).toBe(false);
  });
});

describe("$(VAR) expansion", () => {
  const vars: Record<string, string> = { A: "1", NAME: "web" };
  const x = (s: string) => expand(s, (n) => vars[n]);
  it("replaces defined variables and keeps undefined ones", () => {
    expect(x("hello $(NAME)")).toBe("hello web");
    expect(x("$(MISSING)/$(A)")).toBe("$(MISSING)/1");
  });
  it("$$ escapes, a lone $ stays, an unclosed $( stays", () => {
    expect(x("$$(NAME)")).toBe("$(NAME)");
    expect(x("cost: $5 and $")).toBe("cost: $5 and $");
    expect(x("$(NAME")).toBe("$(NAME");
    expect(x("$()")).toBe("$()");
  });
});

describe("CRI log lines", () => {
  it("formats RFC3339Nano without trailing zeros", () => {
    expect(rfc3339Nano(1_700_000_000_123_400_000n)).toBe("2023-11-14T22:13:20.1234Z");
    expect(rfc3339Nano(1_700_000_000_000_000_000n)).toBe("2023-11-14T22:13:20Z");
  });
  it("writes full lines and splits long ones into partial pieces", () => {
    expect(criLines("stdout", "hello", "T")).toBe("T stdout F hello\n");
    const long = "x".repeat(MAX_LINE + 10);
    const out = criLines("stderr", long, "T").trimEnd().split("\n");
    expect(out.map((l) => parseCriLine(l)?.tag)).toEqual(["P", "F"]);
    expect(out.map((l) => parseCriLine(l)!.content).join("")).toBe(long);
  });
});
