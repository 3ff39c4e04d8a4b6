/** Pod rows as upstream's printPod: NAME READY STATUS RESTARTS AGE | IP NODE NOMINATED NODE READINESS GATES. */
import type { KubeObject } from "../storage/index.js";
import type { HookContext } from "../registry/types.js";
import { age, arr, get, humanDuration, rec, str } from "./format.js";
import { ageCol, col, nameCol, type Printer } from "./columns.js";

/** The STATUS cell: phase, refined by container states, init progress and deletion. */
export function podStatusReason(pod: KubeObject): string {
  const status = rec(pod.status);
  let reason = str(status.reason) || str(status.phase) || "Pending";
  const initSpecs = arr(get(pod, "spec", "initContainers"));
  const initStatuses = arr(status.initContainerStatuses);
  let initializing = false;
  initStatuses.forEach((cs, i) => {
    if (initializing) return;
    const term = get(cs, "state", "terminated");
    const waiting = get(cs, "state", "waiting");
    if (term && get(term, "exitCode") === 0) return;
    const isSidecar = get(initSpecs[i], "restartPolicy") === "Always";
    if (isSidecar && get(cs, "started") === true) return;
    if (term) {
      const r = str(get(term, "reason"));
      reason = r ? `Init:${r}` : get(term, "signal") ? `Init:Signal:${String(get(term, "signal"))}` : `Init:ExitCode:${String(get(term, "exitCode"))}`;
      initializing = true;
    } else if (waiting && str(get(waiting, "reason")) && get(waiting, "reason") !== "PodInitializing") {
      reason = `Init:${str(get(waiting, "reason"))}`;
      initializing = true;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
      initializing = true;
    }
  });
  if (!initializing) {
    let hasRunning = false;
    const statuses = arr(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      const waitingReason = str(get(cs, "state", "waiting", "reason"));
      const term = get(cs, "state", "terminated");
      if (waitingReason) reason = waitingReason;
      else if (term) {
        const r = str(get(term, "reason"));
        reason = r || (get(term, "signal") ? `Signal:${String(get(term, "signal"))}` : `ExitCode:${String(get(term, "exitCode"))}`);
      } else if (get(cs, "ready") === true && get(cs, "state", "running")) hasRunning = true;
    }
    if (reason === "Completed" && hasRunning) {
      const ready = arr(status.conditions).some((c) => c.type === "Ready" && c.status === "True");
      reason = ready ? "Running" : "NotReady";
    }
  }
  if (pod.metadata.deletionTimestamp) reason = status.reason === "NodeLost" ? "Unknown" : "Terminating";
  return reason;
}

function readyCell(pod: KubeObject): string {
  const statuses = arr(get(pod, "status", "containerStatuses"));
  const total = arr(get(pod, "spec", "containers")).length;
  const ready = statuses.filter((c) => c.ready === true).length;
  // Restartable init containers (sidecars) count too, as upstream.
  const sidecars = arr(get(pod, "spec", "initContainers")).filter((c) => c.restartPolicy === "Always");
  const sidecarReady = arr(get(pod, "status", "initContainerStatuses")).filter(
    (c) => c.ready === true && sidecars.some((s) => s.name === c.name),
  ).length;
  return `${ready + sidecarReady}/${total + sidecars.length}`;
}

function restartsCell(pod: KubeObject, now: Date): string {
  let restarts = 0;
  let last: number | undefined;
  for (const cs of [...arr(get(pod, "status", "initContainerStatuses")), ...arr(get(pod, "status", "containerStatuses"))]) {
    restarts += typeof cs.restartCount === "number" ? cs.restartCount : 0;
    const finished = get(cs, "lastState", "terminated", "finishedAt");
    if (typeof finished === "string") {
      const t = Date.parse(finished);
      if (!Number.isNaN(t) && (last === undefined || t > last)) last = t;
    }
  }
  return last !== undefined && restarts > 0 ? `${restarts} (${humanDuration(now.getTime() - last)} ago)` : String(restarts);
}

export const podPrinter: Printer = {
  columns: [
    nameCol(),
    col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "The aggregate status of the containers in this pod."),
    col("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
    ageCol(),
    col("IP", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
    col("Node", "NodeName is a request to schedule this pod onto a specific node.", 1),
    col("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node.", 1),
    col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", 1),
  ],
  row: (pod: KubeObject, ctx: HookContext) => {
    const gates = arr(get(pod, "spec", "readinessGates"));
    const conds = arr(get(pod, "status", "conditions"));
    const gatesCell =
      gates.length === 0
        ? "<none>"
        : `${gates.filter((g) => conds.some((c) => c.type === g.conditionType && c.status === "True")).length}/${gates.length}`;
    return [
      pod.metadata.name,
      readyCell(pod),
      podStatusReason(pod),
      restartsCell(pod, ctx.now),
      age(pod.metadata.creationTimestamp, ctx.now),
      str(get(pod, "status", "podIP")) || "<none>",
      str(get(pod, "spec", "nodeName")) || "<none>",
      str(get(pod, "status", "nominatedNodeName")) || "<none>",
      gatesCell,
    ];
  },
};
