/**
 * pods/eviction (upstream's pkg/registry/core/pod/storage/eviction.go): a delete that honours
 * the pod's PodDisruptionBudget. A pod that is terminal, Pending or already being deleted goes
 * at once; otherwise the PDB picking it must allow a disruption — its status.disruptionsAllowed
 * (kept by the disruption controller) is decremented and the pod recorded in disruptedPods,
 * compare-and-swap on the PDB — or the answer is 429 "Cannot evict pod as it would violate the
 * pod's disruption budget." (kubectl drain retries it). A pod that is not Ready while the budget
 * is met anyway goes without spending a disruption, pinned to the resourceVersion that was judged.
 * Before the delete the pod gets DisruptionTarget=True (EvictionByEvictionAPI).
 */
import type { Clock } from "@kubemu/common";
import { StatusError, isConflict, newBadRequest, newConflict, newStatus, selectorFromObject } from "@kubemu/common";
import type { KubeObject } from "../storage/index.js";
import type { ResourceDef } from "../registry/types.js";
import { parseDeleteOptions, type DeleteOptions } from "./delete-options.js";
import { timestamp } from "./meta.js";

/** The store operations an eviction needs (ResourceStore's). */
export interface EvictionStore {
  get(def: ResourceDef, ns: string | undefined, name: string): Promise<KubeObject>;
  list(def: ResourceDef, ns: string | undefined, q: Record<string, never>): Promise<{ items: KubeObject[] }>;
  update(def: ResourceDef, ns: string | undefined, name: string, body: unknown, opts: { subresource?: string; dryRun?: boolean; fieldManager?: string }): Promise<KubeObject>;
  delete(def: ResourceDef, ns: string | undefined, name: string, o: DeleteOptions): Promise<unknown>;
}

/** More approved-but-unconfirmed evictions than this and the budget refuses (upstream's MaxDisruptedPodSize). */
export const MAX_DISRUPTED_POD_SIZE = 2000;
/** Conflict retries (upstream's EvictionsRetry: 20 steps 500 ms apart). */
const RETRY_STEPS = 20;
const RETRY_MS = 500;
/** Retries of the DisruptionTarget status write that lost a race with another writer. */
const CONDITION_RETRIES = 5;

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

const VIOLATES = "Cannot evict pod as it would violate the pod's disruption budget.";

function tooManyRequests(cause: string, retryAfterSeconds: number): StatusError {
  return new StatusError(newStatus("TooManyRequests", VIOLATES, { causes: [{ reason: "DisruptionBudget", message: cause }], ...(retryAfterSeconds > 0 ? { retryAfterSeconds } : {}) }));
}

function stillProcessing(pdbName: string): StatusError {
  return tooManyRequests(`The disruption budget ${pdbName} is still being processed by the server.`, 10);
}

function forbidden(pdbName: string, why: string): StatusError {
  return new StatusError(newStatus("Forbidden", `poddisruptionbudget.policy "${pdbName}" is forbidden: ${why}`, { name: pdbName, group: "policy", kind: "poddisruptionbudget" }));
}

function phaseOf(pod: KubeObject): string | undefined {
  return isObj(pod.status) ? (pod.status.phase as string | undefined) : undefined;
}

function isPodReady(pod: KubeObject): boolean {
  const conds = isObj(pod.status) && Array.isArray(pod.status.conditions) ? (pod.status.conditions as Obj[]) : [];
  return conds.some((c) => c.type === "Ready" && c.status === "True");
}

/** Terminal, Pending or being deleted: it disrupts nothing the budget protects (canIgnorePDB). */
function canIgnorePDB(pod: KubeObject): boolean {
  const phase = phaseOf(pod);
  return phase === "Succeeded" || phase === "Failed" || phase === "Pending" || !!pod.metadata.deletionTimestamp;
}

/** A live pod: pin the delete to the version judged, so one that turns Ready meanwhile is not deleted unchecked. */
function shouldEnforceResourceVersion(pod: KubeObject): boolean {
  const phase = phaseOf(pod);
  return !(phase === "Succeeded" || phase === "Failed" || pod.metadata.deletionTimestamp);
}

function withResourceVersion(o: DeleteOptions, rv: string | undefined): DeleteOptions {
  return { ...o, preconditions: { ...(o.preconditions ?? {}), ...(rv ? { resourceVersion: rv } : {}) } };
}

