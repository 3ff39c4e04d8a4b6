/** batch/v1 Job defaults (upstream's SetDefaults_Job), through the store as a create sees them, and on a CronJob's jobTemplate. */
import { describe, expect, it } from "vitest";
import { newStore } from "./helpers.js";

const INT32_MAX = 2147483647;

const job = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name, namespace: "default" },
  spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } }, ...spec },
});

type JobSpec = { backoffLimit?: number; podReplacementPolicy?: string; completionMode?: string };
const specOf = (o: unknown) => (o as { spec: JobSpec }).spec;

describe("Job defaults", () => {
  it("backoffLimit is 6, or MaxInt32 with backoffLimitPerIndex; a value given is kept", async () => {
    const { store, def } = await newStore();
    const jobs = def("batch", "jobs");
    expect(specOf(await store.create(jobs, "default", job("plain"))).backoffLimit).toBe(6);
    const perIndex = await store.create(jobs, "default", job("per-index", { completionMode: "Indexed", completions: 3, backoffLimitPerIndex: 1 }));
    expect(specOf(perIndex).backoffLimit).toBe(INT32_MAX);
    const both = await store.create(jobs, "default", job("both", { completionMode: "Indexed", completions: 3, backoffLimitPerIndex: 1, backoffLimit: 2 }));
    expect(specOf(both).backoffLimit).toBe(2);
  });

  it("podReplacementPolicy is Failed with a podFailurePolicy, TerminatingOrFailed without; a value given is kept", async () => {
    const { store, def } = await newStore();
    const jobs = def("batch", "jobs");
    const podFailurePolicy = { rules: [{ action: "FailJob", onExitCodes: { operator: "In", values: [42] } }] };
    expect(specOf(await store.create(jobs, "default", job("plain"))).podReplacementPolicy).toBe("TerminatingOrFailed");
    expect(specOf(await store.create(jobs, "default", job("with-policy", { podFailurePolicy }))).podReplacementPolicy).toBe("Failed");
    expect(specOf(await store.create(jobs, "default", job("explicit", { podFailurePolicy, podReplacementPolicy: "TerminatingOrFailed" }))).podReplacementPolicy).toBe("TerminatingOrFailed");
  });

  it("a Job without labels gets its pods' labels (the generated controller-uid and job-name ones); its own labels are kept", async () => {
    const { store, def } = await newStore();
    const jobs = def("batch", "jobs");
    const plain = (await store.create(jobs, "default", job("pi"))) as unknown as { metadata: { uid: string; labels?: Record<string, string> } };
    const uid = plain.metadata.uid;
    expect(plain.metadata.labels).toEqual({ "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi", "controller-uid": uid, "job-name": "pi" });
    const own = await store.create(jobs, "default", { ...job("mine"), metadata: { name: "mine", namespace: "default", labels: { team: "a" } } });
    expect((own as unknown as { metadata: { labels?: Record<string, string> } }).metadata.labels).toEqual({ team: "a" });
  });

  it("a CronJob's jobTemplate gets the same rules, so its Jobs carry them", async () => {
    const { store, def } = await newStore();
    const cronJob = {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "nightly", namespace: "default" },
      spec: { schedule: "0 3 * * *", jobTemplate: { spec: { completionMode: "Indexed", completions: 2, backoffLimitPerIndex: 0, podFailurePolicy: { rules: [] }, template: job("x").spec.template } } },
    };
    const created = (await store.create(def("batch", "cronjobs"), "default", cronJob)) as unknown as { spec: { jobTemplate: { spec: JobSpec } } };
    expect(created.spec.jobTemplate.spec.backoffLimit).toBe(INT32_MAX);
    expect(created.spec.jobTemplate.spec.podReplacementPolicy).toBe("Failed");
  });
});
