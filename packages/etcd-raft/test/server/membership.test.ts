/**
 * Membership with real processes: add a 4th member (started with --initial-cluster-state
 * existing), it catches up through a snapshot and publishes its client URL; remove it and it
 * stops itself with a clear log line.
 */
import { afterEach, describe, expect, it } from "vitest";
import { TestCluster } from "./cluster.js";

describe("membership", () => {
  let cluster: TestCluster;

  afterEach(async () => {
    await cluster.cleanup();
  });

  it("adds a member that catches up, then removes it and it stops", async () => {
    cluster = await new TestCluster({ subnet: "127.0.83", size: 3, snapshotCount: 40 }).init();
    cluster.startAll();
    await cluster.waitForLeader();
    const c = cluster.client();
    await Promise.all(Array.from({ length: 100 }, (_, i) => c.put(`/m/k${i}`, `v${i}`)));

    const s3 = cluster.spec(3);
    const added = await c.memberAdd(s3.name, s3.peerUrl);
    expect(added.member.name).toBe("etcd-3");
    expect(added.members.map((m) => m.name)).toEqual(["etcd-0", "etcd-1", "etcd-2", "etcd-3"]);
    await expect(c.memberAdd(s3.name, s3.peerUrl)).rejects.toMatchObject({ reason: "AlreadyExists" });

    cluster.specs.push(s3);
    const m3 = cluster.start(s3, { state: "existing", initialCluster: cluster.initialCluster() });
    await cluster.waitForLeader();
    await c.put("/m/after-add", "yes");
    const { revision } = await cluster.waitConverged();
    expect(revision).toBeGreaterThanOrEqual(102);
    const metrics = await (await fetch(`${s3.controlUrl}/metrics`)).text();
    expect(Number(/^etcd_server_snapshots_installed_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    const own = cluster.client([s3.name]);
    expect((await own.range({ key: "/m/", rangeEnd: "/m0", serializable: true })).count).toBe(101);
    // The new member published its client URL through the log.
    const deadline = Date.now() + 5000;
    let listed = (await c.memberList()).members.find((m) => m.name === "etcd-3");
    while (Date.now() < deadline && listed?.clientUrls.length === 0) {
      await new Promise((r) => setTimeout(r, 100));
      listed = (await c.memberList()).members.find((m) => m.name === "etcd-3");
    }
    expect(listed?.clientUrls).toEqual([s3.clientUrl]);

    const removed = await c.memberRemove({ name: "etcd-3" });
    expect(removed.members.map((m) => m.name)).toEqual(["etcd-0", "etcd-1", "etcd-2"]);
    const exit = await Promise.race([m3.exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 8000))]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(m3.output.join("")).toMatch(/removed from the cluster; stopping/);
    cluster.running.delete(s3.name);
    await c.put("/m/after-remove", "still works");
    await expect(c.memberRemove({ name: "nope" })).rejects.toMatchObject({ reason: "NotFound" });
  }, 40_000);
});
