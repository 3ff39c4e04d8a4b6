/** Strategic-merge list strategies of a kind from its OpenAPI schema (x-kubernetes-patch-* extensions). */
import { patchMergeKeys } from "../openapi/index.js";
import type { ResourceDef } from "../registry/types.js";
import type { ListStrategy } from "./merge-keys.js";
import type { StrategyOf } from "./strategic.js";
import { listStrategy } from "./merge-keys.js";

const cache = new Map<ResourceDef, StrategyOf>();

/** The kind's schema-derived strategies; kinds without a schema use the built-in table. */
export function strategyFor(def: ResourceDef): StrategyOf {
  if (def.listStrategy) return def.listStrategy;
  const cached = cache.get(def);
  if (cached) return cached;
  const meta = patchMergeKeys(def.group, def.version, def.kind);
  const fn: StrategyOf =
    meta.size === 0
      ? (path) => listStrategy(path[path.length - 1]!, path.slice(0, -1))
      : (path): ListStrategy => {
          const m = meta.get(path.join("."));
          if (!m || !m.strategy.split(",").includes("merge")) return undefined;
          return m.mergeKey ? { mergeKey: m.mergeKey } : { primitiveMerge: true };
        };
  cache.set(def, fn);
  return fn;
}
