/**
 * EventRecorder against a fake client (a tiny Event store that records every create and patch):
 * client-go's correlator — counts for repeats, combined events for many similar messages, the
 * spam filter — and what happens when writes fail.
 */
import pino from "pino";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { EventRecorder, FakeClock, newAlreadyExists, newInternalError, newNotFound, rfc3339Seconds, type CoreEvent, type KubeObject, type ResourceRef } from "@kubemu/common";

interface Call {
  verb: "create" | "patch";
  at: number;
  namespace: string;
  name: string;
  body: Record<string, unknown>;
  ok: boolean;
}

/** The create/patch half of an ApiClient over an in-memory Event store, with injectable failures. */
class FakeEvents {
  readonly store = new Map<string, CoreEvent>();
  readonly calls: Call[] = [];
  /** Errors the next creates / patches throw (one per call). */
  readonly failCreates: Error[] = [];
  readonly failPatches: Error[] = [];
  /** Errors the next creates throw after storing the event (an answer lost after it landed). */
  readonly failAfterCreate: Error[] = [];
  /** Virtual time each call takes (0: answered at once). */
  delayMs = 0;
  /** Calls in flight now, and the most at once, per event name and overall. */
  private readonly inFlight = new Map<string, number>();
  maxSameName = 0;
  maxInFlight = 0;
  private total = 0;

  private async enter(name: string): Promise<void> {
    const n = (this.inFlight.get(name) ?? 0) + 1;
    this.inFlight.set(name, n);
    this.total++;
    this.maxSameName = Math.max(this.maxSameName, n);
    this.maxInFlight = Math.max(this.maxInFlight, this.total);
    if (this.delayMs > 0) await this.clock.sleep(this.delayMs);
    else await Promise.resolve();
  }

  private leave(name: string): void {
    this.inFlight.set(name, this.inFlight.get(name)! - 1);
    this.total--;
  }

  constructor(private readonly clock: FakeClock) {}

  async create<T extends KubeObject>(r: ResourceRef, obj: T): Promise<T> {
    await this.enter(obj.metadata.name!);
    try {
      return await this.doCreate(r, obj);
    } finally {
      this.leave(obj.metadata.name!);
    }
  }

  private async doCreate<T extends KubeObject>(r: ResourceRef, obj: T): Promise<T> {
    const e = structuredClone(obj) as unknown as CoreEvent;
    const key = `${e.metadata.namespace}/${e.metadata.name}`;
    const call: Call = { verb: "create", at: this.clock.now(), namespace: e.metadata.namespace!, name: e.metadata.name!, body: structuredClone(e) as unknown as Record<string, unknown>, ok: false };
    this.calls.push(call);
    expect(r.resource).toBe("events");
    const fail = this.failCreates.shift();
    if (fail) throw fail;
    if (this.store.has(key)) throw newAlreadyExists({ resource: "events" }, e.metadata.name!);
    this.store.set(key, e);
    const late = this.failAfterCreate.shift();
    if (late) throw late;
    call.ok = true;
    return e as unknown as T;
  }

  async patch<T extends KubeObject>(r: ResourceRef, namespace: string | undefined, name: string, patchType: string, body: unknown): Promise<T> {
    await this.enter(name);
    try {
      return await this.doPatch(r, namespace, name, patchType, body);
    } finally {
      this.leave(name);
    }
  }

  private async doPatch<T extends KubeObject>(r: ResourceRef, namespace: string | undefined, name: string, patchType: string, body: unknown): Promise<T> {
    const call: Call = { verb: "patch", at: this.clock.now(), namespace: namespace!, name, body: body as Record<string, unknown>, ok: false };
    this.calls.push(call);
    expect(r.resource).toBe("events");
    expect(patchType).toBe("strategic");
    const fail = this.failPatches.shift();
    if (fail) throw fail;
    const cur = this.store.get(`${namespace}/${name}`);
    if (!cur) throw newNotFound({ resource: "events" }, name);
    Object.assign(cur, body);
    call.ok = true;
    return cur as unknown as T;
  }

