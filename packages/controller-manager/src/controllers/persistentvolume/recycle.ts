/**
 * The Recycle reclaim policy (deprecated upstream, still served): a released hostPath or nfs PV is
 * scrubbed by a pod `recycler-for-<pv>` in `default` that mounts the volume at /scrub and deletes
 * everything in it (upstream's NewPersistentVolumeRecyclerPodTemplate and recyclerclient), then
 * the PV is made Available again. The pod's deadline grows with the volume's size
 * (--pv-recycler-minimum-timeout-hostpath 60 s / -nfs 300 s, 30 s more per Gi). The pod runs on
 * whatever node the scheduler picks, as upstream's does.
 */
import { Resources, isAlreadyExists, isNotFound, parseQuantity, quantityValue, type Clock, type Lister } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import { messageOf, type PodObject } from "../../controller/pod-control.js";
import type { VolumeObject } from "./types.js";

export const RECYCLER_IMAGE = "registry.k8s.io/build-image/debian-base:bookworm-v1.0.4";
const SCRUB_SCRIPT = 'test -e /scrub && find /scrub -mindepth 1 -delete && test -z "$(ls -A /scrub)" || exit 1';
const GI = 1024 ** 3;

/** Per-source recycler timeouts: minimum and increment per Gi, seconds (the --pv-recycler-* defaults). */
const TIMEOUTS = { hostPath: { minimum: 60, increment: 30 }, nfs: { minimum: 300, increment: 30 } } as const;

/** CalculateTimeoutForVolume: increment × whole Gi of capacity, at least the minimum. */
export function recyclerTimeoutSeconds(pv: VolumeObject, minimum: number, increment: number): number {
  let bytes = 0;
  try {
    bytes = quantityValue(parseQuantity(String(pv.spec.capacity?.["storage"] ?? "0")));
  } catch {
    bytes = 0;
  }
  return Math.max(minimum, Math.floor(bytes / GI) * increment);
}

/** The recycler pod for a PV, or undefined for a volume type that has no recycler. */
export function recyclerPodFor(pv: VolumeObject): PodObject | undefined {
  let source: Record<string, unknown>;
  let t: { minimum: number; increment: number };
  if (pv.spec.hostPath) {
    source = { hostPath: { path: pv.spec.hostPath.path } };
    t = TIMEOUTS.hostPath;
  } else if (pv.spec.nfs) {
    source = { nfs: { server: pv.spec.nfs.server, path: pv.spec.nfs.path } };
    t = TIMEOUTS.nfs;
  } else return undefined;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `recycler-for-${pv.metadata.name}`, namespace: "default" },
    spec: {
      activeDeadlineSeconds: recyclerTimeoutSeconds(pv, t.minimum, t.increment),
      restartPolicy: "Never",
      volumes: [{ name: "vol", ...source }],
      containers: [{ name: "pv-recycler", image: RECYCLER_IMAGE, command: ["/bin/sh"], args: ["-c", SCRUB_SCRIPT], volumeMounts: [{ name: "vol", mountPath: "/scrub" }] }],
    },
  } as PodObject;
}

export interface RecyclerPodDeps {
  client: ControllerClient;
  pods: Lister<PodObject>;
  clock: Clock;
  signal?: AbortSignal;
  /** How often the pod informer is looked at while the pod runs. */
  pollMs?: number;
}

/** Waits for the recycler pod to finish (upstream's waitForPod): Succeeded, Failed, or deleted. */
async function waitForPod(d: RecyclerPodDeps, pod: PodObject): Promise<void> {
  let seen = false;
  for (;;) {
    const cur = d.pods.get(pod.metadata.namespace, pod.metadata.name!);
    if (cur) {
      seen = true;
      if (cur.status?.phase === "Succeeded") return;
      if (cur.status?.phase === "Failed") throw new Error(cur.status.message || "pod failed, pod.Status.Message unknown");
    } else if (seen) throw new Error("recycler pod was deleted");
    try {
      await d.clock.sleep(d.pollMs ?? 500, d.signal);
    } catch {
      throw new Error(`recycler pod "${pod.metadata.name}" watch channel had been closed`);
    }
  }
}

/**
 * Runs the pod to completion and deletes it (RecycleVolumeByWatchingPodUntilCompletion); throws
 * with upstream's messages. A leftover pod from an earlier attempt is deleted and the recycle
 * retried later.
 */
export async function runRecyclerPod(d: RecyclerPodDeps, pod: PodObject): Promise<void> {
  const { namespace, name } = pod.metadata;
  try {
    await d.client.create(Resources.pods, pod);
  } catch (e) {
    if (isAlreadyExists(e)) {
      try {
        await d.client.delete(Resources.pods, namespace, name!);
      } catch (deleteErr) {
        throw new Error(`failed to delete old recycler pod ${namespace}/${name}: ${messageOf(deleteErr)}`, { cause: deleteErr });
      }
      throw new Error("old recycler pod found, will retry later", { cause: e });
    }
    throw new Error(`unexpected error creating recycler pod:  ${messageOf(e)}`, { cause: e });
  }
  let waitErr: unknown;
  try {
    await waitForPod(d, pod);
  } catch (e) {
    waitErr = e;
  }
  // Stopping (no longer the leader): write nothing more; the next leader finds the pod and starts over.
  if (d.signal?.aborted) throw waitErr;
  let deleteErr: unknown;
  try {
    await d.client.delete(Resources.pods, namespace, name!);
  } catch (e) {
    if (!isNotFound(e)) deleteErr = e;
  }
  if (waitErr !== undefined) throw new Error(`failed to recycle volume: ${messageOf(waitErr)}`, { cause: waitErr });
  if (deleteErr !== undefined) throw new Error(`failed to delete recycler pod: ${messageOf(deleteErr)}`, { cause: deleteErr });
}
