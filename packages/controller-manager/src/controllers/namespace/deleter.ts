/**
 * Emptying a terminating namespace (upstream's namespaced_resources_deleter.go): from a fresh read
 * of the namespace, make sure it is Terminating, delete every namespaced resource in it
 * (deletecollection, or list and delete one by one where that is not served; Background
 * propagation, so the garbage collector adds no orphan finalizer), check nothing is left, record
 * the deletion conditions, and only then remove the `kubernetes` finalizer through the finalize
 * subresource — the API server deletes the namespace once no finalizer is left. Content still
 * going away is a ResourcesRemainingError carrying an estimate of how long to wait.
 */
import type { Clock, KubeObject, Logger, ResourceRef } from "@kubemu/common";
import { StatusError, isConflict, isNotFound } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import { NamespaceConditionUpdater, type ContentTotals, type NamespaceCondition } from "./conditions.js";

/** The finalizer the namespace controller owns in spec.finalizers. */
export const FINALIZER_KUBERNETES = "kubernetes";
/** How long content held by finalizers is assumed to take (finalizerEstimateSeconds). */
export const FINALIZER_ESTIMATE_SECONDS = 15;

export class ResourcesRemainingError extends Error {
  constructor(readonly estimate: number) {
    super(`some content remains in the namespace, estimate ${estimate} seconds before it is removed`);
    this.name = "ResourcesRemainingError";
  }
}

export interface NamespaceObject extends KubeObject {
  spec?: { finalizers?: string[] };
  status?: { phase?: string; conditions?: NamespaceCondition[] };
}

/** What discovery answered: the namespaced resources to empty, and what failed to be discovered (content is still deleted for the rest). */
export interface Discovery {
  resources: ResourceRef[];
  error?: { message: string; failedGroups?: number };
}

export interface DeleterDeps {
  client: ControllerClient;
  /** The namespaced resources served now (built-ins and custom resources). */
  discover(): Discovery;
  clock: Clock;
  logger: Logger;
}

const NAMESPACES: ResourceRef = Object.freeze({ group: "", version: "v1", resource: "namespaces", kind: "Namespace", namespaced: false });
const PODS_KEY = "/pods";

const errMessage = (e: unknown) => (e instanceof Error ? e.message : String(e));
/** MethodNotAllowed or NotFound: the verb is not served for this resource (upstream treats both so). */
const notSupported = (e: unknown) => isNotFound(e) || (e instanceof StatusError && e.status.reason === "MethodNotAllowed");
/** client-go's GroupVersionResource String(): `apps/v1, Resource=deployments`, `/v1, Resource=pods`. */
const gvrString = (r: ResourceRef) => `${r.group}/${r.version}, Resource=${r.resource}`;
/** utilerrors.NewAggregate's message. */
const aggregate = (msgs: string[]) => (msgs.length === 1 ? msgs[0]! : `[${msgs.join(", ")}]`);
const rfc3339 = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

interface GvrResult {
  estimate: number;
  remaining: number;
  finalizers: Map<string, number>;
}

export class NamespacedResourcesDeleter {
  /** Verbs found not served, per resource ("deletecollection apps/v1/x"): not tried again. */
  private readonly unsupported = new Set<string>();

  constructor(private readonly d: DeleterDeps) {}

