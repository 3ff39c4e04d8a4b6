/**
 * Network faults and leader changes with real processes: fault rules set on a member's control
 * endpoint (matched by peer process name) isolate the leader; the majority elects a new one and
 * keeps serving; after healing, the old leader rejoins and converges. Leases survive a leader
 * SIGKILL because the new leader renews every deadline.
 */
import { afterEach, describe, expect, it } from "vitest";
import { sleep, TestCluster } from "./cluster.js";

async function setFaults(controlUrl: string, rules: unknown[]): Promise<void> {
  const res = await fetch(`${controlUrl}/kubemu/faults`, { method: "PUT", body: JSON.stringify({ rules }), headers: { "content-type": "application/json" } });
  expect(res.status).toBe(200);
}

describe("faults", () => {
  let cluster: TestCluster;

  afterEach(async () => {
    await cluster.cleanup();
  });

  it("an isolated leader is replaced; after healing it rejoins and converges", async () => {
    cluster = await new TestCluster({ subnet: "127.0.87", size: 3 }).init();
    cluster.startAll();
    const old = await cluster.waitForLeader();
    const oldSpec = cluster.specs.find((s) => s.name === old)!;
    const others = cluster.specs.filter((s) => s.name !== old);
    await setFaults(oldSpec.controlUrl, others.map((s) => ({ peer: s.name, action: "drop" })));

    // A write sent while the old leader still believes it leads may fail with an unknown
    // outcome; the application retries (the put is idempotent) and lands on the new leader.
    const majority = cluster.client(others.map((s) => s.name), 4000);
    const writeDeadline = Date.now() + 15_000;
    for (;;) {
      try {
        await majority.put("/part/during", "majority");
        break;
      } catch (e) {
        if (Date.now() > writeDeadline) throw e;
      }
    }
    const deadline = Date.now() + 10_000;
    let oldRole = "";
    while (Date.now() < deadline) {
      const st = await cluster.status(old);
      oldRole = st.role;
      if (oldRole !== "leader") break;
      await sleep(100);
    }
    expect(oldRole).not.toBe("leader");
    const st = await cluster.status(others[0]!.name);
    expect(st.leaderName).not.toBe(old);
    expect(st.leaderName).not.toBe("");
    // A client pinned to the isolated member cannot write there, and says why.
    const pinned = cluster.client([old], 1500);
    await expect(pinned.put("/part/minority", "x")).rejects.toMatchObject({ reason: expect.stringMatching(/ServiceUnavailable|Timeout/) });

    await fetch(`${oldSpec.controlUrl}/kubemu/faults`, { method: "DELETE" });
    await cluster.waitForLeader();
    await cluster.waitConverged();
    const own = cluster.client([old]);
    expect(Buffer.from((await own.get("/part/during"))!.value).toString()).toBe("majority");
    expect(await own.get("/part/minority")).toBeUndefined();
  }, 40_000);

  it("a lease outlives a leader SIGKILL (the new leader renews deadlines) and still expires without keep-alives", async () => {
    cluster = await new TestCluster({ subnet: "127.0.88", size: 3 }).init();
    cluster.startAll();
    const leader = await cluster.waitForLeader();
    const c = cluster.client();
    const lease = await c.leaseGrant(2);
    await c.put("/lease/held", "x", { lease: lease.id });
    await sleep(1000);
    await c.leaseKeepAlive(lease.id);
    await cluster.kill(leader, "SIGKILL");
    await cluster.waitForLeader();
    // Within the renewed ttl the key is still there and keep-alives reach the new leader.
    expect(await c.get("/lease/held")).toBeDefined();
    expect((await c.leaseKeepAlive(lease.id)).ttl).toBe(2);
    const gone = Date.now() + 8000;
    while (Date.now() < gone && (await c.get("/lease/held")) !== undefined) await sleep(200);
    expect(await c.get("/lease/held")).toBeUndefined();
  }, 40_000);
});
