import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { FakeClock } from "@kubemu/common";
import { DelayLine } from "../src/wire/delay-line.js";
import { FaultInjector, handleControlRequest, SeededRng, startControlServer, validateFaultRules, FAULT_DROP as DROP, FAULT_PASS as PASS } from "@kubemu/common";
import { newClient, onCleanup, rejectionOf, startServer, waitFor } from "./fixtures/wire-helpers.js";

async function control(faults: FaultInjector, name = "etcd-0") {
  const ctl = await startControlServer({ host: "127.0.0.1", port: 0, faults, status: () => ({ name, pid: process.pid, role: "leader", term: 3 }) });
  onCleanup(() => ctl.close());
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${ctl.url}${path}`, { method, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
    return { code: res.status, body: (await res.json()) as any };
  };
  return { ctl, call };
}

describe("fault injector", () => {
  it("matches rules by peer and direction, with seeded probabilistic drops", () => {
    const f = new FaultInjector({ rng: new SeededRng(42) });
    expect(f.verdict("a", "in")).toBe(PASS);
    f.setRules([{ peer: "a", direction: "out", action: "drop" }, { peer: "*", action: "delay", delayMs: 30 }, { peer: "b", action: "delay", delayMs: 80 }]);
    expect(f.verdict("a", "out")).toBe(DROP);
    expect(f.verdict("a", "in")).toBe(30);
    expect(f.verdict("b", "in")).toBe(80);
    expect(f.verdict(undefined, "out")).toBe(30);
    f.setRules([{ peer: "c", action: "drop", probability: 0.3 }]);
    let drops = 0;
    for (let i = 0; i < 10_000; i++) if (f.verdict("c", "in") === DROP) drops++;
    expect(drops).toBeGreaterThan(2700);
    expect(drops).toBeLessThan(3300);
    f.clear();
    expect(f.rules).toEqual([]);
  });

  it("validates rules field by field", () => {
    const bad: [unknown, RegExp][] = [
      [{}, /must be an array/],
      [[{ action: "drop" }], /rules\[0\]\.peer/],
      [[{ peer: "a", action: "explode" }], /rules\[0\]\.action/],
      [[{ peer: "a", action: "drop", direction: "sideways" }], /direction/],
      [[{ peer: "a", action: "drop", probability: 2 }], /probability/],
      [[{ peer: "a", action: "delay" }], /delayMs/],
      [[{ peer: "a", action: "delay", delayMs: -1 }], /delayMs/],
      [[{ peer: "a", action: "drop", delayMs: 5 }], /delayMs/],
      [[{ peer: "a", action: "drop", colour: "red" }], /colour/],
      [["a"], /must be an object/],
    ];
    for (const [input, msg] of bad) expect(() => validateFaultRules(input)).toThrow(msg);
    expect(validateFaultRules([{ peer: "a", action: "drop" }])).toEqual([{ peer: "a", direction: "both", action: "drop", probability: 1 }]);
  });
});

describe("delay line", () => {
  it("delivers after the delay and never lets a frame overtake an earlier one", () => {
    const clock = new FakeClock();
    const line = new DelayLine(clock);
    const out: string[] = [];
    line.push(100, () => out.push("a"));
    line.push(10, () => out.push("b")); // shorter delay, but queued behind "a"
    clock.advance(50);
    expect(out).toEqual([]);
    expect(line.busy).toBe(true);
    clock.advance(50);
    expect(out).toEqual(["a", "b"]);
    expect(line.busy).toBe(false);
    line.push(30, () => out.push("c"));
    line.push(60, () => out.push("d"));
    clock.advance(30);
    expect(out).toEqual(["a", "b", "c"]);
    line.clear();
    clock.advance(100);
    expect(out).toEqual(["a", "b", "c"]);
  });
});

describe("control endpoint", () => {
  it("serves GET/PUT/DELETE /kubemu/faults and GET /kubemu/status", async () => {
    const faults = new FaultInjector();
    const { call } = await control(faults);
    expect(await call("GET", "/kubemu/faults")).toEqual({ code: 200, body: { rules: [] } });
    const put = await call("PUT", "/kubemu/faults", { rules: [{ peer: "apiserver-0", action: "drop" }] });
    expect(put).toEqual({ code: 200, body: { rules: [{ peer: "apiserver-0", direction: "both", action: "drop", probability: 1 }] } });
    expect(faults.rules).toHaveLength(1);
    expect((await call("GET", "/kubemu/faults?x=1")).body.rules).toHaveLength(1);
    expect(await call("DELETE", "/kubemu/faults")).toEqual({ code: 200, body: { rules: [] } });
    expect(faults.rules).toEqual([]);
    const status = await call("GET", "/kubemu/status");
    expect(status).toEqual({ code: 200, body: { name: "etcd-0", pid: process.pid, role: "leader", term: 3 } });
  });

  it("answers bad input with a 400 Status and leaves the rules alone", async () => {
    const faults = new FaultInjector({ rules: [{ peer: "x", action: "drop" }] });
    const { call } = await control(faults);
    for (const body of ["{nope", "[]", JSON.stringify({ rules: [{ peer: "", action: "drop" }] }), JSON.stringify({ rules: "all" })]) {
      const r = await call("PUT", "/kubemu/faults", body);
      expect(r.code).toBe(400);
      expect(r.body).toMatchObject({ kind: "Status", status: "Failure", reason: "BadRequest", code: 400 });
    }
    const bad = await call("PUT", "/kubemu/faults", { rules: [{ peer: "a", action: "delay", delayMs: "soon" }] });
    expect(bad.body.details.causes[0].field).toBe("rules[0].delayMs");
    expect(faults.rules).toHaveLength(1);
    expect((await call("POST", "/kubemu/faults", {})).code).toBe(405);
    expect((await call("GET", "/other")).code).toBe(404);
  });

  it("handleControlRequest leaves other paths to the host server", async () => {
    const faults = new FaultInjector();
    const http = createServer((req, res) => {
      if (handleControlRequest(req, res, { faults, status: () => ({ name: "kubelet-x", pid: 1 }) })) return;
      res.writeHead(200).end("host");
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    onCleanup(() => new Promise<void>((r) => http.close(() => r())));
    const port = (http.address() as { port: number }).port;
    expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()).toBe("host");
    expect(await (await fetch(`http://127.0.0.1:${port}/kubemu/status`)).json()).toEqual({ name: "kubelet-x", pid: 1 });
  });
});

