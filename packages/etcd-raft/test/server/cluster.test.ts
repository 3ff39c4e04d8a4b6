/**
 * A 3-member cluster of real kubemu-etcd processes: election, the client API end to end,
 * follower redirects, linearizable reads on followers, leases, leader transfer, and a watch that
 * resumes without gaps or duplicates after the member serving it is SIGKILLed.
 */
import { WireClient, isNotLeader } from "@kubemu/common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdClient, Method } from "../../src/index.js";
import { sleep, TestCluster } from "./cluster.js";

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());

describe("3-member cluster", () => {
  let cluster: TestCluster;
  let leader: string;

  beforeAll(async () => {
    cluster = await new TestCluster({ subnet: "127.0.77", size: 3 }).init();
    cluster.startAll();
    leader = await cluster.waitForLeader();
  }, 30_000);

  afterAll(async () => {
    await cluster.cleanup();
  });

  it("elects one leader and reports it on every member's control endpoint", async () => {
    const roles: string[] = [];
    for (const s of cluster.specs) {
      const res = await fetch(`${s.controlUrl}/kubemu/status`);
      const st = (await res.json()) as { role: string; leader: string; term: number; revision: number; raftIndex: number };
      expect(st.leader).toBe(leader);
      expect(st.term).toBeGreaterThan(0);
      expect(typeof st.revision).toBe("number");
      expect(typeof st.raftIndex).toBe("number");
      roles.push(st.role);
      const health = await fetch(`${s.controlUrl}/health`);
      expect(health.status).toBe(200);
    }
    expect(roles.filter((r) => r === "leader")).toHaveLength(1);
    const metrics = await (await fetch(`${cluster.specs[0]!.controlUrl}/metrics`)).text();
    expect(metrics).toMatch(/etcd_server_has_leader 1/);
    expect(metrics).toMatch(/etcd_disk_wal_fsync_duration_seconds_bucket/);
  });

  it("put, get, range, delete and txn work through the client", async () => {
    const c = cluster.client();
    const p = await c.put("/a/1", "one");
    expect(p.header.revision).toBeGreaterThan(1);
    await c.put("/a/2", "two");
    expect(text((await c.get("/a/1"))?.value)).toBe("one");
    const r = await c.prefix("/a/");
    expect(r.kvs.map((kv) => text(kv.key))).toEqual(["/a/1", "/a/2"]);
    expect(r.count).toBe(2);

    const cas = await c.txn({
      compare: [{ key: "/a/1", target: "modRevision", result: "=", value: p.header.revision }],
      success: [{ type: "put", key: "/a/1", value: "uno" }],
      failure: [{ type: "range", key: "/a/1" }],
    });
    expect(cas.succeeded).toBe(true);
    const again = await c.txn({
      compare: [{ key: "/a/1", target: "modRevision", result: "=", value: p.header.revision }],
      success: [{ type: "put", key: "/a/1", value: "never" }],
      failure: [{ type: "range", key: "/a/1" }],
    });
    expect(again.succeeded).toBe(false);
    expect(text((await c.get("/a/1"))?.value)).toBe("uno");

    const d = await c.delete("/a/2", { prevKv: true });
    expect(d.deleted).toBe(1);
    expect(await c.get("/a/2")).toBeUndefined();
  });

  it("concurrent writes are group-committed: far fewer WAL fsyncs than writes", async () => {
    const leaderSpec = cluster.specs.find((s) => s.name === leader)!;
    const fsyncs = async () => {
      const body = await (await fetch(`${leaderSpec.controlUrl}/metrics`)).text();
      return Number(/^etcd_disk_wal_fsync_duration_seconds_count (\d+)$/m.exec(body)?.[1]);
    };
    const c = cluster.client();
    const before = await fsyncs();
    await Promise.all(Array.from({ length: 200 }, (_, i) => c.put(`/batch/${i}`, "v")));
    const used = (await fsyncs()) - before;
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThan(100);
  });

  it("a follower answers writes with NotLeader naming the leader's client URL, and the client follows it", async () => {
    const follower = cluster.specs.find((s) => s.name !== leader)!;
    const leaderSpec = cluster.specs.find((s) => s.name === leader)!;
    const raw = new WireClient({ name: "raw", endpoints: [follower.clientUrl], maxRedirects: 0 });
    try {
      const err = await raw.request(Method.put, { key: "k", value: "v" }).catch((e: unknown) => e);
      expect(isNotLeader(err)).toBe(true);
      expect((err as { status: { details: { leaderHint: string } } }).status.details.leaderHint).toBe(`${leaderSpec.clientUrl}/`);
    } finally {
      await raw.close();
    }
    const c = cluster.client([follower.name]);
    const r = await c.put("/via-follower", "x");
    expect(r.header.revision).toBeGreaterThan(1);
    expect(c.connection.endpoint).toBe(`${leaderSpec.clientUrl}/`);
  });

  it("linearizable reads on a follower see the latest acknowledged write; serializable reads are local", async () => {
    const follower = cluster.specs.find((s) => s.name !== leader)!;
    const writer = cluster.client([leader]);
    const reader = new EtcdClient({ endpoints: [follower.clientUrl], requestTimeoutMs: 5000 });
    try {
      for (let i = 0; i < 20; i++) {
        await writer.put("/lin", String(i));
        const kv = await reader.get("/lin");
        expect(text(kv?.value)).toBe(String(i));
      }
      const st = await reader.status();
      expect(st.name).toBe(follower.name);
      const local = await reader.range({ key: "/lin", serializable: true });
      expect(local.memberId).toBe(st.memberId);
    } finally {
      await reader.close();
    }
  });

  it("watches deliver events in order with revisions; a compacted start revision is 410 Expired with the compact revision", async () => {
    const c = cluster.client();
    const start = (await c.put("/w/x", "0")).header.revision;
    const w = c.watch("/w/", { rangeEnd: "/w0", startRevision: start });
    const seen: number[] = [];
    const done = (async () => {
      for await (const r of w) {
        for (const ev of r.events) seen.push(Number(text(ev.kv.value)));
        if (seen.length === 5) break;
      }
    })();
    for (let i = 1; i < 5; i++) await c.put("/w/x", String(i));
    await done;
    expect(seen).toEqual([0, 1, 2, 3, 4]);

    const rev = (await c.put("/w/y", "y")).header.revision;
    await c.compact(rev);
    const old = c.watch("/w/", { rangeEnd: "/w0", startRevision: start });
    const err = await (async () => {
      for await (const _ of old) void _;
    })().catch((e: unknown) => e);
    const { compactRevisionOf } = await import("../../src/index.js");
    expect(compactRevisionOf(err)).toBe(rev);
    expect((err as { reason: string }).reason).toBe("Expired");
  });

  it("progress notifications advance an idle watch", async () => {
    const c = cluster.client();
    const rev = (await c.put("/progress/other", "x")).header.revision;
    const w = c.watch("/progress/quiet", { progressNotifyMs: 100, includeProgress: true });
    for await (const r of w) {
      expect(r.progress).toBe(true);
      expect(r.events).toEqual([]);
      expect(r.revision).toBeGreaterThanOrEqual(rev);
      break;
    }
  });

  it("leases: keys vanish when a lease expires without keep-alives; keep-alives hold them", async () => {
    const c = cluster.client();
    const short = await c.leaseGrant(1);
    const kept = await c.leaseGrant(1);
    await c.put("/lease/short", "s", { lease: short.id });
    await c.put("/lease/kept", "k", { lease: kept.id });
    const ttl = await c.leaseTimeToLive(kept.id, true);
    expect(ttl.grantedTtl).toBe(1);
    expect(ttl.keys.map((k) => text(k))).toEqual(["/lease/kept"]);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (await c.get("/lease/short")) !== undefined) {
      await c.leaseKeepAlive(kept.id);
      await sleep(200);
    }
    expect(await c.get("/lease/short")).toBeUndefined();
    expect(text((await c.get("/lease/kept"))?.value)).toBe("k");
    await c.leaseRevoke(kept.id);
    expect(await c.get("/lease/kept")).toBeUndefined();
  });

  it("moves leadership to a chosen member", async () => {
    const c = cluster.client();
    const target = cluster.specs.find((s) => s.name !== leader)!;
    const r = await c.moveLeader({ name: target.name });
    expect(r.leader).toBe((await cluster.status(target.name)).memberId);
    leader = await cluster.waitForLeader();
    expect(leader).toBe(target.name);
    await c.put("/after-move", "ok");
  });

  it("a watch resumes after the member serving it is SIGKILLed: no gap, no duplicate", async () => {
    const served = cluster.specs.find((s) => s.name !== leader)!;
    const others = cluster.specs.filter((s) => s.name !== served.name).map((s) => s.name);
    const watcherClient = cluster.client([served.name, ...others]);
    const writer = cluster.client(others);
    const first = (await writer.put("/resume/k", "0")).header.revision;
    const w = watcherClient.watch("/resume/", { rangeEnd: "/resume0", startRevision: first });
    const revisions: number[] = [];
    const values: string[] = [];
    const total = 60;
    const reading = (async () => {
      for await (const r of w) {
        revisions.push(r.revision);
        for (const ev of r.events) values.push(text(ev.kv.value)!);
        if (values.length >= total) break;
      }
    })();
    for (let i = 1; i < total; i++) {
      if (i === 20) {
        expect(watcherClient.connection.endpoint).toBe(`${served.clientUrl}/`);
        await cluster.kill(served.name);
      }
      await writer.put("/resume/k", String(i));
    }
    await reading;
    expect(values).toEqual(Array.from({ length: total }, (_, i) => String(i)));
    expect(new Set(revisions).size).toBe(revisions.length);
    expect([...revisions].sort((a, b) => a - b)).toEqual(revisions);
    expect(w.reconnects).toBeGreaterThan(0);
  });

  it("SIGTERM stops a member gracefully with exit code 0, and it restarts from its data dir", async () => {
    for (const s of cluster.specs) if (!cluster.running.has(s.name)) cluster.start(s); // the member killed above
    leader = await cluster.waitForLeader();
    const c = cluster.client();
    await c.put("/term", "before");
    const name = cluster.specs.find((s) => s.name !== leader)!.name;
    const m = cluster.running.get(name)!;
    m.proc.kill("SIGTERM");
    expect(await m.exited).toEqual({ code: 0, signal: null });
    cluster.running.delete(name);
    cluster.start(cluster.specs.find((s) => s.name === name)!);
    await cluster.waitForLeader();
    await cluster.waitConverged();
    const own = cluster.client([name]);
    expect(text((await own.get("/term", { serializable: true }))?.value)).toBe("before");
  });
});
