/**
 * Drives the Job controller on virtual time against a FakeClient with API-server deletion
 * semantics: listers read the fake's store live, and after every step the pod changes are fed
 * to the controller's handlers as an informer would (so expectations are lowered as in a real
 * process). Queue calls are recorded instead of run.
 */
import type { KubeObject, Lister, ResourceRef } from "@kubemu/common";
import { FakeClock, Resources, silentLogger } from "@kubemu/common";
import type { Job, JobSpec } from "kubernetes-types/batch/v1.js";
import type { PodObject } from "../../src/controller/pod-control.js";
import { JobController } from "../../src/controllers/job/controller.js";
import { DEFAULT_JOB_OPTIONS, type JobControllerOptions } from "../../src/controllers/job/options.js";
import { rfc3339, type JobObject } from "../../src/controllers/job/util.js";
import { FakeClient, FakeRecorder } from "../fake-client.js";

export const NS = "default";
export const START = Date.parse("2026-03-01T10:00:00Z");

/** A Lister over what the fake API holds right now. */
export function liveLister<T extends KubeObject>(fake: FakeClient, r: ResourceRef): Lister<T> {
  const ix = () => fake.indexer<T>(r);
  return {
    get: (ns, name) => ix().get(ns, name),
    getByKey: (k) => ix().getByKey(k),
    list: (o) => ix().list(o),
    byIndex: (i, v) => ix().byIndex(i, v),
    keys: () => ix().keys(),
    size: () => ix().size(),
  };
}

/** A Job as the API server stores it after defaulting (generated selector and pod labels). */
export function newJob(name: string, spec: Partial<JobSpec> = {}, extra: { uid?: string } = {}): JobObject {
  const uid = extra.uid ?? `uid-${name}`;
  const labels = { "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name, "controller-uid": uid, "job-name": name };
  const s: JobSpec = {
    parallelism: 1,
    backoffLimit: 6,
    completionMode: "NonIndexed",
    suspend: false,
    podReplacementPolicy: "TerminatingOrFailed",
    selector: { matchLabels: { "batch.kubernetes.io/controller-uid": uid } },
    template: {
      metadata: { labels },
      spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox", command: ["sh", "-c", "true"] }] },
    },
    ...spec,
  };
  if (spec.completions === undefined && spec.parallelism === undefined) s.completions = 1;
  const job: Job = { apiVersion: "batch/v1", kind: "Job", metadata: { name, namespace: NS, uid, generation: 1, resourceVersion: "1", creationTimestamp: rfc3339(START) }, spec: s };
  return job as JobObject;
}

export class JobHarness {
  readonly clock = new FakeClock(START);
  readonly fake: FakeClient;
  readonly recorder = new FakeRecorder();
  readonly added: string[] = [];
  readonly after: { key: string; ms: number }[] = [];
  readonly controller: JobController;
  private seen = new Map<string, PodObject>();

  constructor(jobs: JobObject[], opts: Partial<JobControllerOptions> = {}, pods: PodObject[] = []) {
    this.fake = new FakeClient(
      [
        { resource: Resources.jobs, objects: jobs },
        { resource: Resources.pods, objects: pods },
      ],
      { lifecycle: true, now: () => rfc3339(this.clock.now()) },
    );
    this.controller = new JobController(
      {
        client: this.fake,
        jobs: liveLister<JobObject>(this.fake, Resources.jobs),
        pods: liveLister<PodObject>(this.fake, Resources.pods),
        recorder: this.recorder,
        clock: this.clock,
        logger: silentLogger,
        options: { ...DEFAULT_JOB_OPTIONS, ...opts },
      },
      { add: (k) => void this.added.push(k), addAfter: (k, ms) => void this.after.push({ key: k, ms }) },
    );
    for (const p of this.pods()) this.seen.set(p.metadata.name!, p);
  }

  async sync(name: string): Promise<void> {
    await this.controller.reconcile(`${NS}/${name}`);
    this.observe();
  }

  job(name: string): JobObject {
    return this.fake.objects<JobObject>(Resources.jobs).find((j) => j.metadata.name === name)!;
  }

  pods(): PodObject[] {
    return this.fake.objects<PodObject>(Resources.pods).sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
  }

  activePods(): PodObject[] {
    return this.pods().filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
  }

  events(): string[] {
    return this.recorder.lines();
  }

  /** Plays the kubelet: the pod's containers exited (0 → Succeeded, else Failed) now. */
  async finish(podName: string, exitCode = 0, extra: { conditions?: { type: string; status: string }[] } = {}): Promise<void> {
    const pod = this.pods().find((p) => p.metadata.name === podName)!;
    const now = rfc3339(this.clock.now());
    const status = {
      phase: exitCode === 0 ? "Succeeded" : "Failed",
      conditions: [{ type: "Ready", status: "False", reason: "PodCompleted", lastTransitionTime: now }, ...(extra.conditions ?? [])],
      containerStatuses: pod.spec!.containers.map((c) => ({ name: c.name, image: c.image ?? "", imageID: "", ready: false, restartCount: 0, state: { terminated: { exitCode, reason: exitCode === 0 ? "Completed" : "Error", finishedAt: now, startedAt: now } } })),
    };
    await this.fake.updateStatus(Resources.pods, { ...pod, status });
    this.observe();
  }

  /** Plays the kubelet: the pod runs with every container ready. */
  async runReady(podName: string): Promise<void> {
    const pod = this.pods().find((p) => p.metadata.name === podName)!;
    const now = rfc3339(this.clock.now());
    pod.spec!.nodeName = "node-1";
    await this.fake.update(Resources.pods, pod);
    const fresh = this.pods().find((p) => p.metadata.name === podName)!;
    await this.fake.updateStatus(Resources.pods, { ...fresh, status: { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: now }], containerStatuses: [] } });
    this.observe();
  }

  async updateJob(name: string, mutate: (j: JobObject) => void): Promise<void> {
    const job = this.job(name);
    mutate(job);
    job.metadata.generation = (job.metadata.generation ?? 1) + 1;
    await this.fake.update(Resources.jobs, job);
  }

  /** Feeds pod adds, updates and deletes since the last call to the controller (the informer). */
  observe(): void {
    const now = new Map(this.pods().map((p) => [p.metadata.name!, p]));
    for (const [name, p] of now) {
      const old = this.seen.get(name);
      if (!old) this.controller.podAdded(p);
      else if (old.metadata.resourceVersion !== p.metadata.resourceVersion) this.controller.podUpdated(old, p);
    }
    for (const [name, old] of this.seen) if (!now.has(name)) this.controller.podDeleted(old, true);
    this.seen = now;
  }

  /** The status writes of the Job, in order. */
  statusWrites(name: string): JobObject[] {
    return this.fake.writes().filter((a) => a.verb === "update-status" && a.resource === "jobs" && a.name === name).map((a) => a.object as JobObject);
  }

  conditions(name: string): string[] {
    return (this.job(name).status?.conditions ?? []).map((c) => `${c.type}=${c.status} ${c.reason ?? ""}: ${c.message ?? ""}`);
  }
}