describe("fault injection on live connections", () => {
  it("a drop rule partitions like a real network: liveness fires, reconnects fail, heal restores", async () => {
    const serverFaults = new FaultInjector();
    const { server, url } = await startServer({ name: "etcd-0", faults: serverFaults, pingIntervalMs: 50, deadAfterMs: 250 });
    server.handle("get", () => "v");
    const { call } = await control(serverFaults);
    const client = newClient([url], { name: "apiserver-0", pingIntervalMs: 50, deadAfterMs: 250, connectTimeoutMs: 200, backoffMaxMs: 100 });
    expect(await client.request("get")).toBe("v");
    const events: string[] = [];
    client.on("disconnected", () => events.push("down"));
    client.on("connected", () => events.push("up"));

    await call("PUT", "/kubemu/faults", { rules: [{ peer: "apiserver-0", action: "drop" }] });
    const inflight = client.request("get", null, { timeoutMs: 3000 });
    const e = await rejectionOf(inflight);
    expect(e.status.reason).toBe("ServiceUnavailable");
    expect(events).toEqual(["down"]);
    // New connections cannot complete the handshake while partitioned.
    await new Promise((r) => setTimeout(r, 500));
    expect(client.state.connected).toBe(false);
    expect((await rejectionOf(client.request("get", null, { timeoutMs: 300 }))).status.reason).toBe("Timeout");

    await call("DELETE", "/kubemu/faults");
    expect(await client.request("get", null, { timeoutMs: 3000 })).toBe("v");
    expect(events.at(-1)).toBe("up");
  });

  it("a client-side drop rule for the server's name partitions too, including re-handshakes", async () => {
    const { server, url } = await startServer({ name: "etcd-1", pingIntervalMs: 50, deadAfterMs: 250 });
    server.handle("get", () => "v");
    const clientFaults = new FaultInjector();
    const client = newClient([url], { name: "apiserver-1", faults: clientFaults, pingIntervalMs: 50, deadAfterMs: 250, connectTimeoutMs: 200, backoffMaxMs: 100 });
    expect(await client.request("get")).toBe("v");
    clientFaults.setRules([{ peer: "etcd-1", direction: "in", action: "drop" }]);
    await waitFor(() => !client.state.connected, 2000, "partition detected");
    await new Promise((r) => setTimeout(r, 400));
    expect(client.state.connected).toBe(false);
    clientFaults.clear();
    expect(await client.request("get", null, { timeoutMs: 3000 })).toBe("v");
  });

  it("an inbound-only drop rule on the server also stops new handshakes from that peer", async () => {
    const serverFaults = new FaultInjector({ rules: [{ peer: "apiserver-3", direction: "in", action: "drop" }] });
    const { server, url } = await startServer({ name: "etcd-3", faults: serverFaults });
    server.handle("get", () => "v");
    const blocked = newClient([url], { name: "apiserver-3", connectTimeoutMs: 200, backoffMaxMs: 50 });
    const other = newClient([url], { name: "apiserver-4" });
    expect(await other.request("get")).toBe("v");
    expect((await rejectionOf(blocked.request("get", null, { timeoutMs: 500 }))).status.reason).toBe("Timeout");
    expect(blocked.state.connected).toBe(false);
    serverFaults.clear();
    expect(await blocked.request("get", null, { timeoutMs: 3000 })).toBe("v");
  });

  it("delay rules hold frames in one direction and keep their order", async () => {
    const serverFaults = new FaultInjector();
    const { server, url } = await startServer({ name: "etcd-2", faults: serverFaults });
    server.handle("echo", (x) => x);
    const client = newClient([url], { name: "apiserver-2" });
    await client.request("echo", 0);
    serverFaults.setRules([{ peer: "apiserver-2", direction: "out", action: "delay", delayMs: 120 }]);
    const start = Date.now();
    const order: number[] = [];
    await Promise.all([1, 2, 3, 4, 5].map((i) => client.request<number>("echo", i).then((v) => order.push(v))));
    const took = Date.now() - start;
    expect(took).toBeGreaterThanOrEqual(110);
    expect(took).toBeLessThan(1000);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    serverFaults.setRules([{ peer: "someone-else", action: "delay", delayMs: 500 }]);
    const t2 = Date.now();
    await client.request("echo", 6);
    expect(Date.now() - t2).toBeLessThan(100);
  });
});
