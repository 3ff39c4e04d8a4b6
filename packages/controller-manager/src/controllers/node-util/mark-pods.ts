/** Pods on a node that stopped reporting lose their Ready condition (upstream's MarkPodsNotReady). */
import type { Clock, Logger } from "@kubemu/common";
import { Resources, isNotFound } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import { aggregate } from "../../controller/aggregate.js";
import { updatePodCondition, type PodObject } from "./conditions.js";
import { rfc3339 } from "./taints.js";

/**
 * Sets Ready=False on every pod of `pods` bound to `nodeName` that is Ready, with a Warning
 * NodeNotReady "Node is not ready" on each; throws the failures (pods already gone are skipped).
 */
export async function markPodsNotReady(client: ControllerClient, recorder: Recorder, clock: Clock, pods: readonly PodObject[], nodeName: string, log: Logger): Promise<void> {
  const errors: unknown[] = [];
  for (const p of pods) {
    if (p.spec?.nodeName !== nodeName) continue;
    const ready = p.status?.conditions?.find((c) => c.type === "Ready");
    if (!ready) continue;
    const pod = structuredClone(p);
    if (!updatePodCondition(pod.status!, { ...ready, status: "False" }, rfc3339(clock.now()))) continue;
    try {
      await client.updateStatus(Resources.pods, pod);
    } catch (e) {
      if (isNotFound(e)) continue;
      log.info({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, err: String(e) }, "failed to update status for pod");
      errors.push(e);
    }
    // After the write, as upstream, so the event names a pod that still exists.
    recorder.event(pod, "Warning", "NodeNotReady", "Node is not ready");
  }
  const err = aggregate(errors);
  if (err) throw err;
}
