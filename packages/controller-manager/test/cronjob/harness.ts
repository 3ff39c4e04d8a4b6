/** Drives the CronJob controller on virtual time against a FakeClient (live listers, recorded queue). */
import { FakeClock, Resources, silentLogger } from "@kubemu/common";
import type { CronJobSpec } from "kubernetes-types/batch/v1.js";
import { CronJobController } from "../../src/controllers/cronjob/controller.js";
import type { CronJobObject } from "../../src/controllers/cronjob/jobs.js";
import { rfc3339, type JobObject } from "../../src/controllers/job/util.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";
import { liveLister } from "../job/harness.js";

export const NS = "default";

export function newCronJob(name: string, createdAt: number, spec: Partial<CronJobSpec> = {}): CronJobObject {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name, namespace: NS, uid: `uid-${name}`, resourceVersion: "1", creationTimestamp: rfc3339(createdAt) },
    spec: {
      schedule: "* * * * *",
      concurrencyPolicy: "Allow",
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: { labels: { app: name } },
        spec: { backoffLimit: 6, template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "hello", image: "busybox", command: ["date"] }] } } },
      },
      ...spec,
    },
  } as CronJobObject;
}

export class CronJobHarness {
  readonly clock: FakeClock;
  readonly fake: FakeClient;
  readonly recorder = new FakeRecorder();
  readonly added: string[] = [];
  readonly after: { key: string; ms: number }[] = [];
  readonly controller: CronJobController;

  constructor(now: number, cronJobs: CronJobObject[], jobs: JobObject[] = []) {
    this.clock = new FakeClock(now);
    this.fake = new FakeClient(
      [
        { resource: Resources.cronJobs, objects: cronJobs },
        { resource: Resources.jobs, objects: jobs },
      ],
      { lifecycle: true, now: () => rfc3339(this.clock.now()) },
    );
    this.controller = new CronJobController(
      { client: this.fake, cronJobs: liveLister<CronJobObject>(this.fake, Resources.cronJobs), jobs: liveLister<JobObject>(this.fake, Resources.jobs), recorder: this.recorder, clock: this.clock, logger: silentLogger },
      { add: (k) => void this.added.push(k), addAfter: (k, ms) => void this.after.push({ key: k, ms }) },
    );
  }

  async sync(name: string): Promise<void> {
    this.after.length = 0;
    await this.controller.reconcile(`${NS}/${name}`);
  }

  /** The delay the last sync asked for. */
  requeue(): number | undefined {
    return this.after[this.after.length - 1]?.ms;
  }

  cronJob(name: string): CronJobObject {
    return this.fake.objects<CronJobObject>(Resources.cronJobs).find((c) => c.metadata.name === name)!;
  }

  jobs(): JobObject[] {
    return this.fake.objects<JobObject>(Resources.jobs).sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  }

  events(): string[] {
    return this.recorder.lines();
  }

  /** Plays the job controller finishing a Job (Complete or Failed) now. */
  async finishJob(name: string, type: "Complete" | "Failed", startedAt?: number): Promise<void> {
    const job = this.jobs().find((j) => j.metadata.name === name)!;
    const now = rfc3339(this.clock.now());
    job.status = { startTime: rfc3339(startedAt ?? this.clock.now()), conditions: [{ type, status: "True", lastTransitionTime: now }], ...(type === "Complete" ? { completionTime: now, succeeded: 1 } : { failed: 1 }) };
    await this.fake.updateStatus(Resources.jobs, job);
  }
}

/** Minutes since the epoch, as job names carry them. */
export const minutes = (ms: number) => Math.floor(ms / 60_000);
