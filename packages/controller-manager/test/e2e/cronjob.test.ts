/**
 * cronjob-controller (with job-controller) end to end: real store, API server and
 * controller-manager processes driven by the real kubectl, following the seeds' CronJob
 * sequences (Kubernetes in Action ch. 4, kiamol ch. 8: a `*` schedule, concurrencyPolicy
 * Forbid, suspend, the jsonpath query over ownerReferences) and `kubectl create job --from`.
 * The schedule is every minute on the real clock, so the first scheduled Job can take up to
 * 60 s to appear. There is no kubelet yet: markFinished plays it.
 */
import { describe, expect, it } from "vitest";
import type { KubeObject } from "@kubemu/common";
import { ManagerHarness, eventually } from "./harness.js";
import { tableRow, useCluster } from "./hooks.js";

const h = new ManagerHarness({ etcd: "127.1.34", api: "127.1.35", scheduler: "127.1.36", manager: "127.1.37" }, { controllers: "cronjob-controller,job-controller" });

const WAIT = 40_000;

useCluster(h, { nodes: ["kubemu"] });

type Job = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };
type CronJob = KubeObject & { status?: { active?: { name: string }[]; lastScheduleTime?: string; lastSuccessfulTime?: string } };
const getJson = async <T>(...args: string[]) => JSON.parse(await h.kubectl.ok(["get", ...args, "-o", "json"])) as T;

/** Plays the kubelet: the Job's pod (once it exists) exits 0. */
async function completeJob(name: string): Promise<void> {
  const [pod] = await eventually(() => h.pods("default", `job-name=${name}`), (ps) => ps.length === 1, `a pod of job ${name}`, WAIT);
  await h.markFinished("default", pod!.metadata.name!);
  await h.kubectl.ok(["wait", "--for=condition=complete", `job/${name}`, "--timeout=30s"]);
}

const hello = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: hello
spec:
  schedule: "*/1 * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: hello
              image: busybox:1.28
              imagePullPolicy: IfNotPresent
              command:
                - /bin/sh
                - -c
                - date; echo Hello from the Kubernetes cluster
          restartPolicy: OnFailure
`;

describe("CronJob (kubectl)", { timeout: 120_000 }, () => {
  it("kubectl create job --from=cronjob: the Job runs to Complete", async () => {
    expect(await h.kubectl.ok(["apply", "-f", "-"], { input: hello })).toBe("cronjob.batch/hello created\n");
    const got = await h.kubectl.ok(["get", "cronjob", "hello"]);
    expect(got.split("\n")[0]).toMatch(/^NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE$/);
    expect(got).toMatch(/^hello\s+\*\/1 \* \* \* \*\s+<none>\s+False\s+0\s+<none>\s+\d+s$/m);

    expect(await h.kubectl.ok(["create", "job", "manual", "--from=cronjob/hello"])).toBe("job.batch/manual created\n");
    const manual = await getJson<Job>("job", "manual");
    const cj = await getJson<CronJob>("cronjob", "hello");
    expect(manual.metadata.annotations?.["cronjob.kubernetes.io/instantiate"]).toBe("manual");
    // kubectl makes the CronJob its controller, but the CronJob did not schedule it: it says so
    // (on every sync while the Job runs, counted into one event) and leaves it out of status.active.
    expect(manual.metadata.ownerReferences).toEqual([{ apiVersion: "batch/v1", kind: "CronJob", name: "hello", uid: cj.metadata.uid, controller: true }]);
    await eventually(() => h.kubectl.ok(["describe", "cronjob", "hello"]), (d) => /Warning\s+UnexpectedJob\s+.*cronjob-controller\s+Saw a job that the controller did not create or forgot: manual/.test(d), "UnexpectedJob event", WAIT);
    await completeJob("manual");
    expect((await getJson<CronJob>("cronjob", "hello")).status?.active ?? []).toEqual([]);
  });

  it("the schedule creates hello-<minutes> within a minute; its completion is seen and recorded", async () => {
    const job = await eventually(
      async () => (await getJson<{ items: Job[] }>("jobs")).items.find((j) => /^hello-\d+$/.test(j.metadata.name!)),
      (j) => j !== undefined,
      "the first scheduled job",
      80_000,
    );
    const name = job!.metadata.name!;
    const cj = await getJson<CronJob>("cronjob", "hello");
    const scheduled = Date.parse(cj.status!.lastScheduleTime!);
    expect(name).toBe(`hello-${Math.floor(scheduled / 60_000)}`);
    expect(job!.metadata.annotations?.["batch.kubernetes.io/cronjob-scheduled-timestamp"]).toBe(cj.status!.lastScheduleTime);
    expect(job!.metadata.ownerReferences).toEqual([{ apiVersion: "batch/v1", kind: "CronJob", name: "hello", uid: cj.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(cj.status!.active?.map((r) => r.name)).toEqual([name]);
    expect(tableRow(await h.kubectl.ok(["get", "cronjob", "hello"]), "hello")?.[8]).toBe("1");

    // The seed's query for the CronJob's Jobs.
    const owned = await h.kubectl.ok(["get", "jobs", "-o", "jsonpath={.items[?(@.metadata.ownerReferences[0].name=='hello')].metadata.name}"]);
    expect(owned.split(" ").sort()).toEqual([name, "manual"].sort());

    await completeJob(name);
    const done = await eventually(() => getJson<CronJob>("cronjob", "hello"), (c) => !c.status?.active?.length && !!c.status?.lastSuccessfulTime, "active emptied, lastSuccessfulTime set", WAIT);
    expect(done.status!.lastSuccessfulTime).toEqual(expect.any(String));
    const described = await h.kubectl.ok(["describe", "cronjob", "hello"]);
    expect(described).toMatch(new RegExp(`Normal\\s+SuccessfulCreate\\s+\\S+\\s+cronjob-controller\\s+Created job ${name}`));
    expect(described).toMatch(new RegExp(`Normal\\s+SawCompletedJob\\s+\\S+\\s+cronjob-controller\\s+Saw completed job: ${name}, condition: Complete`));
  });

  it("suspend: kubectl get cronjob shows SUSPEND True and no further Job starts", async () => {
    await h.kubectl.ok(["patch", "cronjob", "hello", "-p", '{"spec":{"suspend":true}}']);
    expect(tableRow(await h.kubectl.ok(["get", "cronjob", "hello"]), "hello")?.slice(7, 9)).toEqual(["True", "0"]);
    const jobs = (await getJson<{ items: Job[] }>("jobs")).items.map((j) => j.metadata.name).sort();
    // Nothing new while suspended (a minute boundary may pass during the check).
    await new Promise((r) => setTimeout(r, 3000));
    expect((await getJson<{ items: Job[] }>("jobs")).items.map((j) => j.metadata.name).sort()).toEqual(jobs);
  });
});
