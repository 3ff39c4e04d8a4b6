/**
 * A pod's status from what the kubelet knows about its containers (upstream's
 * generateAPIPodStatus, convertToAPIContainerStatuses, getPhase and the condition generators):
 * the phase, the five conditions in upstream's order, container states with lastState and
 * restartCount, so the STATUS column kubectl prints reads as on a real node.
 */
import type { Container, ContainerStatus, Pod, PodCondition, PodStatus } from "kubernetes-types/core/v1.js";
import { rfc3339 } from "../util/go-duration.js";
import { podQos } from "./qos.js";

/** One run of a container. */
export interface Instance {
  containerID: string;
  startedAt: number;
  /** Set once it exited. */
  finishedAt?: number;
  exitCode?: number;
  /** Completed, Error, OOMKilled, StartError, Unknown. */
  reason?: string;
  message?: string;
  signal?: number;
}

/** What the kubelet tracks per container of a pod. */
export interface ContainerRecord {
  name: string;
  image: string;
  imageID: string;
  /** Instances started so far minus one (0 before the second start). */
  restartCount: number;
  current?: Instance;
  previous?: Instance;
  /** Why it is not running, when it is not (ErrImagePull, CrashLoopBackOff, CreateContainerConfigError...). */
  waiting?: { reason: string; message?: string };
  /** Readiness (probe result, or running when it has no readiness probe). */
  ready: boolean;
  /** The startup probe passed (or there is none) while running. */
  started: boolean;
}

export interface PodRuntimeView {
  /** Sandbox (volumes, hosts files, IP) set up. */
  sandboxReady: boolean;
  podIP: string | undefined;
  hostIP: string;
  startTime: number | undefined;
  init: ContainerRecord[];
  containers: ContainerRecord[];
  /** Pod-level terminal outcome decided by the worker (e.g. deletion: containers killed). */
  terminal?: "Succeeded" | "Failed";
  /** Pod-level reason/message (e.g. DeadlineExceeded, Evicted). */
  reason?: string;
  message?: string;
}

const running = (r: ContainerRecord | undefined) => !!r?.current && r.current.finishedAt === undefined;
const exited = (i: Instance | undefined) => !!i && i.finishedAt !== undefined;

function terminatedState(i: Instance) {
  return {
    terminated: {
      exitCode: i.exitCode ?? 0,
      ...(i.signal ? { signal: i.signal } : {}),
      reason: i.reason ?? (i.exitCode === 0 ? "Completed" : "Error"),
      ...(i.message ? { message: i.message } : {}),
      startedAt: rfc3339(i.startedAt),
      finishedAt: rfc3339(i.finishedAt ?? i.startedAt),
      containerID: i.containerID,
    },
  };
}

/** Whether a restartable init container (a sidecar). */
export const isSidecar = (c: Container) => c.restartPolicy === "Always";

/** Whether a container that exited with this code is started again under the pod's restartPolicy. */
export function shouldRestart(restartPolicy: string | undefined, exitCode: number): boolean {
  const p = restartPolicy ?? "Always";
  if (p === "Always") return true;
  if (p === "OnFailure") return exitCode !== 0;
  return false;
}

function containerStatus(rec: ContainerRecord, restartPolicy: string | undefined, defaultWaiting: string, sidecar: boolean): ContainerStatus {
  const cur = rec.current;
  let state: ContainerStatus["state"];
  let lastState: ContainerStatus["lastState"] = {};
  if (cur && !exited(cur)) {
    state = { running: { startedAt: rfc3339(cur.startedAt) } };
    if (rec.previous && exited(rec.previous)) lastState = terminatedState(rec.previous);
  } else if (cur && exited(cur)) {
    const restarts = sidecar || shouldRestart(restartPolicy, cur.exitCode ?? 0);
    if (restarts && rec.waiting) {
      state = { waiting: { reason: rec.waiting.reason, ...(rec.waiting.message ? { message: rec.waiting.message } : {}) } };
      lastState = terminatedState(cur);
    } else {
      state = terminatedState(cur);
      if (rec.previous && exited(rec.previous)) lastState = terminatedState(rec.previous);
    }
  } else {
    const w = rec.waiting ?? { reason: defaultWaiting };
    state = { waiting: { reason: w.reason, ...(w.message ? { message: w.message } : {}) } };
  }
  const out: ContainerStatus = {
    name: rec.name,
    state,
    lastState,
    ready: running(rec) && rec.ready,
    restartCount: rec.restartCount,
    image: rec.image,
    imageID: rec.imageID,
    ...(cur ? { containerID: cur.containerID } : {}),
    started: running(rec) && rec.started,
  };
  return out;
}

/** Upstream's getPhase over init and regular containers. */
export function podPhase(pod: Pod, v: PodRuntimeView): "Pending" | "Running" | "Succeeded" | "Failed" {
  if (v.terminal) return v.terminal;
  const policy = pod.spec?.restartPolicy ?? "Always";
  const initSpecs = pod.spec?.initContainers ?? [];
  let pendingInit = 0;
  let failedInit = 0;
  initSpecs.forEach((spec, i) => {
    const rec = v.init[i];
    if (isSidecar(spec)) {
      if (!running(rec) || !rec!.started) pendingInit++;
      return;
    }
    const cur = rec?.current;
    if (!cur) pendingInit++;
    else if (!exited(cur)) pendingInit++;
    else if (cur.exitCode === 0) return;
    else {
      // A failed init container restarts unless the pod's policy is Never.
      if (policy === "Never") failedInit++;
      else pendingInit++;
    }
  });
  let runningN = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const rec of v.containers) {
    const cur = rec.current;
    if (cur && !exited(cur)) runningN++;
    else if (cur && exited(cur)) {
      if (rec.waiting && shouldRestart(policy, cur.exitCode ?? 0)) stopped++;
      else {
        stopped++;
        if (cur.exitCode === 0) succeeded++;
      }
    } else if (rec.previous) stopped++;
    else waiting++;
  }
  if (failedInit > 0) return "Failed";
  if (pendingInit > 0) return "Pending";
  if (waiting > 0) return "Pending";
  if (runningN > 0) return "Running";
  if (stopped > 0) {
    if (policy === "Always") return "Running";
    if (policy === "OnFailure") return stopped === succeeded ? "Succeeded" : "Running";
    return stopped === succeeded ? "Succeeded" : "Failed";
  }
  return "Pending";
}

