/**
 * The generic admission plugins that act on many resources: LimitRanger (mutating defaults, then
 * validating limits) and ResourceQuota (validating, last in the chain). This file gives them their
 * reads (watch cache or consistent) and the quota's compare-and-swap on the stored object, and
 * makes them chain plugins (./chain.ts).
 */
import type { Clock } from "@kubemu/common";
import { newNotFound } from "@kubemu/common";
import type { KubeObject, Storage } from "../storage/index.js";
import type { ResourceDef } from "../registry/types.js";
import { keyFor } from "../rest/context.js";
import type { AdmissionPlugin, AdmissionRequest } from "./chain.js";
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

/** The plugins' view of a namespaced write; undefined for what they never see (deletes, cluster-scoped objects). */
function attributes(r: AdmissionRequest) {
  if ((r.operation !== "CREATE" && r.operation !== "UPDATE") || !r.object || !r.def.namespaced || !r.object.metadata.namespace) return undefined;
  return {
    operation: r.operation,
    group: r.def.group,
    resource: r.def.plural,
    ...(r.subresource ? { subresource: r.subresource } : {}),
    namespace: r.object.metadata.namespace,
    object: r.object,
    ...(r.old ? { old: r.old } : {}),
  };
}

export function limitRangerPlugin(deps: ResourceAdmissionDeps): AdmissionPlugin {
  const limitRanger = new LimitRanger({ list: (ns, consistent) => deps.list(deps.def("limitranges"), ns, consistent), now: () => deps.clock.now() });
  return {
    name: "LimitRanger",
    async admit(r) {
      const a = attributes(r);
      // Subresource writes are not defaulted (the store never asked before the chain either).
      if (!a || r.subresource) return;
      // Before a name is generated, messages name the object by its generateName (upstream's extractResourceName).
      await limitRanger.admit({ ...a, name: a.object.metadata.name || a.object.metadata.generateName || "" });
    },
    async validate(r) {
      const a = attributes(r);
      if (a) await limitRanger.validate({ ...a, name: a.object.metadata.name ?? "" });
    },
  };
}

export function resourceQuotaPlugin(deps: ResourceAdmissionDeps): AdmissionPlugin {
  const quotas = deps.def("resourcequotas");
  const quota = new ResourceQuotaAdmission({
    list: (ns, consistent) => deps.list(quotas, ns, consistent),
    update: async (ns, name, next) => {
      await deps.storage(quotas).guaranteedUpdate(keyFor(quotas, ns, name), (cur) => {
        if (!cur) throw newNotFound({ resource: "resourcequotas" }, name);
        return next(cur);
      });
    },
    now: () => deps.clock.now(),
  });
  return {
    name: "ResourceQuota",
    async validate(r) {
      const a = attributes(r);
      if (a) await quota.validate({ ...a, name: a.object.metadata.name ?? "", dryRun: r.dryRun });
    },
  };
}
