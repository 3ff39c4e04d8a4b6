import { Indexer, Resources, StatusError, newStatus, silentLogger } from "@kubemu/common";
import { describe, expect, it } from "vitest";
import type { CronJobObject } from "../../src/controllers/cronjob/jobs.js";
import { CronJobSync } from "../../src/controllers/cronjob/sync.js";
import { rfc3339, type JobObject } from "../../src/controllers/job/util.js";
import { liveLister } from "../job/harness.js";
import { CronJobHarness, NS, minutes, newCronJob } from "./harness.js";

const at = (s: string) => Date.parse(s);
const CREATED = at("2026-03-01T10:00:30Z");

/** A Job the CronJob made for the minute `scheduled` (as if created earlier). */
function ownedJob(cjName: string, scheduled: number, extra: Partial<JobObject["metadata"]> = {}): JobObject {
  const name = `${cjName}-${minutes(scheduled)}`;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: NS, uid: `uid-${name}`, resourceVersion: "3", ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: cjName, uid: `uid-${cjName}`, controller: true, blockOwnerDeletion: true }], ...extra },
    spec: { template: { spec: { containers: [] } } },
  } as JobObject;
}

describe("cronjob controller: creating Jobs on schedule", () => {
  it("waits for the first schedule time, then creates <name>-<minutes> and requeues at the next", async () => {
    const h = new CronJobHarness(CREATED + 1000, [newCronJob("hello", CREATED)]);
    await h.sync("hello");
    expect(h.jobs()).toEqual([]);
    // 10:01:00 + 100 ms, from 10:00:31.
    expect(h.requeue()).toBe(29_100);

    h.clock.advance(29_100);
    await h.sync("hello");
    const scheduled = at("2026-03-01T10:01:00Z");
    const [job] = h.jobs();
    expect(job!.metadata.name).toBe(`hello-${minutes(scheduled)}`);
    expect(job!.metadata.labels).toEqual({ app: "hello" });
    expect(job!.metadata.annotations).toEqual({ "batch.kubernetes.io/cronjob-scheduled-timestamp": "2026-03-01T10:01:00Z" });
    expect(job!.metadata.ownerReferences).toEqual([{ apiVersion: "batch/v1", kind: "CronJob", name: "hello", uid: "uid-hello", controller: true, blockOwnerDeletion: true }]);
    expect(job!.spec!.template.spec!.containers[0]!.command).toEqual(["date"]);
    expect(h.events()).toEqual([`Normal SuccessfulCreate Created job ${job!.metadata.name}`]);
    const st = h.cronJob("hello").status!;
    expect(st.lastScheduleTime).toBe("2026-03-01T10:01:00Z");
    expect(st.active).toEqual([{ kind: "Job", namespace: NS, name: job!.metadata.name, uid: job!.metadata.uid, apiVersion: "batch/v1", resourceVersion: job!.metadata.resourceVersion }]);
    expect(h.requeue()).toBe(60_000);

    // The same minute again (a duplicate wakeup) creates nothing.
    await h.sync("hello");
    expect(h.jobs()).toHaveLength(1);
  });

  it("a Job create the API refuses: FailedCreate, the sync fails for the queue's backoff (no schedule requeue), and the retry creates it", async () => {
    const h = new CronJobHarness(at("2026-03-01T10:01:00.100Z"), [newCronJob("hello", CREATED)]);
    let refuse = true;
    h.fake.react((a) => (refuse && a.verb === "create" && a.resource === "jobs" ? new StatusError(newStatus("Forbidden", 'jobs.batch "hello-x" is forbidden: exceeded quota: q')) : undefined));
    await expect(h.sync("hello")).rejects.toThrow("exceeded quota");
    expect(h.events()).toEqual(['Warning FailedCreate Error creating job: jobs.batch "hello-x" is forbidden: exceeded quota: q']);
    expect(h.after).toEqual([]);
    expect(h.cronJob("hello").status?.active ?? []).toEqual([]);
    refuse = false;
    await h.sync("hello");
    expect(h.jobs().map((j) => j.metadata.name)).toEqual([`hello-${minutes(at("2026-03-01T10:01:00Z"))}`]);
    expect(h.cronJob("hello").status?.lastScheduleTime).toBe("2026-03-01T10:01:00Z");
  });

  it("a Job that completes is dropped from active and sets lastSuccessfulTime", async () => {
    const h = new CronJobHarness(CREATED + 30_000, [newCronJob("hello", CREATED)]);
    await h.sync("hello");
    const name = h.jobs()[0]!.metadata.name!;
    h.clock.advance(5000);
    await h.finishJob(name, "Complete");
    await h.sync("hello");
    expect(h.events()).toContain(`Normal SawCompletedJob Saw completed job: ${name}, condition: Complete`);
    expect(h.cronJob("hello").status!.active).toBeUndefined();
    expect(h.cronJob("hello").status!.lastSuccessfulTime).toBe(rfc3339(h.clock.now()));
  });

  it("spec.timeZone: runs at 9:00 in Seoul and stamps the time in that zone", async () => {
    const h = new CronJobHarness(at("2026-03-02T00:00:01Z"), [newCronJob("kr", at("2026-03-01T12:00:00Z"), { schedule: "0 9 * * *", timeZone: "Asia/Seoul" })]);
    await h.sync("kr");
    expect(h.jobs()[0]!.metadata.annotations!["batch.kubernetes.io/cronjob-scheduled-timestamp"]).toBe("2026-03-02T09:00:00+09:00");
    expect(h.cronJob("kr").status!.lastScheduleTime).toBe("2026-03-02T00:00:00Z");
  });

  it("an invalid time zone or schedule records a warning and creates nothing", async () => {
    const h = new CronJobHarness(CREATED + 60_000, [newCronJob("tz", CREATED, { timeZone: "Mars/Olympus" }), newCronJob("bad", CREATED, { schedule: "0 0 31 2 *" })]);
    await h.sync("tz");
    await h.sync("bad");
    expect(h.jobs()).toEqual([]);
    expect(h.events()).toEqual(['Warning UnknownTimeZone invalid timeZone: "Mars/Olympus": unknown time zone Mars/Olympus', "Warning InvalidSchedule invalid schedule: 0 0 31 2 * : time difference between two schedules is less than 1 second"]);
    expect(h.requeue()).toBeUndefined();
  });

  it("suspend: no Job while suspended", async () => {
    const h = new CronJobHarness(CREATED + 120_000, [newCronJob("s", CREATED, { suspend: true })]);
    await h.sync("s");
    expect(h.jobs()).toEqual([]);
    expect(h.requeue()).toBeUndefined();
  });
});