export class PodEviction {
  constructor(
    private readonly store: EvictionStore,
    private readonly podDef: ResourceDef,
    private readonly pdbDef: ResourceDef,
    private readonly clock: Clock,
  ) {}

  private now(): string {
    return timestamp(this.clock.now());
  }

  async evict(ns: string, name: string, body: unknown, requestDryRun: boolean): Promise<void> {
    const b = isObj(body) ? body : {};
    const meta = isObj(b.metadata) ? b.metadata : {};
    if (meta.name !== undefined && meta.name !== name) throw newBadRequest("name in URL does not match name in Eviction object");
    const options = parseDeleteOptions(isObj(b.deleteOptions) ? b.deleteOptions : {}, new URLSearchParams());
    if (requestDryRun) options.dryRun = true;
    const rvUnset = !options.preconditions?.resourceVersion;

    // A pod the budget need not protect is deleted straight away.
    let pod: KubeObject | undefined;
    for (let attempt = 1; ; attempt++) {
      pod = await this.store.get(this.podDef, ns, name);
      if (!canIgnorePDB(pod)) break;
      try {
        await this.addConditionAndDelete(ns, name, shouldEnforceResourceVersion(pod) && rvUnset ? withResourceVersion(options, pod.metadata.resourceVersion) : options);
        return;
      } catch (e) {
        // With the caller's own resourceVersion a conflict is theirs to handle.
        if (!isConflict(e) || !rvUnset || attempt >= RETRY_STEPS) throw e;
      }
      await this.clock.sleep(RETRY_MS);
    }

    const pdbs = await this.pdbsFor(pod);
    if (pdbs.length > 1) throw new StatusError(newStatus("", "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.", undefined, 500));
    let pinToJudged = false;
    let pdbName = "";
    if (pdbs.length === 1) {
      const pdb = pdbs[0]!;
      pdbName = pdb.metadata.name!;
      const spec = isObj(pdb.spec) ? pdb.spec : {};
      const st = isObj(pdb.status) ? pdb.status : {};
      if (!isPodReady(pod)) {
        // An unhealthy pod does not count toward the budget: no disruption is spent on it.
        if (spec.unhealthyPodEvictionPolicy === "AlwaysAllow") pinToJudged = true;
        else if ((st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0) pinToJudged = true;
      }
      if (!pinToJudged) await this.checkAndDecrementWithRetry(ns, name, pdb, options.dryRun ?? false);
    }
    try {
      await this.addConditionAndDelete(ns, name, pinToJudged ? withResourceVersion(options, pod.metadata.resourceVersion) : options);
    } catch (e) {
      // The pod changed since it was judged (it may be Ready now): the client tries again.
      if (isConflict(e) && pinToJudged && rvUnset) throw stillProcessing(pdbName);
      throw e;
    }
  }

  /** The PDBs in the pod's namespace whose selector picks it (an empty selector picks every pod, a missing one none). */
  private async pdbsFor(pod: KubeObject): Promise<KubeObject[]> {
    const { items } = await this.store.list(this.pdbDef, pod.metadata.namespace, {});
    return items.filter((p) => {
      const sel = isObj(p.spec) ? p.spec.selector : undefined;
      if (!isObj(sel)) return false;
      try {
        return selectorFromObject(sel).matches(pod.metadata.labels);
      } catch {
        return false;
      }
    });
  }

  private async checkAndDecrementWithRetry(ns: string, podName: string, first: KubeObject, dryRun: boolean): Promise<void> {
    let pdb = first;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.checkAndDecrement(ns, podName, pdb, dryRun);
        return;
      } catch (e) {
        if (!isConflict(e)) throw e;
        if (attempt >= RETRY_STEPS) throw new StatusError(newStatus("Timeout", `Timeout: couldn't update PodDisruptionBudget "${first.metadata.name}" due to conflicts`, { retryAfterSeconds: 10 }));
      }
      await this.clock.sleep(RETRY_MS);
      pdb = await this.store.get(this.pdbDef, ns, first.metadata.name!);
    }
  }

  /** Spends one disruption of the budget (compare-and-swap on its resourceVersion), or refuses. */
  private async checkAndDecrement(ns: string, podName: string, pdb: KubeObject, dryRun: boolean): Promise<void> {
    const name = pdb.metadata.name!;
    const status: Obj = structuredClone(isObj(pdb.status) ? pdb.status : {});
    if ((status.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0)) throw stillProcessing(name);
    const allowed = status.disruptionsAllowed ?? 0;
    if (allowed < 0) throw forbidden(name, "pdb disruptions allowed is negative");
    if (Object.keys(isObj(status.disruptedPods) ? status.disruptedPods : {}).length > MAX_DISRUPTED_POD_SIZE) throw forbidden(name, "DisruptedPods map too big - too many evictions not confirmed by PDB controller");
    if (allowed === 0) throw tooManyRequests(`The disruption budget ${name} needs ${status.desiredHealthy ?? 0} healthy pods and has ${status.currentHealthy ?? 0} currently`, 0);
    status.disruptionsAllowed = allowed - 1;
    if (status.disruptionsAllowed === 0) this.setInsufficientPods(status);
    if (dryRun) return;
    // Tells the disruption controller this pod is about to go, so it stops counting it as healthy.
    status.disruptedPods = { ...(isObj(status.disruptedPods) ? status.disruptedPods : {}), [podName]: this.now() };
    await this.store.update(this.pdbDef, ns, name, { ...pdb, status }, { subresource: "status" });
  }

  /** upstream's UpdateDisruptionAllowedCondition for a budget just spent to 0. */
  private setInsufficientPods(status: Obj): void {
    const conditions: Obj[] = Array.isArray(status.conditions) ? status.conditions : (status.conditions = []);
    const next = { type: "DisruptionAllowed", status: "False", reason: "InsufficientPods", message: "", ...(status.observedGeneration ? { observedGeneration: status.observedGeneration } : {}) };
    const i = conditions.findIndex((c) => c.type === "DisruptionAllowed");
    if (i === -1) conditions.push({ ...next, lastTransitionTime: this.now() });
    else conditions[i] = { ...next, lastTransitionTime: conditions[i]!.status === "False" ? conditions[i]!.lastTransitionTime : this.now() };
  }

  /**
   * DisruptionTarget=True on the latest pod (the delete's preconditions checked against it), then
   * the delete; a resourceVersion precondition moves to the version the condition write made.
   */
  private async addConditionAndDelete(ns: string, name: string, options: DeleteOptions): Promise<void> {
    let o = options;
    if (!options.dryRun) {
      for (let attempt = 1; ; attempt++) {
        const latest = await this.store.get(this.podDef, ns, name);
        const pre = options.preconditions;
        if (pre?.uid && pre.uid !== latest.metadata.uid) throw newConflict({ resource: "pods" }, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${latest.metadata.uid ?? ""}`);
        if (pre?.resourceVersion && pre.resourceVersion !== latest.metadata.resourceVersion) throw newConflict({ resource: "pods" }, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${latest.metadata.resourceVersion ?? ""}`);
        const status: Obj = structuredClone(isObj(latest.status) ? latest.status : {});
        if (!this.setDisruptionTarget(status)) break;
        try {
          const updated = await this.store.update(this.podDef, ns, name, { ...latest, status }, { subresource: "status" });
          if (pre?.resourceVersion) o = withResourceVersion(options, updated.metadata.resourceVersion);
          break;
        } catch (e) {
          if (!isConflict(e) || attempt >= CONDITION_RETRIES) throw e;
        }
      }
    }
    await this.store.delete(this.podDef, ns, name, o);
  }

  /** podutil.UpdatePodCondition for DisruptionTarget=True EvictionByEvictionAPI; answers whether it changed. */
  private setDisruptionTarget(status: Obj): boolean {
    const conditions: Obj[] = Array.isArray(status.conditions) ? status.conditions : (status.conditions = []);
    const next: Obj = { type: "DisruptionTarget", status: "True", reason: "EvictionByEvictionAPI", message: "Eviction API: evicting", lastProbeTime: null, lastTransitionTime: this.now() };
    const i = conditions.findIndex((c) => c.type === "DisruptionTarget");
    if (i === -1) {
      conditions.push(next);
      return true;
    }
    const old = conditions[i]!;
    if (old.status === next.status) next.lastTransitionTime = old.lastTransitionTime;
    const same = old.status === next.status && old.reason === next.reason && old.message === next.message && (old.lastProbeTime ?? null) === null && old.lastTransitionTime === next.lastTransitionTime;
    conditions[i] = next;
    return !same;
  }
}