  /** Delete(nsName): resolves when the namespace is finalized (or gone); throws ResourcesRemainingError to be retried later. */
  async delete(name: string): Promise<void> {
    let ns: NamespaceObject;
    try {
      ns = await this.d.client.get<NamespaceObject>(NAMESPACES, undefined, name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (!ns.metadata.deletionTimestamp) return;
    try {
      ns = await this.retryOnConflict(ns, (n) => this.ensureTerminating(n));
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (!ns.metadata.deletionTimestamp) return;
    if ((ns.spec?.finalizers ?? []).length === 0) return;
    const estimate = await this.deleteAllContent(ns);
    if (estimate > 0) throw new ResourcesRemainingError(estimate);
    try {
      await this.retryOnConflict(ns, (n) => this.finalize(n));
    } catch (e) {
      // Another controller with the same finalizer finished first.
      if (isNotFound(e)) return;
      throw e;
    }
  }

  /** Retries fn on conflicts with the latest namespace; a namespace replaced by another uid meanwhile is an error. */
  private async retryOnConflict(ns: NamespaceObject, fn: (ns: NamespaceObject) => Promise<NamespaceObject>): Promise<NamespaceObject> {
    let latest = ns;
    for (;;) {
      try {
        return await fn(latest);
      } catch (e) {
        if (!isConflict(e)) throw e;
        const prev = latest;
        latest = await this.d.client.get<NamespaceObject>(NAMESPACES, undefined, prev.metadata.name!);
        if (latest.metadata.uid !== prev.metadata.uid) throw new Error("namespace uid has changed across retries");
      }
    }
  }

  private async ensureTerminating(ns: NamespaceObject): Promise<NamespaceObject> {
    if (!ns.metadata.deletionTimestamp || ns.status?.phase === "Terminating") return ns;
    return this.d.client.updateStatus<NamespaceObject>(NAMESPACES, { ...ns, status: { ...(ns.status ?? {}), phase: "Terminating" } });
  }

  /** spec.finalizers without `kubernetes` (sorted, as upstream's set), through the finalize subresource. */
  private async finalize(ns: NamespaceObject): Promise<NamespaceObject> {
    const finalizers = [...new Set((ns.spec?.finalizers ?? []).filter((f) => f !== FINALIZER_KUBERNETES))].sort();
    try {
      return await this.d.client.update<NamespaceObject>(NAMESPACES, { ...ns, spec: { ...(ns.spec ?? {}), finalizers } }, { subresource: "finalize" });
    } catch (e) {
      if (isNotFound(e)) return ns;
      throw e;
    }
  }

  /** Deletes everything in the namespace; answers the estimate (seconds) until what remains is gone, 0 when nothing does. */
  async deleteAllContent(ns: NamespaceObject): Promise<number> {
    const namespace = ns.metadata.name!;
    const deletedAt = Date.parse(ns.metadata.deletionTimestamp!);
    const conditions = new NamespaceConditionUpdater(rfc3339(this.d.clock.now()));
    const errors: string[] = [];
    const discovery = this.d.discover();
    if (discovery.error) {
      // Not fatal: the resources that were discovered are still emptied.
      errors.push(discovery.error.message);
      conditions.processDiscoveryError(discovery.error.message, discovery.error.failedGroups);
    }
    const totals: ContentTotals = { resourcesRemaining: new Map(), finalizersRemaining: new Map() };
    let estimate = 0;
    for (const r of discovery.resources) {
      let result: GvrResult;
      try {
        result = await this.deleteAllContentFor(r, namespace, deletedAt);
      } catch (e) {
        const failed = e as Error & { partial?: GvrResult };
        errors.push(errMessage(e));
        conditions.processDeleteContentError(errMessage(e));
        if (!failed.partial) continue;
        result = failed.partial;
      }
      estimate = Math.max(estimate, result.estimate);
      if (result.remaining > 0) {
        totals.resourcesRemaining.set(`${r.resource}.${r.group}`, result.remaining);
        for (const [f, n] of result.finalizers) if (n > 0) totals.finalizersRemaining.set(f, (totals.finalizersRemaining.get(f) ?? 0) + n);
      }
    }
    conditions.processContentTotals(totals);
    // Always written when changed: a condition that failed before and is fine now must say so.
    const { conditions: next, changed } = conditions.update(ns.status?.conditions ?? []);
    if (changed) {
      try {
        await this.d.client.updateStatus(NAMESPACES, { ...ns, status: { ...(ns.status ?? {}), conditions: next } });
      } catch (e) {
        this.d.logger.warn({ namespace, err: errMessage(e) }, `couldn't update status condition for namespace "${namespace}"`);
      }
    }
    if (errors.length > 0) throw new Error(aggregate(errors));
    return estimate;
  }

  /**
   * Empties one resource in the namespace: estimate (pods' grace periods), delete the collection
   * (or each item), then list what is left. Items left without finalizers and without an
   * estimate are unexpected: an error, with what remains attached as `partial`.
   */
  private async deleteAllContentFor(r: ResourceRef, namespace: string, deletedAt: number): Promise<GvrResult> {
    const estimate = await this.estimateGracefulTermination(r, namespace, deletedAt);
    const withEstimate = (e: unknown) => Object.assign(e instanceof Error ? e : new Error(String(e)), { partial: { estimate, remaining: 0, finalizers: new Map() } });
    try {
      if (!(await this.deleteCollection(r, namespace))) await this.deleteEachItem(r, namespace);
    } catch (e) {
      throw withEstimate(e);
    }
    let items: KubeObject[] | undefined;
    try {
      items = await this.listCollection(r, namespace);
    } catch (e) {
      throw withEstimate(e);
    }
    if (!items || items.length === 0) return { estimate: items ? 0 : estimate, remaining: 0, finalizers: new Map() };
    const finalizers = new Map<string, number>();
    for (const item of items) for (const f of item.metadata.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
    if (estimate !== 0) return { estimate, remaining: items.length, finalizers };
    // Finalizers are normal: allow the default estimate for whoever removes them (the garbage collector…).
    if (finalizers.size > 0) return { estimate: FINALIZER_ESTIMATE_SECONDS, remaining: items.length, finalizers };
    throw Object.assign(new Error(`unexpected items still remain in namespace: ${namespace} for gvr: ${gvrString(r)}`), { partial: { estimate, remaining: items.length, finalizers } });
  }

  /** True when deletecollection is served (and was sent); false when it is not. */
  private async deleteCollection(r: ResourceRef, namespace: string): Promise<boolean> {
    const key = `deletecollection ${r.group}/${r.version}/${r.resource}`;
    if (this.unsupported.has(key)) return false;
    try {
      await this.d.client.deleteCollection(r, { namespace, propagationPolicy: "Background" });
      return true;
    } catch (e) {
      if (!notSupported(e)) throw e;
      this.unsupported.add(key);
      return false;
    }
  }

  /** The items of r in the namespace, or undefined when list is not served. */
  private async listCollection(r: ResourceRef, namespace: string): Promise<KubeObject[] | undefined> {
    const key = `list ${r.group}/${r.version}/${r.resource}`;
    if (this.unsupported.has(key)) return undefined;
    try {
      return (await this.d.client.list(r, { namespace })).items;
    } catch (e) {
      if (!notSupported(e)) throw e;
      this.unsupported.add(key);
      return undefined;
    }
  }

  private async deleteEachItem(r: ResourceRef, namespace: string): Promise<void> {
    const items = await this.listCollection(r, namespace);
    for (const item of items ?? []) {
      try {
        await this.d.client.delete(r, namespace, item.metadata.name!, { propagationPolicy: "Background" });
      } catch (e) {
        if (!isNotFound(e) && !notSupported(e)) throw e;
      }
    }
  }

  /**
   * How long the resource's content may still take: for pods, the longest grace period of the
   * non-terminal ones — 0 once that long has passed since the namespace's deletion.
   */
  private async estimateGracefulTermination(r: ResourceRef, namespace: string, deletedAt: number): Promise<number> {
    if (`${r.group}/${r.resource}` !== PODS_KEY) return 0;
    const pods = (await this.d.client.list(r, { namespace })).items as (KubeObject & { spec?: { terminationGracePeriodSeconds?: number }; status?: { phase?: string } })[];
    let estimate = 0;
    for (const p of pods) {
      const phase = p.status?.phase;
      if (phase === "Succeeded" || phase === "Failed") continue;
      const grace = p.spec?.terminationGracePeriodSeconds;
      if (typeof grace === "number" && grace > estimate) estimate = grace;
    }
    return this.d.clock.now() - deletedAt >= estimate * 1000 ? 0 : estimate;
  }
}
