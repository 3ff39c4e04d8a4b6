/**
 * Node taints as the node controllers read and write them (upstream's pkg/util/taints and the
 * taint helpers of pkg/controller/controller_utils.go): two taints are "the same" when key and
 * effect match; writes are strategic-merge patches of spec.taints carrying the resourceVersion
 * they were computed from, retried on a fresh read when they lose a race.
 */
import type { Clock, KubeObject } from "@kubemu/common";
import { Resources, isConflict } from "@kubemu/common";
import type { Node, Taint } from "kubernetes-types/core/v1.js";
import type { ControllerClient } from "../../controller/client.js";

export type NodeObject = Node & KubeObject;

export const TAINT_NOT_READY = "node.kubernetes.io/not-ready";
export const TAINT_UNREACHABLE = "node.kubernetes.io/unreachable";
export const TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable";
export const TAINT_MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure";
export const TAINT_DISK_PRESSURE = "node.kubernetes.io/disk-pressure";
export const TAINT_PID_PRESSURE = "node.kubernetes.io/pid-pressure";
export const TAINT_NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable";
export const TAINT_OUT_OF_SERVICE = "node.kubernetes.io/out-of-service";

/** Attempts of a taint write before it gives up (upstream's UpdateTaintBackoff: 5 steps). */
const TAINT_UPDATE_STEPS = 5;
const TAINT_UPDATE_WAIT_MS = 100;

/** Same key and effect (upstream's Taint.MatchTaint). */
export function matchTaint(a: Taint, b: Taint): boolean {
  return a.key === b.key && a.effect === b.effect;
}

export function taintExists(taints: readonly Taint[] | undefined, t: Taint): boolean {
  return (taints ?? []).some((x) => matchTaint(x, t));
}

export function taintKeyExists(taints: readonly Taint[] | undefined, key: string): boolean {
  return (taints ?? []).some((x) => x.key === key);
}

/** Taints of `a` not in `b`, and of `b` not in `a`, by key and effect (upstream's TaintSetDiff). */
export function taintSetDiff(wanted: readonly Taint[], current: readonly Taint[]): { add: Taint[]; remove: Taint[] } {
  return { add: wanted.filter((t) => !taintExists(current, t)), remove: current.filter((t) => !taintExists(wanted, t)) };
}

function sameTaint(a: Taint, b: Taint): boolean {
  return a.key === b.key && a.effect === b.effect && (a.value ?? "") === (b.value ?? "") && (a.timeAdded ?? "") === (b.timeAdded ?? "");
}

/** Node spec.taints after adding or replacing `taint` (same key and effect), or undefined when it is already there unchanged. */
function withTaint(taints: readonly Taint[], taint: Taint): Taint[] | undefined {
  let replaced = false;
  const out: Taint[] = [];
  for (const t of taints) {
    if (matchTaint(t, taint)) {
      if (sameTaint(t, taint)) return undefined;
      out.push(taint);
      replaced = true;
    } else out.push(t);
  }
  if (!replaced) out.push(taint);
  return out;
}

/**
 * Reads the node, changes its taints with `change` (undefined: nothing to do) and patches them
 * with the read's resourceVersion, again on a fresh read while the patch conflicts.
 */
async function patchTaints(client: ControllerClient, clock: Clock, nodeName: string, change: (taints: readonly Taint[]) => Taint[] | undefined): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const node = await client.get<NodeObject>(Resources.nodes, undefined, nodeName);
    const next = change(node.spec?.taints ?? []);
    if (!next) return;
    try {
      // spec.taints has no merge key: the list is replaced whole; null removes it (Go omits an empty list).
      await client.patch(Resources.nodes, undefined, nodeName, "strategic", { metadata: { resourceVersion: node.metadata.resourceVersion }, spec: { taints: next.length > 0 ? next : null } });
      return;
    } catch (e) {
      if (!isConflict(e) || attempt >= TAINT_UPDATE_STEPS) throw e;
    }
    await clock.sleep(TAINT_UPDATE_WAIT_MS);
  }
}

/** Adds the taints, or updates those with the same key and effect (upstream's AddOrUpdateTaintOnNode). */
export async function addOrUpdateTaintOnNode(client: ControllerClient, clock: Clock, nodeName: string, taints: readonly Taint[]): Promise<void> {
  if (taints.length === 0) return;
  await patchTaints(client, clock, nodeName, (cur) => {
    let list: Taint[] | undefined;
    for (const t of taints) list = withTaint(list ?? cur, t) ?? list;
    return list;
  });
}

/** Removes the taints (by key and effect); nothing is read when `node` shows none of them (upstream's RemoveTaintOffNode). */
export async function removeTaintOffNode(client: ControllerClient, clock: Clock, nodeName: string, node: NodeObject | undefined, taints: readonly Taint[]): Promise<void> {
  if (taints.length === 0) return;
  if (node && !taints.some((t) => taintExists(node.spec?.taints, t))) return;
  await patchTaints(client, clock, nodeName, (cur) => {
    const kept = cur.filter((t) => !taints.some((r) => matchTaint(r, t)));
    return kept.length === cur.length ? undefined : kept;
  });
}

/**
 * Adds `add` (stamped with timeAdded = now) and removes `remove` (upstream's
 * SwapNodeControllerTaint); resolves false when either write failed, after telling onError why.
 */
export async function swapNodeControllerTaint(
  client: ControllerClient,
  clock: Clock,
  node: NodeObject,
  add: readonly Taint[],
  remove: readonly Taint[],
  onError: (e: unknown) => void,
): Promise<boolean> {
  const now = rfc3339(clock.now());
  try {
    await addOrUpdateTaintOnNode(client, clock, node.metadata.name!, add.map((t) => ({ ...t, timeAdded: now })));
    await removeTaintOffNode(client, clock, node.metadata.name!, node, remove);
    return true;
  } catch (e) {
    onError(e);
    return false;
  }
}

/** RFC 3339 to the second, as metav1.Time serialises. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}
