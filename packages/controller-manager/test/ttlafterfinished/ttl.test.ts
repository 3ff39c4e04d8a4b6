import { FakeClock, Resources, silentLogger } from "@kubemu/common";
import { describe, expect, it } from "vitest";
import { TtlAfterFinishedController } from "../../src/controllers/ttlafterfinished/controller.js";
import { rfc3339, type JobObject } from "../../src/controllers/job/util.js";
import { FakeClient } from "../fake-client.js";
import { liveLister, newJob } from "../job/harness.js";

const FINISHED = Date.parse("2026-03-01T10:00:00Z");

function finishedJob(name: string, ttl: number | undefined, type = "Complete"): JobObject {
  const job = newJob(name, ttl === undefined ? {} : { ttlSecondsAfterFinished: ttl });
  job.status = { conditions: [{ type, status: "True", lastTransitionTime: rfc3339(FINISHED) }] };
  return job;
}

function setup(now: number, jobs: JobObject[]) {
  const clock = new FakeClock(now);
  const fake = new FakeClient([{ resource: Resources.jobs, objects: jobs }]);
  const added: string[] = [];
  const after: { key: string; ms: number }[] = [];
  const c = new TtlAfterFinishedController({ client: fake, jobs: liveLister<JobObject>(fake, Resources.jobs), clock, logger: silentLogger }, { add: (k) => void added.push(k), addAfter: (k, ms) => void after.push({ key: k, ms }) });
  return { clock, fake, added, after, c };
}

describe("ttl-after-finished controller", () => {
  it("requeues a finished Job until its TTL runs out, then deletes it (Foreground, uid precondition)", async () => {
    const t = setup(FINISHED + 40_000, [finishedJob("done", 100)]);
    await t.c.reconcile("default/done");
    expect(t.after).toEqual([{ key: "default/done", ms: 60_000 }]);
    expect(t.fake.writes()).toEqual([]);
    t.clock.advance(60_000);
    await t.c.reconcile("default/done");
    const del = t.fake.writes().filter((a) => a.verb === "delete");
    expect(del).toHaveLength(1);
    expect(del[0]!.options).toEqual({ propagationPolicy: "Foreground", preconditions: { uid: "uid-done" } });
    // The cached TTL was checked again against a fresh read first.
    expect(t.fake.actions.some((a) => a.verb === "get" && a.name === "done")).toBe(true);
  });

  it("failed Jobs too; unfinished Jobs, Jobs without a TTL and Jobs being deleted are left alone", async () => {
    const running = newJob("running", { ttlSecondsAfterFinished: 0 });
    const deleting = finishedJob("deleting", 0);
    deleting.metadata.deletionTimestamp = rfc3339(FINISHED);
    const t = setup(FINISHED + 1000, [finishedJob("failed", 0, "Failed"), finishedJob("keep", undefined), running, deleting]);
    for (const j of ["failed", "keep", "running", "deleting"]) await t.c.reconcile(`default/${j}`);
    expect(t.fake.writes().map((a) => `${a.verb} ${a.name}`)).toEqual(["delete failed"]);
    t.c.jobChanged(finishedJob("keep", undefined));
    t.c.jobChanged(running);
    t.c.jobChanged(finishedJob("failed", 0, "Failed"));
    expect(t.added).toEqual(["default/failed"]);
  });

  it("a TTL raised since the cache saw it is honoured (fresh read)", async () => {
    const t = setup(FINISHED + 10_000, [finishedJob("raised", 5)]);
    const stale = finishedJob("raised", 5);
    const fresh = t.fake.objects<JobObject>(Resources.jobs)[0]!;
    fresh.spec!.ttlSecondsAfterFinished = 3600;
    await t.fake.update(Resources.jobs, fresh);
    const c = new TtlAfterFinishedController({ client: t.fake, jobs: { ...liveLister<JobObject>(t.fake, Resources.jobs), get: () => stale }, clock: t.clock, logger: silentLogger }, { add: () => {}, addAfter: (k, ms) => void t.after.push({ key: k, ms }) });
    await c.reconcile("default/raised");
    expect(t.fake.writes().filter((a) => a.verb === "delete")).toEqual([]);
    expect(t.after).toEqual([{ key: "default/raised", ms: 3_590_000 }]);
  });
});
