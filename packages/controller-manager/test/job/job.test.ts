import { Resources, StatusError, newStatus } from "@kubemu/common";
import { describe, expect, it } from "vitest";
import type { PodObject } from "../../src/controller/pod-control.js";
import { JobHarness, NS, newJob } from "./harness.js";

const TRACKING = "batch.kubernetes.io/job-tracking";

describe("job controller: completions and parallelism", () => {
  it("runs parallelism pods at a time until completions pods succeeded, then SuccessCriteriaMet and Complete", async () => {
    const h = new JobHarness([newJob("pi", { completions: 3, parallelism: 2 })]);
    await h.sync("pi");
    const pods = h.pods();
    expect(pods).toHaveLength(2);
    for (const p of pods) {
      expect(p.metadata.generateName).toBe("pi-");
      expect(p.metadata.finalizers).toEqual([TRACKING]);
      expect(p.metadata.labels).toMatchObject({ "batch.kubernetes.io/job-name": "pi", "job-name": "pi", "batch.kubernetes.io/controller-uid": "uid-pi", "controller-uid": "uid-pi" });
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: "batch/v1", kind: "Job", name: "pi", uid: "uid-pi", controller: true, blockOwnerDeletion: true }]);
    }
    expect(h.events()).toEqual(pods.map((p) => `Normal SuccessfulCreate Created pod: ${p.metadata.name}`));
    const st = h.job("pi").status!;
    expect(st).toMatchObject({ active: 2, ready: 0, terminating: 0, uncountedTerminatedPods: {}, startTime: "2026-03-01T10:00:00Z" });
    expect(st.succeeded).toBeUndefined();

    // Seen all creations: a second sync creates nothing more.
    await h.sync("pi");
    expect(h.pods()).toHaveLength(2);

    await h.finish(pods[0]!.metadata.name!);
    h.fake.clearActions();
    await h.sync("pi");
    // Counted through uncountedTerminatedPods: listed first, then finalizer removed, then counted.
    const writes = h.statusWrites("pi");
    expect(writes[0]!.status!.uncountedTerminatedPods).toEqual({ succeeded: [pods[0]!.metadata.uid] });
    expect(writes[writes.length - 1]!.status).toMatchObject({ succeeded: 1, uncountedTerminatedPods: {} });
    expect(h.fake.writes().some((a) => a.verb === "patch" && a.name === pods[0]!.metadata.name && JSON.stringify(a.patch).includes("$deleteFromPrimitiveList/finalizers"))).toBe(true);
    expect(h.pods().find((p) => p.metadata.name === pods[0]!.metadata.name)!.metadata.finalizers).toBeUndefined();
    // One more pod: 3 completions - 1 succeeded = 2 wanted, parallelism 2.
    expect(h.activePods()).toHaveLength(2);

    for (const p of h.activePods()) await h.finish(p.metadata.name!);
    await h.sync("pi");
    const done = h.job("pi");
    expect(done.status).toMatchObject({ succeeded: 3, ready: 0, terminating: 0, uncountedTerminatedPods: {}, completionTime: "2026-03-01T10:00:00Z" });
    expect(done.status!.active).toBeUndefined();
    expect(h.conditions("pi")).toEqual(["SuccessCriteriaMet=True CompletionsReached: Reached expected number of succeeded pods", "Complete=True CompletionsReached: Reached expected number of succeeded pods"]);
    expect(h.events().slice(-1)).toEqual(["Normal Completed Job completed"]);
    expect(h.pods().every((p) => !p.metadata.finalizers)).toBe(true);
    // Finished: never reconsidered.
    h.fake.clearActions();
    await h.sync("pi");
    expect(h.fake.writes()).toEqual([]);
  });

  it("does not create pods twice while its creations are not yet observed (expectations)", async () => {
    const h = new JobHarness([newJob("x", { completions: 4, parallelism: 3 })]);
    await h.controller.reconcile(`${NS}/x`); // no observe(): the informer has not shown the pods yet
    expect(h.pods()).toHaveLength(3);
    await h.controller.reconcile(`${NS}/x`);
    expect(h.pods()).toHaveLength(3);
    h.observe();
    await h.sync("x");
    expect(h.pods()).toHaveLength(3);
  });

  it("a pod create the API refuses: FailedCreate, the sync fails (the queue backs off), one request per slow-start batch, and the expectations are lowered", async () => {
    const h = new JobHarness([newJob("x", { completions: 4, parallelism: 3 })]);
    let refuse = true;
    h.fake.react((a) => (refuse && a.verb === "create" && a.resource === "pods" ? new StatusError(newStatus("Forbidden", 'pods "x-abcde" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1')) : undefined));
    await expect(h.controller.reconcile(`${NS}/x`)).rejects.toThrow("exceeded quota");
    h.observe();
    // Slow start: the first batch of one failed, the other two were never tried.
    expect(h.fake.actions.filter((a) => a.verb === "create" && a.resource === "pods")).toHaveLength(1);
    expect(h.events()).toEqual(['Warning FailedCreate Error creating: pods "x-abcde" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1']);
    // Nothing will be observed for those creates, so nothing is waited for.
    expect(h.controller.expectations.satisfied(`${NS}/x`)).toBe(true);
    expect(h.job("x").status?.active).toBeUndefined();
    refuse = false;
    await h.sync("x");
    expect(h.pods()).toHaveLength(3);
  });

  it("without completions: done once a pod succeeded and none is active", async () => {
    const h = new JobHarness([newJob("wq", { parallelism: 2, completions: undefined })]);
    await h.sync("wq");
    const [a, b] = h.pods();
    await h.finish(a!.metadata.name!);
    await h.sync("wq");
    // A success stops new pods but lets the running one finish.
    expect(h.activePods().map((p) => p.metadata.name)).toEqual([b!.metadata.name]);
    expect(h.conditions("wq")).toEqual([]);
    await h.finish(b!.metadata.name!);
    await h.sync("wq");
    expect(h.conditions("wq").map((c) => c.split(" ")[0])).toEqual(["SuccessCriteriaMet=True", "Complete=True"]);
    expect(h.job("wq").status!.succeeded).toBe(2);
  });

  it("deletes surplus pods when parallelism goes down, unscheduled and not-ready ones first", async () => {
    const h = new JobHarness([newJob("s", { completions: 10, parallelism: 3 })]);
    await h.sync("s");
    const pods = h.pods();
    await h.runReady(pods[0]!.metadata.name!);
    await h.runReady(pods[1]!.metadata.name!);
    await h.updateJob("s", (j) => (j.spec!.parallelism = 1));
    await h.sync("s");
    const gone = h.events().filter((e) => e.startsWith("Normal SuccessfulDelete"));
    expect(gone).toHaveLength(2);
    // The unscheduled pod goes first, then one of the two running ones.
    expect(gone[0]).toBe(`Normal SuccessfulDelete Deleted pod: ${pods[2]!.metadata.name}`);
    // Deleted pods lose the finalizer first and are not counted as failed.
    expect(h.job("s").status!.failed).toBeUndefined();
    expect(h.job("s").status!.active).toBe(1);
  });
});