describe("cronjob controller: concurrencyPolicy", () => {
  const runTwice = async (policy: "Allow" | "Forbid" | "Replace") => {
    const h = new CronJobHarness(CREATED + 30_000, [newCronJob("c", CREATED, { concurrencyPolicy: policy })]);
    await h.sync("c");
    h.clock.advance(60_000);
    await h.sync("c");
    return h;
  };

  it("Allow runs the next Job alongside the active one", async () => {
    const h = await runTwice("Allow");
    expect(h.jobs()).toHaveLength(2);
    expect(h.cronJob("c").status!.active).toHaveLength(2);
  });

  it("Forbid skips the run while one is active", async () => {
    const h = await runTwice("Forbid");
    expect(h.jobs()).toHaveLength(1);
    expect(h.events().slice(-1)).toEqual(["Normal JobAlreadyActive Not starting job because prior execution is running and concurrency policy is Forbid"]);
    // Synced on the minute: the next one is 60 s (plus the delta) away.
    expect(h.requeue()).toBe(60_100);
  });

  it("Replace deletes the active Job (Background) and creates the new one", async () => {
    const h = await runTwice("Replace");
    const first = `c-${minutes(at("2026-03-01T10:01:00Z"))}`;
    const second = `c-${minutes(at("2026-03-01T10:02:00Z"))}`;
    expect(h.jobs().map((j) => j.metadata.name)).toEqual([second]);
    expect(h.events().slice(-2)).toEqual([`Normal SuccessfulDelete Deleted job ${first}`, `Normal SuccessfulCreate Created job ${second}`]);
    expect(h.fake.writes().find((a) => a.verb === "delete")!.options).toEqual({ propagationPolicy: "Background" });
    expect(h.cronJob("c").status!.active!.map((r) => r.name)).toEqual([second]);
  });
});

