/**
 * What a restarted kubelet knows about a pod it finds bound to it: only the status it posted
 * before. Its containers died with the old kubelet (bwrap --die-with-parent), so a container
 * that was running counts as exited with an unknown status (exit 255, reason Unknown, as after a
 * node reboot) and is started again with restartCount + 1; a terminal pod stays as it is.
 */
import type { ContainerStatus, Pod } from "kubernetes-types/core/v1.js";
import type { ContainerRecord, Instance, PodRuntimeView } from "./status.js";

type Terminated = NonNullable<NonNullable<ContainerStatus["state"]>["terminated"]>;

function instanceOf(t: Terminated, fallbackId: string, now: number): Instance {
  return {
    containerID: t.containerID ?? fallbackId,
    startedAt: t.startedAt ? Date.parse(t.startedAt) : 0,
    finishedAt: t.finishedAt ? Date.parse(t.finishedAt) : now,
    exitCode: t.exitCode,
    ...(t.reason ? { reason: t.reason } : {}),
    ...(t.message ? { message: t.message } : {}),
  };
}

function restoreRecords(recs: ContainerRecord[], statuses: ContainerStatus[] | undefined, now: number): void {
  for (const rec of recs) {
    const s = statuses?.find((x) => x.name === rec.name);
    if (!s) continue;
    rec.restartCount = s.restartCount ?? 0;
    rec.imageID = s.imageID ?? "";
    const id = s.containerID ?? "";
    const last = s.lastState?.terminated;
    if (s.state?.terminated) rec.current = instanceOf(s.state.terminated, id, now);
    else if (s.state?.running) {
      rec.current = { containerID: id, startedAt: s.state.running.startedAt ? Date.parse(s.state.running.startedAt) : 0, finishedAt: now, exitCode: 255, reason: "Unknown" };
      if (last) rec.previous = instanceOf(last, id, now);
    } else if (last) rec.current = instanceOf(last, id, now);
  }
}

/** Fills view from the pod's posted status; returns whether the pod was already terminal. */
export function restoreView(pod: Pod, view: PodRuntimeView, now: number): boolean {
  const st = pod.status;
  if (!st?.startTime) return false;
  view.startTime = Date.parse(st.startTime);
  if (st.podIP) view.podIP = st.podIP;
  restoreRecords(view.init, st.initContainerStatuses, now);
  restoreRecords(view.containers, st.containerStatuses, now);
  if (st.phase === "Succeeded" || st.phase === "Failed") {
    view.terminal = st.phase;
    return true;
  }
  return false;
}
