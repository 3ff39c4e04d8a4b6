/**
 * Linearizability of the real thing: concurrent clients (connected to different members, so
 * reads go through ReadIndex on followers) run get / put / compare-and-swap on a few keys while
 * the leader is SIGKILLed and restarted; the recorded history must linearize against a
 * register-per-key model (Wing & Gong / Porcupine checker from test/support).
 */
import { afterEach, describe, expect, it } from "vitest";
import { checkLinearizable, kvModel, type KvInput, type KvOutput, type Operation } from "../support/linearizability.js";
import { sleep, TestCluster } from "./cluster.js";

describe("linearizability against real processes", () => {
  let cluster: TestCluster;

  afterEach(async () => {
    await cluster.cleanup();
  });

  it("get/put/cas histories linearize across a leader SIGKILL and restart", async () => {
    cluster = await new TestCluster({ subnet: "127.0.85", size: 3 }).init();
    cluster.startAll();
    const leader = await cluster.waitForLeader();
    const names = cluster.specs.map((s) => s.name);
    const history: Operation<KvInput, KvOutput>[] = [];
    const keys = ["/lin/a", "/lin/b", "/lin/c"];
    let stop = false;
    let seq = 0;

    const clients = Array.from({ length: 6 }, (_, i) => {
      const order = [...names.slice(i % 3), ...names.slice(0, i % 3)];
      return cluster.client(order, 3000);
    });
    const loops = clients.map(async (c, client) => {
      let lastSeen: string | null = null;
      let n = 0;
      while (!stop) {
        const key = keys[n++ % keys.length]!;
        const r = (client * 7 + n) % 3;
        const call = performance.now();
        if (r === 0) {
          const input: KvInput = { op: "get", key };
          try {
            const kv = await c.get(key);
            lastSeen = kv ? Buffer.from(kv.value).toString() : null;
            history.push({ client, input, call, output: { value: lastSeen }, ret: performance.now() });
          } catch {
            // unknown read: tells nothing
          }
        } else if (r === 1 || lastSeen === null) {
          const value = `c${client}-${seq++}`;
          const input: KvInput = { op: "put", key, value };
          try {
            await c.put(key, value);
            history.push({ client, input, call, output: {}, ret: performance.now() });
          } catch {
            history.push({ client, input, call, ret: Infinity });
          }
        } else {
          const to = `c${client}-${seq++}`;
          const input: KvInput = { op: "cas", key, from: lastSeen, to };
          try {
            const t = await c.txn({
              compare: [{ key, target: "value", result: "=", value: lastSeen }],
              success: [{ type: "put", key, value: to }],
              failure: [],
            });
            history.push({ client, input, call, output: { ok: t.succeeded }, ret: performance.now() });
          } catch {
            history.push({ client, input, call, ret: Infinity });
          }
        }
      }
    });

    await sleep(1200);
    await cluster.kill(leader, "SIGKILL");
    await sleep(1500);
    cluster.start(cluster.specs.find((s) => s.name === leader)!);
    await sleep(1200);
    stop = true;
    await Promise.all(loops);

    const completed = history.filter((op) => op.ret !== Infinity);
    expect(completed.length).toBeGreaterThan(100);
    const result = checkLinearizable(kvModel, history);
    expect(result.exhausted ?? false).toBe(false);
    expect(result.ok, result.info).toBe(true);

    // The history constrains: one read that returns a value never written must break it.
    const i = history.findIndex((op) => op.input.op === "get" && op.output?.value != null);
    expect(i).toBeGreaterThanOrEqual(0);
    const tampered = history.map((op, j) => (j === i ? { ...op, output: { value: "never-written" } } : op));
    expect(checkLinearizable(kvModel, tampered).ok).toBe(false);
  }, 60_000);
});
