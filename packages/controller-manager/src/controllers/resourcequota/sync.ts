/**
 * The resourcequota controller's reconcile (upstream's syncResourceQuota): status.hard becomes
 * spec.hard, status.used every tracked resource's usage recounted from the namespace's objects
 * (the monitors' caches), names the quota no longer limits dropped; the status is written only
 * when it changed, against the quota's resourceVersion (a conflict retries the key). An
 * evaluator that cannot count (a monitor not synced) keeps its old figures and fails the key
 * after the others are written.
 */
import type { Clock, GroupResource, KubeObject, Lister, Logger, QuotaEvaluator, QuotaObject } from "@kubemu/common";
import { Resources, calculateUsage, formatResourceList, listsEqual, maskList, parseResourceList, splitKey } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export interface QuotaSyncDeps {
  client: Pick<ControllerClient, "updateStatus">;
  quotas: Lister<KubeObject>;
  /** The evaluators of every monitored resource. */
  evaluators(): readonly QuotaEvaluator[];
  /** A resource's objects in a namespace from its monitor; throws while it is not monitored or synced. */
  list(gr: GroupResource, namespace: string): QuotaObject[];
  clock: Clock;
  logger: Logger;
}

/** The errors of one sync, reported together (utilerrors.NewAggregate). */
export class QuotaSyncError extends Error {
  constructor(readonly errors: readonly Error[]) {
    super(errors.length === 1 ? errors[0]!.message : `[${errors.map((e) => e.message).join(", ")}]`);
    this.name = "QuotaSyncError";
  }
}

export class ResourceQuotaSync {
  constructor(private readonly d: QuotaSyncDeps) {}

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const quota = this.d.quotas.get(namespace, name);
    if (!quota) {
      this.d.logger.debug({ key }, "Resource quota has been deleted");
      return;
    }
    await this.syncQuota(quota);
  }

  async syncQuota(quota: KubeObject): Promise<void> {
    const spec = isObj(quota.spec) ? quota.spec : {};
    const status = isObj(quota.status) ? quota.status : {};
    const hard = parseResourceList(spec.hard);
    const oldUsed = parseResourceList(status.used);
    // First sync, or an intent not yet captured in status: write even if the counts agree.
    let dirty = status.hard === undefined || status.used === undefined || !listsEqual(hard, parseResourceList(status.hard));
    const { used: counted, errors } = calculateUsage({
      namespace: quota.metadata.namespace ?? "",
      quota,
      evaluators: this.d.evaluators(),
      list: (gr, ns) => this.d.list(gr, ns),
      now: this.d.clock.now(),
    });
    const used = maskList({ ...oldUsed, ...counted }, Object.keys(hard));
    dirty ||= !listsEqual(used, oldUsed);
    const problems = [...errors];
    if (dirty) {
      const next = structuredClone(quota);
      next.status = { hard: formatResourceList(hard), used: formatResourceList(used) };
      try {
        await this.d.client.updateStatus(Resources.resourceQuotas, next);
      } catch (e) {
        problems.push(e instanceof Error ? e : new Error(String(e)));
      }
    }
    if (problems.length === 1) throw problems[0]!;
    if (problems.length > 1) throw new QuotaSyncError(problems);
  }
}