describe("job controller: Indexed completion mode", () => {
  it("gives each pod its index: name, annotation, label, hostname and JOB_COMPLETION_INDEX", async () => {
    const h = new JobHarness([newJob("idx", { completions: 3, parallelism: 3, completionMode: "Indexed" })]);
    await h.sync("idx");
    const pods = h.pods();
    expect(pods.map((p) => p.metadata.generateName).sort()).toEqual(["idx-0-", "idx-1-", "idx-2-"]);
    for (const p of pods) {
      const ix = p.metadata.annotations!["batch.kubernetes.io/job-completion-index"]!;
      expect(p.metadata.labels!["batch.kubernetes.io/job-completion-index"]).toBe(ix);
      expect(p.spec!.hostname).toBe(`idx-${ix}`);
      expect(p.spec!.containers[0]!.env).toEqual([{ name: "JOB_COMPLETION_INDEX", valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']" } } }]);
    }
    const byIndex = (i: number) => pods.find((p) => p.metadata.annotations!["batch.kubernetes.io/job-completion-index"] === String(i))!;
    await h.finish(byIndex(1).metadata.name!);
    await h.sync("idx");
    expect(h.job("idx").status).toMatchObject({ completedIndexes: "1", succeeded: 1, active: 2 });
    await h.finish(byIndex(0).metadata.name!);
    await h.finish(byIndex(2).metadata.name!);
    await h.sync("idx");
    expect(h.job("idx").status).toMatchObject({ completedIndexes: "0-2", succeeded: 3 });
    expect(h.conditions("idx").map((c) => c.split(" ")[0])).toEqual(["SuccessCriteriaMet=True", "Complete=True"]);
  });

  it("replaces a failed index with a pod of the same index", async () => {
    const h = new JobHarness([newJob("r", { completions: 2, parallelism: 2, completionMode: "Indexed" })], { podFailureBackoffMs: 1000 });
    await h.sync("r");
    const one = h.pods().find((p) => p.metadata.annotations!["batch.kubernetes.io/job-completion-index"] === "1")!;
    await h.finish(one.metadata.name!, 1);
    await h.sync("r");
    expect(h.job("r").status!.failed).toBe(1);
    h.clock.advance(1000);
    await h.sync("r");
    const again = h.activePods().filter((p) => p.metadata.annotations!["batch.kubernetes.io/job-completion-index"] === "1");
    expect(again).toHaveLength(1);
    expect(again[0]!.metadata.name).not.toBe(one.metadata.name);
  });

  it("successPolicy: SuccessCriteriaMet (SuccessPolicy) once the rule's indexes succeeded; the rest are stopped", async () => {
    const h = new JobHarness([newJob("sp", { completions: 3, parallelism: 3, completionMode: "Indexed", successPolicy: { rules: [{ succeededIndexes: "0" }] } })]);
    await h.sync("sp");
    const zero = h.pods().find((p) => p.metadata.annotations!["batch.kubernetes.io/job-completion-index"] === "0")!;
    await h.finish(zero.metadata.name!);
    await h.sync("sp");
    expect(h.conditions("sp")).toEqual(["SuccessCriteriaMet=True SuccessPolicy: Matched rules at index 0"]);
    expect(h.activePods()).toEqual([]);
    // Complete once the stopped pods are gone.
    expect(h.job("sp").status!.terminating).toBe(2);
    await h.sync("sp");
    expect(h.conditions("sp")).toEqual(["SuccessCriteriaMet=True SuccessPolicy: Matched rules at index 0", "Complete=True SuccessPolicy: Matched rules at index 0"]);
    expect(h.job("sp").status).toMatchObject({ completedIndexes: "0", succeeded: 1 });
  });
});

describe("job controller: backoffLimit and the pod failure backoff", () => {
  it("waits 10 s, then 20 s before replacing failed pods, and fails with BackoffLimitExceeded", async () => {
    const h = new JobHarness([newJob("fail", { backoffLimit: 2 })]);
    await h.sync("fail");
    await h.finish(h.pods()[0]!.metadata.name!, 1);
    h.after.length = 0;
    await h.sync("fail");
    expect(h.job("fail").status).toMatchObject({ failed: 1, uncountedTerminatedPods: {} });
    expect(h.activePods()).toHaveLength(0);
    // The replacement waits for the backoff: the Job is synced again in 10 s.
    expect(h.after).toContainEqual({ key: `${NS}/fail`, ms: 10_000 });
    h.clock.advance(9_000);
    await h.sync("fail");
    expect(h.activePods()).toHaveLength(0);
    h.clock.advance(1_000);
    await h.sync("fail");
    expect(h.activePods()).toHaveLength(1);

    await h.finish(h.activePods()[0]!.metadata.name!, 1);
    h.after.length = 0;
    await h.sync("fail");
    expect(h.after).toContainEqual({ key: `${NS}/fail`, ms: 20_000 });
    h.clock.advance(20_000);
    await h.sync("fail");
    await h.finish(h.activePods()[0]!.metadata.name!, 1);
    await h.sync("fail");
    const job = h.job("fail");
    expect(job.status!.failed).toBe(3);
    expect(h.conditions("fail")).toEqual(["FailureTarget=True BackoffLimitExceeded: Job has reached the specified backoff limit", "Failed=True BackoffLimitExceeded: Job has reached the specified backoff limit"]);
    expect(h.events()).toContain("Warning BackoffLimitExceeded Job has reached the specified backoff limit");
    expect(job.status!.completionTime).toBeUndefined();
  });

  it("caps the doubling delay at the maximum", async () => {
    const h = new JobHarness([newJob("cap", { backoffLimit: 10 })], { podFailureBackoffMs: 1000, podFailureBackoffMaxMs: 3000 });
    await h.sync("cap");
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      await h.finish(h.activePods()[0]!.metadata.name!, 1);
      h.after.length = 0;
      await h.sync("cap");
      delays.push(h.after.find((a) => a.ms >= 1000)!.ms);
      h.clock.advance(delays[delays.length - 1]!);
      await h.sync("cap");
    }
    expect(delays).toEqual([1000, 2000, 3000, 3000]);
  });

  it("restartPolicy OnFailure: container restarts reaching backoffLimit fail the Job", async () => {
    const job = newJob("rs", { backoffLimit: 2 });
    job.spec!.template.spec!.restartPolicy = "OnFailure";
    const h = new JobHarness([job]);
    await h.sync("rs");
    const pod = h.pods()[0]!;
    await h.fake.updateStatus(Resources.pods, { ...pod, status: { phase: "Running", containerStatuses: [{ name: "main", image: "busybox", imageID: "", ready: false, restartCount: 2 }] } });
    h.observe();
    await h.sync("rs");
    expect(h.conditions("rs")[0]).toBe("FailureTarget=True BackoffLimitExceeded: Job has reached the specified backoff limit");
    // The running pod was deleted; Failed waits until it is gone.
    expect(h.events()).toContain(`Normal SuccessfulDelete Deleted pod: ${pod.metadata.name}`);
  });
});

describe("job controller: activeDeadlineSeconds", () => {
  it("requeues at the deadline, then stops the pods and fails with DeadlineExceeded", async () => {
    const h = new JobHarness([newJob("dl", { activeDeadlineSeconds: 30 })]);
    await h.sync("dl");
    expect(h.after).toContainEqual({ key: `${NS}/dl`, ms: 30_000 });
    const pod = h.pods()[0]!;
    h.clock.advance(30_000);
    await h.sync("dl");
    expect(h.events()).toContain(`Normal SuccessfulDelete Deleted pod: ${pod.metadata.name}`);
    expect(h.conditions("dl")).toEqual(["FailureTarget=True DeadlineExceeded: Job was active longer than specified deadline"]);
    // The stopped pod is counted as failed; with it gone the next sync sets Failed.
    expect(h.job("dl").status!.failed).toBe(1);
    await h.sync("dl");
    expect(h.conditions("dl")[1]).toBe("Failed=True DeadlineExceeded: Job was active longer than specified deadline");
    expect(h.events()).toContain("Warning DeadlineExceeded Job was active longer than specified deadline");
  });

  it("waits for terminating pods before Failed (FailureTarget first)", async () => {
    const h = new JobHarness([newJob("term", { activeDeadlineSeconds: 5 })]);
    await h.sync("term");
    const pod = h.pods()[0]!;
    // Another finalizer keeps the pod terminating after the job drops its own.
    await h.fake.patch(Resources.pods, NS, pod.metadata.name!, "strategic", { metadata: { finalizers: ["example.com/hold"] } });
    h.observe();
    h.clock.advance(5_000);
    await h.sync("term");
    await h.sync("term");
    expect(h.job("term").status!.terminating).toBe(1);
    expect(h.conditions("term")).toEqual(["FailureTarget=True DeadlineExceeded: Job was active longer than specified deadline"]);
    await h.fake.patch(Resources.pods, NS, pod.metadata.name!, "strategic", { metadata: { "$deleteFromPrimitiveList/finalizers": ["example.com/hold"] } });
    h.observe();
    await h.sync("term");
    expect(h.conditions("term").map((c) => c.split(" ")[0])).toEqual(["FailureTarget=True", "Failed=True"]);
    expect(h.job("term").status!.terminating).toBe(0);
  });
});

describe("job controller: suspend", () => {
  it("a Job created suspended starts nothing; resuming starts pods and the clock", async () => {
    const h = new JobHarness([newJob("sus", { suspend: true, completions: 2, parallelism: 2 })]);
    await h.sync("sus");
    expect(h.pods()).toEqual([]);
    expect(h.conditions("sus")).toEqual(["Suspended=True JobSuspended: Job suspended"]);
    expect(h.events()).toEqual(["Normal Suspended Job suspended"]);
    expect(h.job("sus").status!.startTime).toBeUndefined();

    h.clock.advance(60_000);
    await h.updateJob("sus", (j) => (j.spec!.suspend = false));
    await h.sync("sus");
    expect(h.pods()).toHaveLength(2);
    expect(h.conditions("sus")).toEqual(["Suspended=False JobResumed: Job resumed"]);
    expect(h.events()).toContain("Normal Resumed Job resumed");
    expect(h.job("sus").status!.startTime).toBe("2026-03-01T10:01:00Z");
  });

  it("suspending a running Job deletes its active pods without counting them failed", async () => {
    const h = new JobHarness([newJob("run", { completions: 2, parallelism: 2 })]);
    await h.sync("run");
    await h.updateJob("run", (j) => (j.spec!.suspend = true));
    await h.sync("run");
    expect(h.pods()).toEqual([]);
    expect(h.events().filter((e) => e.includes("SuccessfulDelete"))).toHaveLength(2);
    expect(h.job("run").status).toMatchObject({ ready: 0, terminating: 2 });
    expect(h.job("run").status!.failed).toBeUndefined();
    await h.sync("run");
    expect(h.job("run").status).toMatchObject({ terminating: 0 });
    expect(h.conditions("run")).toEqual(["Suspended=True JobSuspended: Job suspended"]);
  });
});

describe("job controller: pod failure policy", () => {
  const policy = {
    rules: [
      { action: "FailJob", onExitCodes: { containerName: "main", operator: "In", values: [42] } },
      { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
      { action: "Count", onExitCodes: { operator: "NotIn", values: [0] } },
    ],
  };

  it("FailJob: an exit code matching the rule fails the Job with PodFailurePolicy", async () => {
    const h = new JobHarness([newJob("pfp", { completions: 2, parallelism: 2, podFailurePolicy: policy })]);
    await h.sync("pfp");
    const [a, b] = h.pods();
    await h.finish(a!.metadata.name!, 42);
    await h.sync("pfp");
    const msg = `Container main for pod ${NS}/${a!.metadata.name} failed with exit code 42 matching FailJob rule at index 0`;
    expect(h.conditions("pfp")[0]).toBe(`FailureTarget=True PodFailurePolicy: ${msg}`);
    // The other pod is stopped and counted too.
    expect(h.events()).toContain(`Normal SuccessfulDelete Deleted pod: ${b!.metadata.name}`);
    await h.sync("pfp");
    expect(h.conditions("pfp")[1]).toBe(`Failed=True PodFailurePolicy: ${msg}`);
    expect(h.events()).toContain(`Warning PodFailurePolicy ${msg}`);
  });

  it("Ignore: a disrupted pod is replaced without counting a failure; Count counts as usual", async () => {
    const h = new JobHarness([newJob("ign", { backoffLimit: 0, podFailurePolicy: policy })], { podFailureBackoffMs: 1000 });
    await h.sync("ign");
    await h.finish(h.pods()[0]!.metadata.name!, 137, { conditions: [{ type: "DisruptionTarget", status: "True" }] });
    await h.sync("ign");
    expect(h.job("ign").status!.failed).toBeUndefined();
    expect(h.conditions("ign")).toEqual([]);
    h.clock.advance(1000);
    await h.sync("ign");
    expect(h.activePods()).toHaveLength(1);
    await h.finish(h.activePods()[0]!.metadata.name!, 1);
    await h.sync("ign");
    expect(h.job("ign").status!.failed).toBe(1);
    expect(h.conditions("ign")[0]).toBe("FailureTarget=True BackoffLimitExceeded: Job has reached the specified backoff limit");
  });

  it("FailIndex with backoffLimitPerIndex: the index fails, the others go on; then FailedIndexes", async () => {
    const job = newJob("fi", {
      completions: 2,
      parallelism: 2,
      completionMode: "Indexed",
      backoffLimitPerIndex: 1,
      backoffLimit: 2147483647,
      podFailurePolicy: { rules: [{ action: "FailIndex", onExitCodes: { operator: "In", values: [7] } }] },
    });
    const h = new JobHarness([job]);
    await h.sync("fi");
    const ix = (i: string) => h.activePods().find((p) => p.metadata.annotations!["batch.kubernetes.io/job-completion-index"] === i)!;
    expect(ix("0").metadata.annotations!["batch.kubernetes.io/job-index-failure-count"]).toBe("0");
    await h.finish(ix("1").metadata.name!, 7);
    await h.sync("fi");
    expect(h.job("fi").status).toMatchObject({ failedIndexes: "1", failed: 1 });
    expect(h.conditions("fi")).toEqual([]);
    await h.finish(ix("0").metadata.name!);
    await h.sync("fi");
    expect(h.job("fi").status).toMatchObject({ failedIndexes: "1", completedIndexes: "0", succeeded: 1 });
    expect(h.conditions("fi")).toEqual(["FailureTarget=True FailedIndexes: Job has failed indexes", "Failed=True FailedIndexes: Job has failed indexes"]);
  });

  it("backoffLimitPerIndex: a failed index is retried with its failure count carried over", async () => {
    const h = new JobHarness([newJob("bpi", { completions: 1, parallelism: 1, completionMode: "Indexed", backoffLimitPerIndex: 2, backoffLimit: 2147483647 })], { podFailureBackoffMs: 1000 });
    await h.sync("bpi");
    const first = h.pods()[0]!;
    await h.finish(first.metadata.name!, 1);
    await h.sync("bpi");
    // Kept (with its finalizer) until the replacement exists, which waits for the backoff.
    expect(h.pods().find((p) => p.metadata.name === first.metadata.name)!.metadata.finalizers).toEqual([TRACKING]);
    h.clock.advance(1000);
    await h.sync("bpi");
    const second = h.activePods()[0]!;
    expect(second.metadata.annotations!["batch.kubernetes.io/job-index-failure-count"]).toBe("1");
    await h.sync("bpi");
    expect(h.pods().find((p) => p.metadata.name === first.metadata.name)?.metadata.finalizers).toBeUndefined();
    expect(h.job("bpi").status).toMatchObject({ failed: 1, failedIndexes: "" });
  });
});

describe("job controller: tracking finalizers and ownership", () => {
  it("adopts a matching orphan pod with the tracking finalizer", async () => {
    const job = newJob("adopt", { completions: 1 });
    const orphan = { apiVersion: "v1", kind: "Pod", metadata: { name: "stray", namespace: NS, uid: "uid-stray", resourceVersion: "5", labels: { ...job.spec!.template.metadata!.labels } }, spec: { containers: [{ name: "main", image: "busybox" }] } } as PodObject;
    const h = new JobHarness([job], {}, [orphan]);
    await h.sync("adopt");
    const pod = h.pods().find((p) => p.metadata.name === "stray")!;
    expect(pod.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Job", name: "adopt", uid: "uid-adopt", controller: true });
    expect(pod.metadata.finalizers).toEqual([TRACKING]);
    // The adopted pod counts as the Job's one active pod.
    expect(h.pods()).toHaveLength(1);
  });

  it("removes the finalizer of a pod whose Job is gone (orphan-pod key)", async () => {
    const h = new JobHarness([newJob("gone")]);
    await h.sync("gone");
    const pod = h.pods()[0]!;
    await h.fake.delete(Resources.jobs, NS, "gone");
    h.controller.jobDeleted(newJob("gone"));
    expect(h.added).toContain(`orphan-pod:${NS}/${pod.metadata.name}`);
    await h.controller.reconcile(`orphan-pod:${NS}/${pod.metadata.name}`);
    expect(h.pods()[0]!.metadata.finalizers).toBeUndefined();
  });

  it("leaves Jobs managed by another controller alone", async () => {
    const h = new JobHarness([newJob("ext", { managedBy: "example.com/other" })]);
    await h.sync("ext");
    expect(h.fake.writes()).toEqual([]);
  });

  it("a deleted pod that never finished counts as failed and is replaced", async () => {
    const h = new JobHarness([newJob("del", { backoffLimit: 3 })], { podFailureBackoffMs: 1000 });
    await h.sync("del");
    const pod = h.pods()[0]!;
    await h.fake.delete(Resources.pods, NS, pod.metadata.name!);
    h.observe();
    await h.sync("del");
    expect(h.job("del").status!.failed).toBe(1);
    expect(h.pods().find((p) => p.metadata.name === pod.metadata.name)).toBeUndefined();
    h.clock.advance(1000);
    await h.sync("del");
    expect(h.activePods()).toHaveLength(1);
  });
});
