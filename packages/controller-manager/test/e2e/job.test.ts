/**
 * job-controller end to end: real store, API server and controller-manager processes driven by
 * the real kubectl, following the seeds' Job sequences (Kubernetes in Action ch. 4 and kiamol
 * ch. 8: completions and parallelism, `-l job-name=`, `kubectl get job`). There is no kubelet
 * yet: the test plays its part with markFinished (bind, then containers exited 0 or 1). The
 * manager runs with --job-pod-failure-backoff=500ms so the failing Job's retries take seconds.
 */
import { describe, expect, it } from "vitest";
import type { KubeObject } from "@kubemu/common";
import { ManagerHarness, eventually } from "./harness.js";
import { tableRow, useCluster } from "./hooks.js";

const h = new ManagerHarness({ etcd: "127.1.30", api: "127.1.31", scheduler: "127.1.32", manager: "127.1.33" }, { controllers: "job-controller", args: ["--job-pod-failure-backoff", "500ms"] });

const WAIT = 40_000;

useCluster(h, { nodes: ["kubemu"] });

type Pod = Awaited<ReturnType<ManagerHarness["pods"]>>[number];
const running = (p: Pod) => !p.metadata.deletionTimestamp && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";

/** Plays the kubelet until the Job has finished: every pod it starts exits with `exitCode`. */
async function finishPodsUntil(job: string, exitCode: number, done: (status: Record<string, unknown>) => boolean): Promise<Pod[]> {
  const finished: Pod[] = [];
  await eventually(
    async () => {
      for (const p of (await h.pods("default", `job-name=${job}`)).filter(running)) {
        await h.markFinished("default", p.metadata.name!, exitCode);
        finished.push(p);
      }
      return JSON.parse(await h.kubectl.ok(["get", "job", job, "-o", "jsonpath={.status}"])) as Record<string, unknown>;
    },
    done,
    `job ${job} finished`,
    WAIT,
  );
  return finished;
}

const piJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      containers:
        - name: pi
          image: perl:5.34.0
          command: ["perl",  "-Mbignum=bpi", "-wle", "print bpi(2000)"]
      restartPolicy: Never
  backoffLimit: 4
`;

describe("Job (kubectl)", () => {
  it("completions 3, parallelism 2: two pods at a time, kubectl wait --for=condition=complete, get jobs 3/3", async () => {
    expect(await h.kubectl.ok(["apply", "-f", "-"], { input: piJob })).toBe("job.batch/pi created\n");
    const first = await eventually(() => h.pods("default", "job-name=pi"), (ps) => ps.length === 2, "2 pi pods", WAIT);
    const job = JSON.parse(await h.kubectl.ok(["get", "job", "pi", "-o", "json"])) as KubeObject;
    for (const p of first) {
      expect(p.metadata.name).toMatch(/^pi-[a-z0-9]{5}$/);
      expect(p.metadata.labels).toMatchObject({ "batch.kubernetes.io/job-name": "pi", "job-name": "pi", "batch.kubernetes.io/controller-uid": job.metadata.uid, "controller-uid": job.metadata.uid });
      expect(p.metadata.finalizers).toEqual(["batch.kubernetes.io/job-tracking"]);
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: "batch/v1", kind: "Job", name: "pi", uid: job.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }
    const before = tableRow(await h.kubectl.ok(["get", "jobs"]), "pi");
    expect(before?.slice(1, 3)).toEqual(["Running", "0/3"]);

    const pods = await finishPodsUntil("pi", 0, (s) => s.succeeded === 3);
    expect(new Set(pods.map((p) => p.metadata.name)).size).toBe(3);
    await h.kubectl.ok(["wait", "--for=condition=complete", "job/pi", "--timeout=30s"]);
    const got = await h.kubectl.ok(["get", "jobs"]);
    expect(got.split("\n")[0]).toMatch(/^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE$/);
    expect(tableRow(got, "pi")?.slice(1, 3)).toEqual(["Complete", "3/3"]);
    expect(tableRow(got, "pi")?.[3]).toMatch(/^\d+s$/);
    const status = JSON.parse(await h.kubectl.ok(["get", "job", "pi", "-o", "jsonpath={.status}"])) as Record<string, unknown>;
    expect(status).toMatchObject({ succeeded: 3, ready: 0, terminating: 0, uncountedTerminatedPods: {} });
    expect(status.completionTime).toEqual(expect.any(String));
    const conditions = (status.conditions as { type: string; reason: string }[]).map((c) => `${c.type}/${c.reason}`);
    expect(conditions).toEqual(["SuccessCriteriaMet/CompletionsReached", "Complete/CompletionsReached"]);
    // Counted pods lose the tracking finalizer.
    for (const p of await h.pods("default", "job-name=pi")) expect(p.metadata.finalizers).toBeUndefined();
    const described = await h.kubectl.ok(["describe", "job", "pi"]);
    expect(described).toMatch(/Pods Statuses:\s+0 Active \(0 Ready\) \/ 3 Succeeded \/ 0 Failed/);
    expect(described).toMatch(/Normal\s+SuccessfulCreate\s+\S+\s+job-controller\s+Created pod: pi-[a-z0-9]{5}/);
    expect(described).toMatch(/Normal\s+Completed\s+\S+\s+job-controller\s+Job completed/);
  });

  it("a failing Job is retried with backoff until backoffLimit, then Failed with BackoffLimitExceeded", async () => {
    const failing = `apiVersion: batch/v1
kind: Job
metadata:
  name: fails
spec:
  backoffLimit: 2
  template:
    spec:
      containers:
        - name: main
          image: busybox
          command: ["sh", "-c", "exit 1"]
      restartPolicy: Never
`;
    await h.kubectl.ok(["apply", "-f", "-"], { input: failing });
    const pods = await finishPodsUntil("fails", 1, (s) => ((s.conditions as { type: string }[] | undefined) ?? []).some((c) => c.type === "Failed"));
    // backoffLimit 2: the third failure ends it.
    expect(pods).toHaveLength(3);
    await h.kubectl.ok(["wait", "--for=condition=failed", "job/fails", "--timeout=30s"]);
    expect(tableRow(await h.kubectl.ok(["get", "jobs"]), "fails")?.slice(1, 3)).toEqual(["Failed", "0/1"]);
    const job = JSON.parse(await h.kubectl.ok(["get", "job", "fails", "-o", "json"])) as { status: { failed: number; conditions: { type: string; reason: string; message: string }[] } };
    expect(job.status.failed).toBe(3);
    expect(job.status.conditions.map((c) => [c.type, c.reason, c.message])).toEqual([
      ["FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit"],
      ["Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit"],
    ]);
    expect(await h.kubectl.ok(["describe", "job", "fails"])).toMatch(/Warning\s+BackoffLimitExceeded\s+\S+\s+job-controller\s+Job has reached the specified backoff limit/);
  });
});
