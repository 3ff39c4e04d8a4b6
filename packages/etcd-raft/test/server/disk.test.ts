/** Boot of a member's data dir: bootstrap, reopen, torn-batch HardState clamp, wrong owner. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SeededRng, silentLogger } from "@kubemu/common";
import { afterEach, describe, expect, it } from "vitest";
import { RawNode } from "../../src/raft/index.js";
import { Disk } from "../../src/server/disk.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "kubemu-disk-test-"));
  dirs.push(d);
  return d;
}

const bootstrap = {
  confState: { voters: [1, 2, 3], learners: [] },
  members: [{ id: 1, name: "a", peerUrls: ["ws://127.0.0.1:1"], clientUrls: [] }],
  mvcc: new Uint8Array([1]),
};

describe("Disk.boot", () => {
  it("bootstraps a new member with a snapshot at index 1 and reopens it unchanged", async () => {
    const dataDir = await tmp();
    const first = await Disk.boot({ dataDir, memberName: "a", clusterId: "c", bootstrap, log: silentLogger });
    expect(first.created).toBe(true);
    expect(first.appliedIndex).toBe(1);
    expect(first.storage.initialState().confState.voters).toEqual([1, 2, 3]);
    expect(first.hardState).toEqual({ term: 1, vote: 0, commit: 1 });
    await first.disk.append({ term: 2, vote: 1, commit: 3 }, [
      { term: 2, index: 2, type: 0, data: new Uint8Array([2]) },
      { term: 2, index: 3, type: 0, data: new Uint8Array([3]) },
    ]);
    await first.disk.close();
    const again = await Disk.boot({ dataDir, memberName: "a", clusterId: "c", bootstrap, log: silentLogger });
    expect(again.created).toBe(false);
    expect(again.envelope?.members).toEqual(bootstrap.members);
    expect(again.storage.lastIndex()).toBe(3);
    expect(again.hardState).toEqual({ term: 2, vote: 1, commit: 3 });
    await again.disk.close();
  });

  it("clamps a HardState commit that points past the recovered log, so Raft can start", async () => {
    const dataDir = await tmp();
    const b = await Disk.boot({ dataDir, memberName: "a", clusterId: "c", bootstrap, log: silentLogger });
    // As if the entries 3..5 written after this HardState were torn off by a crash.
    await b.disk.append({ term: 2, vote: 1, commit: 5 }, [{ term: 2, index: 2, type: 0, data: new Uint8Array([2]) }]);
    await b.disk.close();
    const r = await Disk.boot({ dataDir, memberName: "a", clusterId: "c", bootstrap, log: silentLogger });
    expect(r.hardState.commit).toBe(2);
    expect(() => new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage: r.storage, rng: new SeededRng(1), applied: r.appliedIndex })).not.toThrow();
    await r.disk.close();
  });

  it("refuses a data dir that belongs to another member", async () => {
    const dataDir = await tmp();
    const b = await Disk.boot({ dataDir, memberName: "a", clusterId: "c", bootstrap, log: silentLogger });
    await b.disk.close();
    await expect(Disk.boot({ dataDir, memberName: "b", clusterId: "c", bootstrap, log: silentLogger })).rejects.toThrow(/belongs to member a/);
  });

  it("a joining member starts empty and waits for a snapshot", async () => {
    const dataDir = await tmp();
    const b = await Disk.boot({ dataDir, memberName: "j", clusterId: "c", log: silentLogger });
    expect(b.envelope).toBeUndefined();
    expect(b.storage.lastIndex()).toBe(0);
    expect(b.storage.initialState().confState.voters).toEqual([]);
    await b.disk.close();
  });
});