function condition(type: string, ok: boolean, reason?: string, message?: string, old?: PodCondition, now?: string): PodCondition {
  const status = ok ? "True" : "False";
  return {
    type,
    status,
    lastProbeTime: null as unknown as undefined,
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
}

/** The status to post; `previous` is the pod's current status (for transition times and others' conditions). */
export function computePodStatus(pod: Pod, v: PodRuntimeView, nowMs: number): PodStatus {
  const now = rfc3339(nowMs);
  const prev = pod.status ?? {};
  const old = (t: string) => prev.conditions?.find((c) => c.type === t);
  const policy = pod.spec?.restartPolicy;
  const phase = podPhase(pod, v);
  const initSpecs = pod.spec?.initContainers ?? [];
  const specs = pod.spec?.containers ?? [];
  const initStatuses = initSpecs.map((spec, i) => containerStatus(v.init[i]!, isSidecar(spec) ? "Always" : policy === "Always" ? "OnFailure" : policy, "PodInitializing", isSidecar(spec)));
  // App containers wait as PodInitializing while the pod has init containers, else ContainerCreating.
  const appWaiting = initSpecs.length > 0 ? "PodInitializing" : "ContainerCreating";
  const statuses = specs.map((_spec, i) => containerStatus(v.containers[i]!, policy, appWaiting, false));

  const completed = phase === "Succeeded" || phase === "Failed";
  const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
  const unreadySidecars = initSpecs.filter(isSidecar).map((s) => s.name).filter((n) => !initStatuses.find((s) => s.name === n)?.ready);
  const allUnready = [...unreadySidecars, ...unready];
  const gatesMissing = (pod.spec?.readinessGates ?? []).filter((g) => prev.conditions?.find((c) => c.type === g.conditionType)?.status !== "True").map((g) => g.conditionType);

  const incompleteInit = initSpecs
    .filter((spec, i) => {
      const rec = v.init[i];
      if (isSidecar(spec)) return !(running(rec) && rec!.started);
      return !(rec?.current && exited(rec.current) && rec.current.exitCode === 0);
    })
    .map((s) => s.name);

  const conditions: PodCondition[] = [];
  conditions.push(condition("PodReadyToStartContainers", v.sandboxReady && !completed, undefined, undefined, old("PodReadyToStartContainers"), now));
  if (phase === "Succeeded" && incompleteInit.length === 0) conditions.push(condition("Initialized", true, "PodCompleted", undefined, old("Initialized"), now));
  else conditions.push(incompleteInit.length === 0 ? condition("Initialized", true, undefined, undefined, old("Initialized"), now) : condition("Initialized", false, "ContainersNotInitialized", `containers with incomplete status: [${incompleteInit.join(" ")}]`, old("Initialized"), now));
  let readyCond: PodCondition;
  let containersReady: PodCondition;
  if (phase === "Succeeded") {
    readyCond = condition("Ready", false, "PodCompleted", undefined, old("Ready"), now);
    containersReady = condition("ContainersReady", false, "PodCompleted", undefined, old("ContainersReady"), now);
  } else {
    const msg = `containers with unready status: [${allUnready.join(" ")}]`;
    containersReady = allUnready.length === 0 ? condition("ContainersReady", true, undefined, undefined, old("ContainersReady"), now) : condition("ContainersReady", false, "ContainersNotReady", msg, old("ContainersReady"), now);
    if (allUnready.length > 0) readyCond = condition("Ready", false, "ContainersNotReady", msg, old("Ready"), now);
    else if (gatesMissing.length > 0) readyCond = condition("Ready", false, "ReadinessGatesNotReady", `corresponding condition of pod readiness gate "${gatesMissing[0]}" does not exist.`, old("Ready"), now);
    else readyCond = condition("Ready", true, undefined, undefined, old("Ready"), now);
  }
  conditions.push(readyCond, containersReady);
  const ours = new Set(["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"]);
  const scheduled = old("PodScheduled") ?? { type: "PodScheduled", status: "True", lastProbeTime: null as unknown as undefined, lastTransitionTime: now };
  conditions.push(scheduled);
  for (const c of prev.conditions ?? []) if (!ours.has(c.type) && c.type !== "PodScheduled") conditions.push(c);

  const status: PodStatus = {
    phase,
    conditions,
    hostIP: v.hostIP,
    hostIPs: [{ ip: v.hostIP }],
    ...(v.podIP ? { podIP: v.podIP, podIPs: [{ ip: v.podIP }] } : {}),
    ...(v.startTime !== undefined ? { startTime: rfc3339(v.startTime) } : {}),
    ...(initStatuses.length > 0 ? { initContainerStatuses: initStatuses } : {}),
    containerStatuses: statuses,
    qosClass: podQos(pod),
    ...(v.reason ? { reason: v.reason } : {}),
    ...(v.message ? { message: v.message } : {}),
  };
  return status;
}
