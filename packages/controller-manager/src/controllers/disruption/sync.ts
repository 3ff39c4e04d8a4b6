/**
 * The disruption controller's sync (upstream's pkg/controller/disruption): a
 * PodDisruptionBudget's status from the pods its selector picks — expectedPods, desiredHealthy
 * (minAvailable, or the controllers' scale minus maxUnavailable; percentages of that scale,
 * rounded up), currentHealthy (Ready, not being deleted, not just approved for eviction),
 * disruptionsAllowed and the DisruptionAllowed condition — which the API server's eviction
 * handler reads and decrements. Approved evictions (disruptedPods) are dropped once the pod is
 * being deleted, or after 2 minutes if it never was. When the status cannot be computed it says
 * so (SyncFailed) with disruptionsAllowed 0: evictions fail closed.
 *
 * Constructible from plain parts so unit tests drive it on a FakeClock without informers.
 */
import type { Clock, Lister, Logger } from "@kubemu/common";
import { Resources, isConflict, isNotFound, selectorFromObject, silentLogger, splitKey } from "@kubemu/common";
import type { Condition } from "kubernetes-types/meta/v1.js";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import { controllerOf } from "../../controller/controller-ref.js";
import { messageOf } from "../../controller/pod-control.js";
import { isPodReady, isPodTerminal } from "../../controller/pod-util.js";
import { scaledValueFromIntOrPercent } from "../daemonset/int-or-percent.js";
import { updatePodCondition, type PodObject } from "../node-util/conditions.js";
import { rfc3339 } from "../node-util/taints.js";
import { DISRUPTION_ALLOWED, SYNC_FAILED, conditionsAreUpToDate, setStatusCondition, updateDisruptionAllowedCondition, type PdbObject } from "./conditions.js";
import type { ControllerFinders } from "./finders.js";

/** How long an approved eviction may take to show as a deletion (upstream's DeletionTimeout). */
export const DELETION_TIMEOUT_MS = 2 * 60_000;
/** How long a DisruptionTarget condition may stand on a pod that is not being deleted (stalePodDisruptionTimeout). */
export const STALE_POD_DISRUPTION_TIMEOUT_MS = 2 * 60_000;

export interface DisruptionDeps {
  client: ControllerClient;
  pdbs: Lister<PdbObject>;
  pods: Lister<PodObject>;
  finders: ControllerFinders;
  recorder: Recorder;
  clock: Clock;
  /** Syncs the PDB again after ms (the recheck of disruptedPods). */
  enqueueAfter(key: string, ms: number): void;
  logger?: Logger;
}

/** The PDBs whose selector picks the pod (client-go's GetPodPodDisruptionBudgets: an empty selector picks all, a missing one none). */
export function pdbsForPod(pdbs: Lister<PdbObject>, pod: PodObject): PdbObject[] {
  return pdbs.list({ namespace: pod.metadata.namespace }).filter((p) => p.spec?.selector !== undefined && p.spec.selector !== null && selectorFromObject(p.spec.selector).matches(pod.metadata.labels));
}

