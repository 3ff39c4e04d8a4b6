/**
 * Snapshots with real processes (--snapshot-count 50): a member that was down while hundreds of
 * entries were written catches up through InstallSnapshot; a full-cluster SIGKILL restarts from
 * snapshot files + WAL with nothing lost; the snapshot stream downloads a verified copy.
 */
import { afterEach, describe, expect, it } from "vitest";
import { TestCluster } from "./cluster.js";

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());

async function metric(controlUrl: string, name: string): Promise<number> {
  const body = await (await fetch(`${controlUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(body);
  return m ? Number(m[1]) : NaN;
}

/** The snapshot file is written in the background after the entries apply, so its counter lags. */
async function eventualMetric(controlUrl: string, name: string, deadlineMs = 10_000): Promise<number> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const v = await metric(controlUrl, name);
    if (v >= 1 || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("snapshots", () => {
  let cluster: TestCluster;

  afterEach(async () => {
    await cluster.cleanup();
  });

  it("a member down for more than snapshot-count entries catches up from a snapshot", async () => {
    cluster = await new TestCluster({ subnet: "127.0.80", size: 3, snapshotCount: 50 }).init();
    cluster.startAll();
    const leader = await cluster.waitForLeader();
    const lagger = cluster.specs.find((s) => s.name !== leader)!;
    const c = cluster.client(cluster.specs.filter((s) => s.name !== lagger.name).map((s) => s.name));
    await c.put("/snap/before", "b");
    await cluster.waitConverged();
    await cluster.kill(lagger.name, "SIGKILL");
    const writes = Array.from({ length: 300 }, (_, i) => c.put(`/snap/k${String(i).padStart(4, "0")}`, `v${i}`));
    await Promise.all(writes);
    const leaderSpec = cluster.specs.find((s) => s.name === leader)!;
    expect(await eventualMetric(leaderSpec.controlUrl, "etcd_server_snapshots_total")).toBeGreaterThanOrEqual(1);

    cluster.start(lagger);
    await cluster.waitForLeader();
    const { revision } = await cluster.waitConverged();
    expect(revision).toBeGreaterThanOrEqual(302);
    expect(await eventualMetric(lagger.controlUrl, "etcd_server_snapshots_installed_total")).toBeGreaterThanOrEqual(1);
    const own = cluster.client([lagger.name]);
    const r = await own.range({ key: "/snap/k", rangeEnd: "/snap/l", serializable: true });
    expect(r.count).toBe(300);
    expect(text((await own.get("/snap/before", { serializable: true }))?.value)).toBe("b");
  }, 40_000);

  it("the whole cluster SIGKILLed restarts from snapshot files + WAL with every write", async () => {
    cluster = await new TestCluster({ subnet: "127.0.81", size: 3, snapshotCount: 50 }).init();
    cluster.startAll();
    await cluster.waitForLeader();
    const c = cluster.client();
    for (let batch = 0; batch < 4; batch++) {
      await Promise.all(Array.from({ length: 40 }, (_, i) => c.put(`/all/k${batch}-${i}`, `v${batch}-${i}`)));
    }
    const before = await cluster.waitConverged();
    for (const s of cluster.specs) await cluster.kill(s.name, "SIGKILL");
    cluster.startAll();
    await cluster.waitForLeader();
    const after = await cluster.waitConverged();
    expect(after.hash).toBe(before.hash);
    const r = await c.range({ key: "/all/", rangeEnd: "/all0" });
    expect(r.count).toBe(160);

    const snap = await c.snapshot();
    expect(snap.data.length).toBeGreaterThan(1000);
    expect(snap.revision).toBe(after.revision);
  }, 40_000);
});
