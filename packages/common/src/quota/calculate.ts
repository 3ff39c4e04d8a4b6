/**
 * A quota's usage recounted from the namespace's objects (upstream's quota.CalculateUsage and
 * generic.CalculateUsageStats), as the resourcequota controller does on every sync: each
 * evaluator that feeds one of the quota's hard resources sums the usage of the objects that
 * match the quota's scopes; names the quota does not limit are dropped.
 */
import type { QuotaEvaluator, QuotaObject, GroupResource } from "./evaluators.js";
import { addLists, wholeQuantity, subtractNames, intersectNames, maskList, parseResourceList, type ResourceList, type SpecHolder } from "./resource-list.js";
import { quotaScopeSelectors } from "./scopes.js";

export interface CalculateUsageInput {
  namespace: string;
  /** The quota (its spec's hard limits, scopes and scopeSelector). */
  quota: SpecHolder;
  evaluators: readonly QuotaEvaluator[];
  /** The objects of a resource in a namespace (throws when they cannot be listed, e.g. a cache not synced). */
  list(gr: GroupResource, namespace: string): QuotaObject[];
  now: number;
}

export interface CalculatedUsage {
  used: ResourceList;
  /** Evaluators that failed; their resources are left out of `used`. */
  errors: Error[];
}

export function calculateUsage(input: CalculateUsageInput): CalculatedUsage {
  const spec = (typeof input.quota.spec === "object" && input.quota.spec !== null ? input.quota.spec : {}) as Record<string, unknown>;
  const hard = Object.keys(parseResourceList(spec.hard));
  const potential = input.evaluators.flatMap((e) => e.matchingResources(hard));
  let matched = intersectNames(hard, potential);
  const selectors = quotaScopeSelectors(input.quota);
  const errors: Error[] = [];
  let used: ResourceList = {};
  for (const e of input.evaluators) {
    const resources = e.matchingResources(matched);
    if (resources.length === 0) continue;
    // Every tracked resource starts at zero, so a quota with nothing to count shows 0, not nothing.
    let stats: ResourceList = Object.fromEntries(resources.map((r) => [r, wholeQuantity(0)]));
    let items: QuotaObject[];
    try {
      items = input.list(e.groupResource, input.namespace);
    } catch (err) {
      errors.push(new Error(`failed to list content: ${err instanceof Error ? err.message : String(err)}`));
      matched = subtractNames(matched, resources);
      continue;
    }
    for (const item of items) {
      let inScope: boolean;
      try {
        inScope = selectors.every((s) => e.matchesScope(s, item));
      } catch {
        // Upstream stops counting at a selector it cannot evaluate and reports what it has.
        break;
      }
      if (inScope) stats = addLists(stats, e.usage(item, input.now));
    }
    used = addLists(used, stats);
  }
  return { used: maskList(used, matched), errors };
}
