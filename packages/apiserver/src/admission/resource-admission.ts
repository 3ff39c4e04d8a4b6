/**
 * The generic admission plugins that act on many resources, in upstream's chain order: the
 * mutating LimitRanger (before the kinds' own plugins: ServiceAccount, Priority,
 * DefaultTolerationSeconds), then, after the object passed validation, the validating
 * LimitRanger and ResourceQuota last. The generic store calls `mutate` and `validate`; this
 * file gives the plugins their reads (watch cache or consistent) and the quota's
 * compare-and-swap on the stored object.
 */
import type { Clock } from "@kubemu/common";
import { newNotFound } from "@kubemu/common";
import type { KubeObject, Storage } from "../storage/index.js";
import type { ResourceDef } from "../registry/types.js";
import { keyFor } from "../rest/context.js";
import { LimitRanger } from "./limit-ranger.js";
import { ResourceQuotaAdmission } from "./resource-quota.js";

export interface ResourceAdmissionDeps {
  /** The registry's declaration of a core/v1 resource. */
  def(plural: string): ResourceDef;
  /** Objects of a namespace: from the watch cache, or read consistently. */
  list(def: ResourceDef, namespace: string, consistent: boolean): Promise<KubeObject[]>;
  storage(def: ResourceDef): Storage;
  clock: Clock;
}

/** A write as these plugins see it. */
export interface WriteAttributes {
  operation: "CREATE" | "UPDATE";
  object: KubeObject;
  old?: KubeObject;
  subresource?: string;
  dryRun?: boolean;
}

export class ResourceAdmission {
  readonly limitRanger: LimitRanger;
  readonly quota: ResourceQuotaAdmission;

  constructor(deps: ResourceAdmissionDeps) {
    const now = () => deps.clock.now();
    this.limitRanger = new LimitRanger({ list: (ns, consistent) => deps.list(deps.def("limitranges"), ns, consistent), now });
    const quotas = deps.def("resourcequotas");
    this.quota = new ResourceQuotaAdmission({
      list: (ns, consistent) => deps.list(quotas, ns, consistent),
      update: async (ns, name, next) => {
        await deps.storage(quotas).guaranteedUpdate(keyFor(quotas, ns, name), (cur) => {
          if (!cur) throw newNotFound({ resource: "resourcequotas" }, name);
          return next(cur);
        });
      },
      now,
    });
  }

  /** Mutating admission (LimitRanger's defaults); before the kind's own plugins. */
  async mutate(def: ResourceDef, w: WriteAttributes): Promise<void> {
    if (!def.namespaced || !w.object.metadata.namespace) return;
    // Before a name is generated, messages name the object by its generateName (upstream's extractResourceName).
    const name = w.object.metadata.name || w.object.metadata.generateName || "";
    await this.limitRanger.admit({ ...this.common(def, w), name });
  }

  /** Validating admission (LimitRanger's checks, then ResourceQuota); after validation, before storage. */
  async validate(def: ResourceDef, w: WriteAttributes): Promise<void> {
    if (!def.namespaced || !w.object.metadata.namespace) return;
    const attrs = { ...this.common(def, w), name: w.object.metadata.name ?? "" };
    await this.limitRanger.validate(attrs);
    await this.quota.validate({ ...attrs, dryRun: w.dryRun ?? false });
  }

  private common(def: ResourceDef, w: WriteAttributes) {
    return {
      operation: w.operation,
      group: def.group,
      resource: def.plural,
      ...(w.subresource ? { subresource: w.subresource } : {}),
      namespace: w.object.metadata.namespace!,
      object: w.object,
      ...(w.old ? { old: w.old } : {}),
    };
  }
}