function parseTime(s: string | undefined): number {
  const t = s ? Date.parse(s) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

export class DisruptionSync {
  private readonly log: Logger;

  constructor(private readonly d: DisruptionDeps) {
    this.log = d.logger ?? silentLogger;
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pdb = this.d.pdbs.get(namespace, name);
    if (!pdb) return;
    try {
      await this.trySync(pdb);
    } catch (e) {
      // A lost race is just retried; anything else also closes the budget until it is fixed.
      if (isConflict(e)) throw e;
      this.log.error({ pdb: key, err: messageOf(e) }, "failed to sync PDB");
      await this.failSafe(pdb, e);
    }
  }

  private podsFor(pdb: PdbObject): PodObject[] {
    if (!pdb.spec?.selector) return [];
    return this.d.pods.list({ namespace: pdb.metadata.namespace, selector: selectorFromObject(pdb.spec.selector) });
  }

  private async trySync(pdb: PdbObject): Promise<void> {
    const pods = this.podsFor(pdb);
    if (pods.length === 0) this.d.recorder.event(pdb, "Normal", "NoPods", "No matching pods found");
    let counts: { expectedCount: number; desiredHealthy: number; unmanaged: string[] };
    try {
      counts = await this.expectedPodCount(pdb, pods);
    } catch (e) {
      this.d.recorder.event(pdb, "Warning", "CalculateExpectedPodCountFailed", `Failed to calculate the number of expected pods: ${messageOf(e)}`);
      throw e;
    }
    if (counts.unmanaged.length > 0) {
      this.d.recorder.event(
        pdb,
        "Warning",
        "UnmanagedPods",
        `Pods selected by this PodDisruptionBudget (selector: ${goSelector(pdb.spec?.selector)}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`,
      );
    }
    const now = this.d.clock.now();
    const { disrupted, recheckAt } = this.buildDisruptedPodMap(pods, pdb, now);
    const currentHealthy = countHealthyPods(pods, disrupted, now);
    await this.updateStatus(pdb, currentHealthy, counts.desiredHealthy, counts.expectedCount, disrupted);
    if (recheckAt !== undefined) this.d.enqueueAfter(`${pdb.metadata.namespace}/${pdb.metadata.name}`, recheckAt - now);
  }

  /** expectedPods and desiredHealthy as upstream's getExpectedPodCount. */
  private async expectedPodCount(pdb: PdbObject, pods: readonly PodObject[]): Promise<{ expectedCount: number; desiredHealthy: number; unmanaged: string[] }> {
    const spec = pdb.spec ?? {};
    if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
      const { expected, unmanaged } = await this.expectedScale(pods);
      const maxUnavailable = scaledValueFromIntOrPercent(spec.maxUnavailable, expected, true);
      return { expectedCount: expected, desiredHealthy: Math.max(0, expected - maxUnavailable), unmanaged };
    }
    if (spec.minAvailable !== undefined && spec.minAvailable !== null) {
      if (typeof spec.minAvailable === "number") return { expectedCount: pods.length, desiredHealthy: spec.minAvailable, unmanaged: [] };
      const { expected, unmanaged } = await this.expectedScale(pods);
      return { expectedCount: expected, desiredHealthy: scaledValueFromIntOrPercent(spec.minAvailable, expected, true), unmanaged };
    }
    return { expectedCount: 0, desiredHealthy: 0, unmanaged: [] };
  }

  /** The sum of the scales of the pods' controllers, each counted once; pods without a controller are unmanaged. */
  private async expectedScale(pods: readonly PodObject[]): Promise<{ expected: number; unmanaged: string[] }> {
    const scales = new Map<string, number>();
    const unmanaged: string[] = [];
    for (const pod of pods) {
      const ref = controllerOf(pod);
      if (!ref) {
        unmanaged.push(pod.metadata.name!);
        continue;
      }
      if (scales.has(ref.uid)) continue;
      const found = await this.d.finders.find(ref, pod.metadata.namespace!);
      if (!found) throw new Error(`found no controllers for pod "${pod.metadata.name}"`);
      scales.set(found.uid, found.scale);
    }
    let expected = 0;
    for (const n of scales.values()) expected += n;
    return { expected, unmanaged };
  }

  private buildDisruptedPodMap(pods: readonly PodObject[], pdb: PdbObject, now: number): { disrupted: Record<string, string>; recheckAt: number | undefined } {
    const recorded = pdb.status?.disruptedPods ?? {};
    const disrupted: Record<string, string> = {};
    let recheckAt: number | undefined;
    for (const pod of pods) {
      if (pod.metadata.deletionTimestamp) continue;
      const at = recorded[pod.metadata.name!];
      if (at === undefined) continue;
      const expectedDeletion = parseTime(at) + DELETION_TIMEOUT_MS;
      if (expectedDeletion < now) {
        this.log.info({ pod: pod.metadata.name, pdb: pdb.metadata.name }, "pod was expected to be deleted but it wasn't, updating PDB");
        // Upstream's words, namespace twice included.
        this.d.recorder.event(pod, "Warning", "NotDeleted", `Pod was expected by PDB ${pdb.metadata.namespace}/${pdb.metadata.namespace} to be deleted but it wasn't`);
      } else {
        if (recheckAt === undefined || expectedDeletion < recheckAt) recheckAt = expectedDeletion;
        disrupted[pod.metadata.name!] = at;
      }
    }
    return { disrupted, recheckAt };
  }

  private async updateStatus(pdb: PdbObject, currentHealthy: number, desiredHealthy: number, expectedCount: number, disrupted: Record<string, string>): Promise<void> {
    let disruptionsAllowed = currentHealthy - desiredHealthy;
    // No expected pods yet: a budget whose first pods are appearing stays closed until counted.
    if (expectedCount <= 0 || disruptionsAllowed <= 0) disruptionsAllowed = 0;
    const s: Partial<NonNullable<PdbObject["status"]>> = pdb.status ?? {};
    const generation = pdb.metadata.generation ?? 0;
    if (
      (s.currentHealthy ?? 0) === currentHealthy &&
      (s.desiredHealthy ?? 0) === desiredHealthy &&
      (s.expectedPods ?? 0) === expectedCount &&
      (s.disruptionsAllowed ?? 0) === disruptionsAllowed &&
      sameMap(s.disruptedPods ?? {}, disrupted) &&
      (s.observedGeneration ?? 0) === generation &&
      conditionsAreUpToDate(pdb)
    )
      return;
    const status = {
      disruptionsAllowed,
      currentHealthy,
      desiredHealthy,
      expectedPods: expectedCount,
      ...(Object.keys(disrupted).length > 0 ? { disruptedPods: disrupted } : {}),
      ...(generation ? { observedGeneration: generation } : {}),
      conditions: structuredClone(s.conditions ?? []) as Condition[],
    };
    updateDisruptionAllowedCondition(status, rfc3339(this.d.clock.now()));
    await this.d.client.updateStatus(Resources.podDisruptionBudgets, { ...pdb, status } as PdbObject);
  }

  /** disruptionsAllowed 0 and DisruptionAllowed False/SyncFailed with the error (upstream's failSafe). */
  private async failSafe(pdb: PdbObject, err: unknown): Promise<void> {
    const status = structuredClone(pdb.status ?? {}) as NonNullable<PdbObject["status"]> & { conditions?: Condition[] };
    (status as { disruptionsAllowed: number }).disruptionsAllowed = 0;
    const conditions = status.conditions ?? (status.conditions = []);
    setStatusCondition(conditions, { type: DISRUPTION_ALLOWED, status: "False", reason: SYNC_FAILED, message: messageOf(err), ...(status.observedGeneration ? { observedGeneration: status.observedGeneration } : {}) }, rfc3339(this.d.clock.now()));
    await this.d.client.updateStatus(Resources.podDisruptionBudgets, { ...pdb, status } as PdbObject);
  }

  /**
   * A pod that carries DisruptionTarget=True but was never deleted (an eviction that did not
   * happen): the condition is set False after 2 minutes. Answers the wait still to go, if any.
   */
  staleDisruptionWait(pod: PodObject): number | undefined {
    if (pod.metadata.deletionTimestamp) return undefined;
    const cond = pod.status?.conditions?.find((c) => c.type === "DisruptionTarget");
    if (!cond || cond.status !== "True" || cond.reason === "TerminationByKubelet" || isPodTerminal(pod)) return undefined;
    return Math.max(0, STALE_POD_DISRUPTION_TIMEOUT_MS - (this.d.clock.now() - parseTime(cond.lastTransitionTime)));
  }

  /** The stale-condition cleanup of one pod (upstream's syncStalePodDisruption); answers a wait to requeue after. */
  async syncStalePodDisruption(key: string): Promise<number | undefined> {
    const { namespace, name } = splitKey(key);
    const pod = this.d.pods.get(namespace, name);
    if (!pod) return undefined;
    const wait = this.staleDisruptionWait(pod);
    if (wait === undefined) return undefined;
    if (wait > 0) return wait;
    const next = structuredClone(pod) as PodObject & { status: NonNullable<PodObject["status"]> };
    next.status ??= {};
    if (!updatePodCondition(next.status, { type: "DisruptionTarget", status: "False" }, rfc3339(this.d.clock.now()))) return undefined;
    try {
      await this.d.client.updateStatus(Resources.pods, next);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    this.log.info({ pod: key }, "reset stale DisruptionTarget condition to False");
    return undefined;
  }

  /** The PDB a pod event wakes (the first of those picking it; several earn the pod a warning). */
  pdbForPod(pod: PodObject): PdbObject | undefined {
    const pdbs = pdbsForPod(this.d.pdbs, pod);
    if (pdbs.length > 1) {
      const msg = `Pod "${pod.metadata.namespace}"/"${pod.metadata.name}" matches multiple PodDisruptionBudgets.  Chose "${pdbs[0]!.metadata.name}" arbitrarily.`;
      this.log.info(msg);
      this.d.recorder.event(pod, "Warning", "MultiplePodDisruptionBudgets", msg);
    }
    return pdbs[0];
  }
}

function countHealthyPods(pods: readonly PodObject[], disrupted: Record<string, string>, now: number): number {
  let n = 0;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    const at = disrupted[pod.metadata.name!];
    // Approved for eviction and expected to go soon: no longer counted.
    if (at !== undefined && parseTime(at) + DELETION_TIMEOUT_MS > now) continue;
    if (isPodReady(pod)) n++;
  }
  return n;
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** A LabelSelector as Go's %v prints the pointer in UnmanagedPods ("&LabelSelector{MatchLabels:map[string]string{app: x,},MatchExpressions:[]LabelSelectorRequirement{},}"). */
function goSelector(sel: unknown): string {
  const s = (sel ?? {}) as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  const labels = Object.keys(s.matchLabels ?? {})
    .sort()
    .map((k) => `${k}: ${s.matchLabels![k]},`)
    .join("");
  const exprs = (s.matchExpressions ?? []).map((e) => `LabelSelectorRequirement{Key:${e.key},Operator:${e.operator},Values:[${(e.values ?? []).join(" ")}],},`).join("");
  return `&LabelSelector{MatchLabels:map[string]string{${labels}},MatchExpressions:[]LabelSelectorRequirement{${exprs}},}`;
}
