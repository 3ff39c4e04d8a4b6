/** ReadIndexQueue: batching of linearizable reads into rounds, timeouts, leader loss (virtual time). */
import { FakeClock, newServiceUnavailable } from "@kubemu/common";
import { describe, expect, it } from "vitest";
import { ReadIndexQueue } from "../../src/server/read-index.js";

function setup() {
  const clock = new FakeClock();
  const requests: string[] = [];
  let applied = 0;
  const q = new ReadIndexQueue({
    clock,
    prefix: "7",
    timeoutMs: 1000,
    request: (ctx) => requests.push(new TextDecoder().decode(ctx)),
    applied: () => applied,
  });
  const state = (ctx: string, index: number) => ({ index, requestCtx: new TextEncoder().encode(ctx) });
  return { clock, requests, q, state, setApplied: (n: number) => (applied = n) };
}

const settled = async (p: Promise<unknown>) => {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
};

describe("ReadIndexQueue", () => {
  it("shares one round among reads that arrive while a round is in flight", async () => {
    const { q, requests, state, setApplied } = setup();
    const a = q.wait();
    const b = q.wait();
    const c = q.wait();
    expect(requests).toEqual(["7:1"]);
    q.onReadStates([state("7:1", 10)]);
    q.onApplied();
    expect(requests).toEqual(["7:1", "7:2"]); // b and c share round 2
    expect(await settled(a)).toBe(false); // applied 0 < 10
    setApplied(10);
    q.onApplied();
    await expect(a).resolves.toBeUndefined();
    q.onReadStates([state("7:2", 12)]);
    setApplied(12);
    q.onApplied();
    await expect(Promise.all([b, c])).resolves.toEqual([undefined, undefined]);
  });

  it("ignores answers to other contexts and times a round out with a retriable error", async () => {
    const { q, clock, requests, state } = setup();
    const a = q.wait();
    q.onReadStates([state("9:1", 5), state("7:99", 5)]);
    q.onApplied();
    expect(await settled(a)).toBe(false);
    clock.advance(1000);
    await expect(a).rejects.toMatchObject({ reason: "Timeout" });
    const b = q.wait();
    expect(requests).toEqual(["7:1", "7:2"]);
    q.failAll(newServiceUnavailable("stopping"));
    await expect(b).rejects.toMatchObject({ reason: "ServiceUnavailable" });
  });

  it("re-sends the reads of a round whose leader was lost", async () => {
    const { q, requests, state, setApplied } = setup();
    const a = q.wait();
    q.onLeaderLost();
    q.onApplied(); // the next Ready: starts a new round for the re-queued read
    expect(requests).toEqual(["7:1", "7:2"]);
    q.onReadStates([state("7:1", 3)]); // a late answer to the abandoned round is ignored
    q.onReadStates([state("7:2", 4)]);
    setApplied(4);
    q.onApplied();
    await expect(a).resolves.toBeUndefined();
  });
});
