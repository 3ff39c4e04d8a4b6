import { describe, expect, it } from "vitest";
import { FakeClock, isNotFound, StatusError } from "@kubemu/common";
import { NamespaceLifecycle } from "../../src/admission/namespace-lifecycle.js";
import type { KubeObject, Storage } from "../../src/storage/index.js";

/** A namespaces Storage whose get() answers are released by the test, counting reads. */
function namespaces(initial: KubeObject | undefined) {
  const state = { ns: initial, reads: 0, pending: [] as (() => void)[] };
  const storage = {
    get: (): Promise<KubeObject | undefined> => {
      state.reads++;
      return new Promise((resolve) => state.pending.push(() => resolve(state.ns)));
    },
  } as unknown as Storage;
  const release = () => {
    for (const r of state.pending.splice(0)) r();
  };
  return { state, storage, release };
}

const active: KubeObject = { metadata: { name: "default" }, status: { phase: "Active" } };
const tick = () => new Promise((r) => setImmediate(r));

describe("NamespaceLifecycle", () => {
  it("reads the namespace once for concurrent creates, then answers from memory", async () => {
    const { state, storage, release } = namespaces(active);
    const clock = new FakeClock(1000);
    const l = new NamespaceLifecycle(storage, clock, 1000);
    const checks = [l.checkCreate("default", "pods", "a"), l.checkCreate("default", "pods", "b")];
    await tick();
    expect(state.reads).toBe(1);
    release();
    await Promise.all(checks);
    clock.advance(400);
    await l.checkCreate("default", "pods", "c");
    expect(state.reads).toBe(1);
  });

  it("past half the cache age answers at once and re-reads in the background", async () => {
    const { state, storage, release } = namespaces(active);
    const clock = new FakeClock(1000);
    const l = new NamespaceLifecycle(storage, clock, 1000);
    const first = l.checkCreate("default", "pods", "a");
    await tick();
    release();
    await first;
    clock.advance(600);
    // Resolves without the store answering.
    await l.checkCreate("default", "pods", "b");
    await l.checkCreate("default", "pods", "c");
    expect(state.reads).toBe(2);
    release();
    await tick();
    clock.advance(400); // 400 ms after the background read: fresh, no new read
    await l.checkCreate("default", "pods", "d");
    expect(state.reads).toBe(2);
  });

  it("waits for a read once the answer is older than the cache age, and sees a deletion", async () => {
    const { state, storage, release } = namespaces(active);
    const clock = new FakeClock(1000);
    const l = new NamespaceLifecycle(storage, clock, 1000);
    const first = l.checkCreate("default", "pods", "a");
    await tick();
    release();
    await first;
    state.ns = { metadata: { name: "default", deletionTimestamp: "2026-01-01T00:00:00Z" }, status: { phase: "Terminating" } };
    clock.advance(1000);
    const a = l.checkCreate("default", "pods", "x").catch((e: unknown) => e);
    const b = l.checkCreate("default", "configmaps", "y").catch((e: unknown) => e);
    await tick();
    expect(state.reads).toBe(2);
    release();
    const [ea, eb] = (await Promise.all([a, b])) as StatusError[];
    expect(ea).toBeInstanceOf(StatusError);
    expect(ea!.status.code).toBe(403);
    // Each caller's error names its own object.
    expect(ea!.status.message).toContain('pods "x"');
    expect(eb!.status.message).toContain('configmaps "y"');
  });

  it("a missing namespace is NotFound and is not remembered", async () => {
    const { state, storage, release } = namespaces(undefined);
    const l = new NamespaceLifecycle(storage, new FakeClock(1000), 1000);
    const p = l.checkCreate("gone", "pods", "a").catch((e: unknown) => e);
    await tick();
    release();
    expect(isNotFound(await p)).toBe(true);
    const q = l.checkCreate("gone", "pods", "b").catch((e: unknown) => e);
    await tick();
    expect(state.reads).toBe(2);
    release();
    expect(isNotFound(await q)).toBe(true);
  });
});