describe("cronjob controller: history limits", () => {
  it("keeps the newest 3 succeeded and 1 failed Jobs", async () => {
    const base = at("2026-03-01T09:00:00Z");
    const jobs: JobObject[] = [];
    for (let i = 0; i < 5; i++) {
      const j = ownedJob("h", base + i * 60_000);
      j.status = { startTime: rfc3339(base + i * 60_000), completionTime: rfc3339(base + i * 60_000 + 10_000), conditions: [{ type: "Complete", status: "True" }] };
      jobs.push(j);
    }
    for (let i = 5; i < 7; i++) {
      const j = ownedJob("h", base + i * 60_000);
      j.status = { startTime: rfc3339(base + i * 60_000), conditions: [{ type: "Failed", status: "True" }] };
      jobs.push(j);
    }
    const cj = newCronJob("h", base - 60_000, { suspend: true });
    cj.status = { lastScheduleTime: rfc3339(base + 6 * 60_000) };
    const h = new CronJobHarness(base + 7 * 60_000, [cj], jobs);
    await h.sync("h");
    const left = h.jobs().map((j) => j.metadata.name);
    expect(left).toEqual([2, 3, 4, 6].map((i) => `h-${minutes(base + i * 60_000)}`));
    expect(h.events().filter((e) => e.includes("SuccessfulDelete"))).toEqual([0, 1, 5].map((i) => `Normal SuccessfulDelete Deleted job h-${minutes(base + i * 60_000)}`));
    // The newest success also became lastSuccessfulTime.
    expect(h.cronJob("h").status!.lastSuccessfulTime).toBe(rfc3339(base + 4 * 60_000 + 10_000));
  });
});

describe("cronjob controller: missed schedules and deadlines", () => {
  it("after more than 100 missed times: one TooManyMissedTimes warning and a Job for the latest time only", async () => {
    const h = new CronJobHarness(CREATED + 200 * 60_000, [newCronJob("late", CREATED)]);
    await h.sync("late");
    expect(h.events()[0]).toBe("Warning TooManyMissedTimes too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew");
    expect(h.jobs().map((j) => j.metadata.name)).toEqual([`late-${minutes(at("2026-03-01T13:20:00Z"))}`]);
    h.clock.advance(60_000);
    await h.sync("late");
    expect(h.events().filter((e) => e.includes("TooManyMissedTimes"))).toHaveLength(1);
    expect(h.jobs()).toHaveLength(2);
  });

  it("a few missed times: only the most recent runs", async () => {
    const h = new CronJobHarness(CREATED + 10 * 60_000, [newCronJob("few", CREATED)]);
    await h.sync("few");
    expect(h.jobs().map((j) => j.metadata.name)).toEqual([`few-${minutes(at("2026-03-01T10:10:00Z"))}`]);
    expect(h.events().some((e) => e.includes("TooManyMissedTimes"))).toBe(false);
  });

  it("startingDeadlineSeconds: a run later than the deadline is skipped, one within it starts", async () => {
    const skipped = new CronJobHarness(at("2026-03-01T10:01:30Z"), [newCronJob("d", CREATED, { startingDeadlineSeconds: 20 })]);
    await skipped.sync("d");
    expect(skipped.jobs()).toEqual([]);
    expect(skipped.requeue()).toBe(30_100);
    const started = new CronJobHarness(at("2026-03-01T10:01:15Z"), [newCronJob("d", CREATED, { startingDeadlineSeconds: 20 })]);
    await started.sync("d");
    expect(started.jobs()).toHaveLength(1);
  });
});

