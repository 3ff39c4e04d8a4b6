/**
 * Informers for the API server's own control loops (CRD controller, endpoint reconciler): the
 * common library's SharedInformer, listing and watching this server's generic store directly
 * instead of over the wire, so these loops have the same shape as every component's.
 */
import type { KubeList, KubeObject } from "@kubemu/common";
import type { ListerWatcher } from "@kubemu/common";
import { apiVersionOf } from "@kubemu/common";
import type { ResourceDef } from "../registry/types.js";
import type { ResourceStore } from "../rest/store.js";

export interface LocalScope {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** A list + watch of one resource on this server's store (def is looked up on each call: CRDs come and go). */
export function storeListerWatcher(store: ResourceStore, def: () => ResourceDef, scope: LocalScope = {}): ListerWatcher<KubeObject> {
  const query = { ...(scope.labelSelector ? { labelSelector: scope.labelSelector } : {}), ...(scope.fieldSelector ? { fieldSelector: scope.fieldSelector } : {}) };
  return {
    async list({ resourceVersion }): Promise<KubeList> {
      const d = def();
      const res = await store.list(d, scope.namespace, { ...query, ...(resourceVersion ? { resourceVersion } : {}) });
      return { apiVersion: apiVersionOf(d), kind: d.listKind ?? `${d.kind}List`, metadata: { resourceVersion: res.resourceVersion }, items: res.items };
    },
    watch({ resourceVersion, signal }) {
      return store.watch(def(), scope.namespace, { ...query, resourceVersion, allowBookmarks: true, signal });
    },
  };
}