  event(namespace: string, name: string): CoreEvent | undefined {
    return this.store.get(`${namespace}/${name}`);
  }
}

function captureLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n")) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

const T0 = Date.UTC(2025, 0, 15, 10, 30, 0, 250);

function setup(opts: { host?: string; instance?: string } = {}) {
  const clock = new FakeClock(T0);
  const client = new FakeEvents(clock);
  const { logger, lines } = captureLogger();
  const rec = new EventRecorder({
    client,
    component: "default-scheduler",
    ...(opts.host ? { host: opts.host } : {}),
    ...(opts.instance ? { reportingInstance: opts.instance } : {}),
    clock,
    logger,
  });
  /** Waits for every queued write, moving virtual time so retry sleeps pass. */
  const settle = async () => {
    let done = false;
    const f = rec.flush().then(() => (done = true));
    for (let i = 0; i < 200 && !done; i++) await clock.advanceAsync(50, 50);
    await f;
  };
  return { clock, client, rec, lines, settle };
}

const pod: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "web-0", namespace: "shop", uid: "u-1", resourceVersion: "42" } };
const node: KubeObject = { apiVersion: "v1", kind: "Node", metadata: { name: "kubemu-m02", uid: "u-n", resourceVersion: "7" } };

describe("EventRecorder", () => {
  it("the first event creates one with count 1, named <object>.<unix nanos in hex>, in the object's namespace", async () => {
    const { client, rec, settle } = setup({ host: "kubemu", instance: "scheduler-0_x7k2" });
    rec.event(pod, "Normal", "Scheduled", "Successfully assigned shop/web-0 to kubemu", "spec.containers{web}");
    await settle();
    expect(client.calls.map((c) => c.verb)).toEqual(["create"]);
    const e = client.calls[0]!.body as unknown as CoreEvent;
    expect(e.metadata.name).toBe(`web-0.${(BigInt(T0) * 1_000_000n).toString(16)}`);
    expect(e).toEqual({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: e.metadata.name, namespace: "shop" },
      involvedObject: { kind: "Pod", apiVersion: "v1", namespace: "shop", name: "web-0", uid: "u-1", resourceVersion: "42", fieldPath: "spec.containers{web}" },
      reason: "Scheduled",
      message: "Successfully assigned shop/web-0 to kubemu",
      source: { component: "default-scheduler", host: "kubemu" },
      firstTimestamp: "2025-01-15T10:30:00Z",
      lastTimestamp: "2025-01-15T10:30:00Z",
      count: 1,
      type: "Normal",
      eventTime: null,
      reportingComponent: "default-scheduler",
      reportingInstance: "scheduler-0_x7k2",
    });
    expect(rfc3339Seconds(T0)).toBe("2025-01-15T10:30:00Z");
  });

  it("an event about a cluster-scoped object goes to the default namespace; reportingInstance defaults to the host", async () => {
    const { client, rec, settle } = setup({ host: "kubemu-m02" });
    rec.event(node, "Warning", "NodeNotReady", "Node kubemu-m02 status is now: NodeNotReady");
    await settle();
    const e = client.calls[0]!.body as unknown as CoreEvent;
    expect(e.metadata.namespace).toBe("default");
    expect(e.involvedObject).toEqual({ kind: "Node", apiVersion: "v1", name: "kubemu-m02", uid: "u-n", resourceVersion: "7" });
    expect(e.reportingInstance).toBe("kubemu-m02");
    expect(e.type).toBe("Warning");
  });

  it("two events in the same millisecond still get different names", async () => {
    const { client, rec, settle } = setup();
    rec.event(pod, "Normal", "Pulled", "image a");
    rec.event(pod, "Normal", "Pulled", "image b");
    await settle();
    const names = client.calls.map((c) => c.name);
    expect(names).toHaveLength(2);
    expect(new Set(names).size).toBe(2);
  });

  it("a repeat patches the first event: count 2, a later lastTimestamp, firstTimestamp kept", async () => {
    const { clock, client, rec, settle } = setup();
    rec.event(pod, "Warning", "BackOff", "Back-off restarting failed container");
    await settle();
    const name = client.calls[0]!.name;
    clock.advance(65_000);
    rec.event(pod, "Warning", "BackOff", "Back-off restarting failed container");
    await settle();
    expect(client.calls.map((c) => c.verb)).toEqual(["create", "patch"]);
    const patch = client.calls[1]!;
    expect(patch.name).toBe(name);
    expect(patch.namespace).toBe("shop");
    expect(patch.body).toEqual({ count: 2, lastTimestamp: "2025-01-15T10:31:05Z", message: "Back-off restarting failed container" });
    const stored = client.event("shop", name)!;
    expect(stored.count).toBe(2);
    expect(stored.firstTimestamp).toBe("2025-01-15T10:30:00Z");
    expect(Date.parse(stored.lastTimestamp)).toBeGreaterThan(Date.parse(stored.firstTimestamp));
    // A different message, reason, type or field path is a different event.
    rec.event(pod, "Warning", "BackOff", "another message");
    rec.event(pod, "Warning", "Failed", "Back-off restarting failed container");
    rec.event(pod, "Normal", "BackOff", "Back-off restarting failed container");
    rec.event(pod, "Warning", "BackOff", "Back-off restarting failed container", "spec.containers{sidecar}");
    await settle();
    expect(client.calls.slice(2).map((c) => c.verb)).toEqual(["create", "create", "create", "create"]);
  });

  it("the 10th distinct message with one reason becomes '(combined from similar events): …', and later ones patch it", async () => {
    const { clock, client, rec, settle } = setup();
    for (let i = 1; i <= 9; i++) {
      rec.event(pod, "Warning", "FailedMount", `volume v${i} is not ready`);
      clock.advance(1000);
    }
    await settle();
    expect(client.calls.map((c) => c.verb)).toEqual(Array(9).fill("create"));
    rec.event(pod, "Warning", "FailedMount", "volume v10 is not ready");
    await settle();
    const combined = client.calls[9]!;
    expect(combined.verb).toBe("create");
    expect(combined.body).toMatchObject({ message: "(combined from similar events): volume v10 is not ready", count: 1, reason: "FailedMount" });
    expect(client.calls.slice(0, 9).map((c) => c.name)).not.toContain(combined.name);
    clock.advance(1000);
    rec.event(pod, "Warning", "FailedMount", "volume v11 is not ready");
    await settle();
    expect(client.calls[10]).toMatchObject({ verb: "patch", name: combined.name, body: { count: 2, message: "(combined from similar events): volume v11 is not ready" } });
    // Another reason is its own group.
    rec.event(pod, "Warning", "FailedSync", "volume v1 is not ready");
    await settle();
    expect(client.calls[11]!.body).toMatchObject({ message: "volume v1 is not ready", reason: "FailedSync" });
  });

  it("similar events keep aggregating while they come less than 10 minutes apart (the window counts from the last one); a longer gap starts over", async () => {
    const { clock, client, rec, settle } = setup();
    for (let i = 1; i <= 10; i++) {
      rec.event(pod, "Warning", "Unhealthy", `probe failed: attempt ${i}`);
      clock.advance(120_000); // 2 minutes apart: 18 minutes from the first to the 10th
    }
    await settle();
    expect(client.calls[9]!.body.message).toBe("(combined from similar events): probe failed: attempt 10");
    clock.advance(11 * 60_000);
    rec.event(pod, "Warning", "Unhealthy", "probe failed: attempt 11");
    await settle();
    expect(client.calls[10]).toMatchObject({ verb: "create", body: { message: "probe failed: attempt 11", count: 1 } });
  });

  it("the spam filter passes a burst of 25 events about one object, drops the rest, then lets one through per 5 minutes; dropped ones still count", async () => {
    const { clock, client, rec, settle } = setup();
    for (let i = 0; i < 30; i++) rec.event(pod, "Warning", "BackOff", "Back-off restarting failed container");
    await settle();
    expect(client.calls).toHaveLength(25);
    expect(client.calls[24]!.body.count).toBe(25);
    // The bucket is per source and object: another object, or another recorder, is not limited.
    rec.event({ ...pod, metadata: { ...pod.metadata, name: "web-1", uid: "u-2" } }, "Warning", "BackOff", "x");
    await settle();
    expect(client.calls).toHaveLength(26);
    // Other reasons and field paths of the same object share its bucket.
    rec.event(pod, "Normal", "Pulled", "pulled", "spec.containers{web}");
    await settle();
    expect(client.calls).toHaveLength(26);
    clock.advance(299_000);
    rec.event(pod, "Warning", "BackOff", "Back-off restarting failed container");
    await settle();
    expect(client.calls).toHaveLength(26);
    clock.advance(300_000);
    rec.event(pod, "Warning", "BackOff", "Back-off restarting failed container");
    rec.event(pod, "Warning", "BackOff", "Back-off restarting failed container");
    await settle();
    expect(client.calls).toHaveLength(27);
    // The 32nd occurrence (30 in the burst, 1 dropped after 299 s): its patch carries the count of every one so far, dropped or not.
    expect(client.calls[26]).toMatchObject({ verb: "patch", body: { count: 32 } });
  });

  it("a patch that gets NotFound (the event expired) creates the event afresh, and repeats patch that one", async () => {
    const { clock, client, rec, settle } = setup();
    rec.event(pod, "Normal", "Pulling", "Pulling image nginx");
    rec.event(pod, "Normal", "Pulling", "Pulling image nginx");
    await settle();
    const name = client.calls[0]!.name;
    client.store.clear(); // TTL ran out
    clock.advance(5000);
    rec.event(pod, "Normal", "Pulling", "Pulling image nginx");
    await settle();
    expect(client.calls.map((c) => `${c.verb}${c.ok ? "" : " failed"}`)).toEqual(["create", "patch", "patch failed", "create"]);
    const fresh = client.event("shop", name)!;
    expect(fresh).toMatchObject({ count: 1, firstTimestamp: "2025-01-15T10:30:05Z", lastTimestamp: "2025-01-15T10:30:05Z", message: "Pulling image nginx" });
    rec.event(pod, "Normal", "Pulling", "Pulling image nginx");
    await settle();
    expect(client.calls.at(-1)).toMatchObject({ verb: "patch", name, body: { count: 2 } });
  });

  it("a create that fails 3 times is dropped and logged; the next identical event creates it again", async () => {
    const { client, rec, lines, settle } = setup();
    client.failCreates.push(newInternalError("etcd down"), newInternalError("etcd down"), newInternalError("etcd down"));
    rec.event(pod, "Normal", "Created", "Created container web");
    await settle();
    expect(client.calls.map((c) => `${c.verb}${c.ok ? "" : " failed"}`)).toEqual(["create failed", "create failed", "create failed"]);
    // Retried after 200 ms, then 400 ms more.
    expect(client.calls[1]!.at - client.calls[0]!.at).toBeGreaterThanOrEqual(200);
    expect(client.calls[2]!.at - client.calls[1]!.at).toBeGreaterThanOrEqual(400);
    expect(lines.some((l) => l.msg === "could not write event; dropped" && l.reason === "Created")).toBe(true);
    rec.event(pod, "Normal", "Created", "Created container web");
    await settle();
    expect(client.calls.at(-1)).toMatchObject({ verb: "create", ok: true, body: { count: 1 } });
  });

  it("a write that fails once is retried and lands; an AlreadyExists answer to a create counts as written", async () => {
    const { client, rec, settle } = setup();
    client.failCreates.push(newInternalError("blip"));
    rec.event(pod, "Normal", "Started", "Started container web");
    await settle();
    expect(client.calls.map((c) => `${c.verb}${c.ok ? "" : " failed"}`)).toEqual(["create failed", "create"]);
    client.failPatches.push(newInternalError("blip"));
    rec.event(pod, "Normal", "Started", "Started container web");
    await settle();
    expect(client.calls.slice(2).map((c) => `${c.verb}${c.ok ? "" : " failed"}`)).toEqual(["patch failed", "patch"]);
    expect(client.event("shop", client.calls[0]!.name)!.count).toBe(2);
    // A create whose answer was lost is retried; AlreadyExists then means it landed, and the next repeat patches it.
    client.failAfterCreate.push(newInternalError("connection lost"));
    rec.event(pod, "Normal", "Killing", "Stopping container web");
    await settle();
    rec.event(pod, "Normal", "Killing", "Stopping container web");
    await settle();
    expect(client.calls.slice(4).map((c) => `${c.verb}${c.ok ? "" : " failed"}`)).toEqual(["create failed", "create failed", "patch"]);
    expect(client.event("shop", client.calls[4]!.name)!.count).toBe(2);
  });

  it("writes start in the order recorded; stop() records nothing more, flush() waits for what was queued", async () => {
    const { client, rec, settle } = setup();
    for (let i = 0; i < 5; i++) rec.event(pod, "Normal", `R${i}`, "m");
    rec.stop();
    rec.event(pod, "Normal", "Late", "m");
    await settle();
    expect(client.calls.map((c) => c.body.reason)).toEqual(["R0", "R1", "R2", "R3", "R4"]);
  });

  it("slow writes: several events are written at once, but never two writes of one event (a repeat's patch waits for its create)", async () => {
    const { client, rec, settle } = setup();
    client.delayMs = 300;
    for (let i = 0; i < 3; i++) rec.event(pod, "Warning", "BackOff", "Back-off restarting failed container");
    for (let i = 0; i < 6; i++) rec.event({ ...pod, metadata: { ...pod.metadata, name: `other-${i}`, uid: `u-o${i}` } }, "Normal", "Scheduled", "ok");
    await settle();
    expect(client.maxSameName).toBe(1);
    expect(client.maxInFlight).toBeGreaterThan(1);
    const mine = client.calls.filter((c) => c.name.startsWith("web-0."));
    expect(mine.map((c) => `${c.verb}${c.ok ? "" : " failed"} ${String(c.body.count)}`)).toEqual(["create 1", "patch 2", "patch 3"]);
    expect(client.event("shop", mine[0]!.name)!.count).toBe(3);
    expect(client.calls.filter((c) => c.name.startsWith("other-") && c.ok)).toHaveLength(6);
  });

  it("more writes waiting than maxQueued (beyond the 8 in flight): the oldest waiting are dropped (logged)", async () => {
    const clock = new FakeClock(T0);
    const client = new FakeEvents(clock);
    client.delayMs = 100;
    const { logger, lines } = captureLogger();
    const rec = new EventRecorder({ client, component: "kubelet", clock, logger, maxQueued: 3 });
    for (let i = 0; i < 12; i++) rec.event({ ...pod, metadata: { ...pod.metadata, name: `p${i}` } }, "Normal", `R${i}`, "m");
    const f = rec.flush();
    await clock.advanceAsync(1000, 50);
    await f;
    expect(client.maxInFlight).toBe(8);
    // R0–R7 were being written; of R8–R11 waiting, the oldest went.
    expect(client.calls.map((c) => c.body.reason)).toEqual(["R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R9", "R10", "R11"]);
    expect(lines.filter((l) => l.msg === "event queue full; dropping the oldest event")).toHaveLength(1);
  });
});
