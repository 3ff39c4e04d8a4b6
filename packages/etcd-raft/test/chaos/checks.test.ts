/**
 * The chaos test's own checks must be able to fail: watch-stream problems, history differences
 * and the classification of failed writes, on hand-made inputs.
 */
import { newBadRequest, newNotLeader, newServiceUnavailable, newTimeout } from "@kubemu/common";
import { describe, expect, it } from "vitest";
import { notProposed } from "../../src/index.js";
import { firstDifference, prefixEnd, type SeenEvent, streamProblems } from "./watchers.js";
import { classifyWriteError } from "./workload.js";

const ev = (revision: number, key: string, value: string, modRevision = revision): SeenEvent => ({ revision, type: "PUT", key, value, modRevision });

describe("chaos checks", () => {
  it("a clean stream has no problems", () => {
    expect(streamProblems({ name: "w", events: [ev(1, "a", "x"), ev(2, "b", "y")], responseRevisions: [1, 2] })).toEqual([]);
  });

  it("flags revisions that do not increase, duplicates and mismatched modRevisions", () => {
    const problems = streamProblems({ name: "w", events: [ev(1, "a", "x"), ev(1, "a", "x"), ev(3, "b", "y", 2)], responseRevisions: [1, 1, 3] });
    expect(problems).toContain("w: response revision 1 after 1");
    expect(problems).toContain("w: a@1 delivered twice");
    expect(problems).toContain("w: event b modRevision 2 in response 3");
  });

  it("firstDifference finds a changed value, a gap and a missing tail", () => {
    const a = [ev(1, "a", "x"), ev(2, "b", "y")];
    expect(firstDifference(a, [...a])).toBeUndefined();
    expect(firstDifference(a, [ev(1, "a", "x"), ev(2, "b", "z")])).toMatch(/^event #1/);
    expect(firstDifference(a, [ev(1, "a", "x"), ev(3, "b", "y")])).toMatch(/^event #1/);
    expect(firstDifference(a, [ev(1, "a", "x")])).toMatch(/\(end\)/);
  });

  it("only errors that prove a write did not execute drop it; others are unknown", () => {
    expect(classifyWriteError(newNotLeader("ws://127.0.0.1:1/"))).toBe("dropped");
    expect(classifyWriteError(notProposed("no leader"))).toBe("dropped");
    expect(classifyWriteError(newBadRequest("bad key"))).toBe("dropped");
    expect(classifyWriteError(newTimeout("slow"))).toBe("unknown");
    expect(classifyWriteError(newServiceUnavailable("outcome unknown"))).toBe("unknown");
    expect(classifyWriteError(new Error("socket closed"))).toBe("unknown");
  });

  it("prefixEnd bounds exactly the prefix", () => {
    expect(prefixEnd("/chaos/")).toBe("/chaos0");
  });
});