describe("cronjob controller: status.active against the Jobs that exist", () => {
  it("MissingJob: an active Job that is gone is dropped", async () => {
    const cj = newCronJob("m", CREATED, { suspend: true });
    cj.status = { active: [{ kind: "Job", namespace: NS, name: "m-1", uid: "uid-m-1", apiVersion: "batch/v1" }] };
    const h = new CronJobHarness(CREATED + 60_000, [cj]);
    await h.sync("m");
    expect(h.events()).toEqual(["Normal MissingJob Active job went missing: m-1"]);
    expect(h.cronJob("m").status!.active).toBeUndefined();
  });

  it("UnexpectedJob: a running Job it controls but does not list (kubectl create job --from, or made just before a crash)", async () => {
    const manual = ownedJob("u", CREATED);
    manual.metadata.name = "manual-run";
    manual.metadata.annotations = { "cronjob.kubernetes.io/instantiate": "manual" };
    const h = new CronJobHarness(CREATED + 10_000, [newCronJob("u", CREATED)], [manual]);
    await h.sync("u");
    expect(h.events()).toEqual(["Warning UnexpectedJob Saw a job that the controller did not create or forgot: manual-run"]);
    expect(h.cronJob("u").status?.active).toBeUndefined();
  });

  it("a Job of this minute already created (status write lost) is put back in active without a second create", async () => {
    const scheduled = at("2026-03-01T10:01:00Z");
    const h = new CronJobHarness(scheduled + 5000, [newCronJob("a", CREATED)], []);
    // Created by an earlier sync whose status write never landed; the job cache has not seen it yet.
    await h.fake.create(Resources.jobs, ownedJob("a", scheduled));
    const staleJobs = new Indexer<JobObject>();
    const sync = new CronJobSync({ client: h.fake, cronJobs: liveLister<CronJobObject>(h.fake, Resources.cronJobs), jobs: staleJobs, recorder: h.recorder, clock: h.clock, logger: silentLogger });
    await sync.sync(`${NS}/a`);
    expect(h.jobs()).toHaveLength(1);
    expect(h.events()).toEqual([]);
    expect(h.cronJob("a").status!.active!.map((r) => r.name)).toEqual([`a-${minutes(scheduled)}`]);
  });
});

describe("cronjob controller: wiring", () => {
  it("a schedule change requeues at the new schedule's next time; other changes at once", async () => {
    const h = new CronJobHarness(at("2026-03-01T10:00:40Z"), [newCronJob("w", CREATED)]);
    const old = h.cronJob("w");
    h.controller.cronJobUpdated(old, { ...old, spec: { ...old.spec!, schedule: "30 10 * * *" } });
    expect(h.after).toEqual([{ key: `${NS}/w`, ms: 29 * 60_000 + 20_000 + 100 }]);
    h.controller.cronJobUpdated(old, { ...old, spec: { ...old.spec!, suspend: true } });
    expect(h.added).toEqual([`${NS}/w`]);
    h.controller.cronJobUpdated(old, { ...old, spec: { ...old.spec!, schedule: "nope" } });
    expect(h.events()).toEqual(["Warning UnParseableCronJobSchedule unparseable schedule for cronjob: nope"]);
  });

  it("Job events sync the CronJob their controller reference names", () => {
    const h = new CronJobHarness(CREATED, [newCronJob("e", CREATED)]);
    h.controller.jobAdded(ownedJob("e", CREATED));
    h.controller.jobAdded(ownedJob("other", CREATED));
    expect(h.added).toEqual([`${NS}/e`]);
  });
});
