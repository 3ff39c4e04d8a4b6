/** Defaulting of the workload kinds (apps/v1, batch/v1, ReplicationController), as upstream. */
import type { KubeObject } from "../storage/index.js";
import { defaultPodSpec } from "./pods.js";

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const spec = (o: KubeObject): Obj => (isObj(o.spec) ? o.spec : (o.spec = {}));
const template = (s: Obj): void => defaultPodSpec(isObj(s.template) ? s.template.spec : undefined);

/**
 * Status counters Go always serialises (no omitempty), so a fresh object shows them as 0:
 * `status: {replicas: 0}` for a ReplicaSet, as a real API server answers before any controller ran.
 */
function zeroCounters(o: KubeObject, fields: readonly string[]): void {
  if (!isObj(o.status)) o.status = {};
  const st = o.status as Obj;
  for (const f of fields) st[f] ??= 0;
}

export function defaultDeployment(o: KubeObject): void {
  const s = spec(o);
  s.replicas ??= 1;
  if (!isObj(s.strategy)) s.strategy = {};
  s.strategy.type ??= "RollingUpdate";
  if (s.strategy.type === "RollingUpdate") {
    if (!isObj(s.strategy.rollingUpdate)) s.strategy.rollingUpdate = {};
    s.strategy.rollingUpdate.maxUnavailable ??= "25%";
    s.strategy.rollingUpdate.maxSurge ??= "25%";
  }
  s.revisionHistoryLimit ??= 10;
  s.progressDeadlineSeconds ??= 600;
  template(s);
}

export function defaultReplicaSet(o: KubeObject): void {
  const s = spec(o);
  s.replicas ??= 1;
  template(s);
  zeroCounters(o, ["replicas"]);
}

export function defaultReplicationController(o: KubeObject): void {
  const s = spec(o);
  s.replicas ??= 1;
  const labels = isObj(s.template) && isObj(s.template.metadata) ? s.template.metadata.labels : undefined;
  if (!isObj(s.selector) || Object.keys(s.selector).length === 0) if (isObj(labels)) s.selector = { ...labels };
  if (!o.metadata.labels && isObj(labels)) o.metadata.labels = { ...labels };
  template(s);
  zeroCounters(o, ["replicas"]);
}

export function defaultStatefulSet(o: KubeObject): void {
  const s = spec(o);
  s.replicas ??= 1;
  s.podManagementPolicy ??= "OrderedReady";
  if (!isObj(s.updateStrategy)) s.updateStrategy = {};
  s.updateStrategy.type ??= "RollingUpdate";
  if (s.updateStrategy.type === "RollingUpdate") {
    if (!isObj(s.updateStrategy.rollingUpdate)) s.updateStrategy.rollingUpdate = {};
    s.updateStrategy.rollingUpdate.partition ??= 0;
  }
  s.revisionHistoryLimit ??= 10;
  if (!isObj(s.persistentVolumeClaimRetentionPolicy)) s.persistentVolumeClaimRetentionPolicy = {};
  s.persistentVolumeClaimRetentionPolicy.whenDeleted ??= "Retain";
  s.persistentVolumeClaimRetentionPolicy.whenScaled ??= "Retain";
  if (Array.isArray(s.volumeClaimTemplates))
    for (const t of s.volumeClaimTemplates) {
      if (!isObj(t)) continue;
      t.apiVersion ??= "v1";
      t.kind ??= "PersistentVolumeClaim";
      if (isObj(t.spec)) t.spec.volumeMode ??= "Filesystem";
      if (!isObj(t.status)) t.status = { phase: "Pending" };
    }
  template(s);
  zeroCounters(o, ["replicas", "availableReplicas"]);
}

export function defaultDaemonSet(o: KubeObject): void {
  const s = spec(o);
  if (!isObj(s.updateStrategy)) s.updateStrategy = {};
  s.updateStrategy.type ??= "RollingUpdate";
  if (s.updateStrategy.type === "RollingUpdate") {
    if (!isObj(s.updateStrategy.rollingUpdate)) s.updateStrategy.rollingUpdate = {};
    s.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
    s.updateStrategy.rollingUpdate.maxSurge ??= 0;
  }
  s.revisionHistoryLimit ??= 10;
  template(s);
  zeroCounters(o, ["currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady"]);
}

const INT32_MAX = 2147483647;

/** The JobSpec defaults a Job and a CronJob's jobTemplate share (upstream's SetDefaults_Job). */
function defaultJobPolicies(s: Obj): void {
  // With per-index limits the Job-wide limit is off unless asked for.
  s.backoffLimit ??= s.backoffLimitPerIndex !== undefined && s.backoffLimitPerIndex !== null ? INT32_MAX : 6;
  s.completionMode ??= "NonIndexed";
  s.suspend ??= false;
  // Under a pod failure policy a pod is judged once it has failed, so its replacement waits for that.
  s.podReplacementPolicy ??= isObj(s.podFailurePolicy) ? "Failed" : "TerminatingOrFailed";
}

/** Jobs also get a generated selector and pod labels (controller-uid) unless manualSelector (the uid is known at create), and their pods' labels when they have none. */
export function defaultJob(o: KubeObject): void {
  const s = spec(o);
  if (s.completions === undefined && s.parallelism === undefined) {
    s.completions = 1;
    s.parallelism = 1;
  }
  s.parallelism ??= 1;
  defaultJobPolicies(s);
  s.manualSelector ??= undefined;
  if (s.manualSelector === undefined) delete s.manualSelector;
  const uid = o.metadata.uid;
  const name = o.metadata.name;
  if (uid && name && s.manualSelector !== true && !isObj(s.selector)) {
    s.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": uid } };
    if (!isObj(s.template)) s.template = {};
    if (!isObj(s.template.metadata)) s.template.metadata = {};
    s.template.metadata.labels = {
      ...(isObj(s.template.metadata.labels) ? s.template.metadata.labels : {}),
      "batch.kubernetes.io/controller-uid": uid,
      "batch.kubernetes.io/job-name": name,
      "controller-uid": uid,
      "job-name": name,
    };
  }
  // A Job without labels of its own shows its pods' (upstream defaults them on every read).
  const podLabels = isObj(s.template) && isObj(s.template.metadata) ? s.template.metadata.labels : undefined;
  if (isObj(podLabels) && Object.keys(o.metadata.labels ?? {}).length === 0) o.metadata.labels = { ...podLabels };
  template(s);
}

export function defaultCronJob(o: KubeObject): void {
  const s = spec(o);
  s.concurrencyPolicy ??= "Allow";
  s.suspend ??= false;
  s.successfulJobsHistoryLimit ??= 3;
  s.failedJobsHistoryLimit ??= 1;
  const jt = isObj(s.jobTemplate) && isObj(s.jobTemplate.spec) ? s.jobTemplate.spec : undefined;
  if (jt) {
    defaultJobPolicies(jt);
    template(jt);
  }
}
