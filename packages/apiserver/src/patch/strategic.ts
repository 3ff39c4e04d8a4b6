/**
 * Strategic merge patch (application/strategic-merge-patch+json) for the built-in kinds: maps
 * merge, `null` deletes, lists with a patch-merge key merge element-wise, primitive merge lists
 * union, other lists replace. Directives: `$patch: replace|delete|merge`, `$setElementOrder/<list>`,
 * `$retainKeys`, `$deleteFromPrimitiveList/<list>`.
 */
import { newBadRequest } from "@kubemu/common";
import { listStrategy, type ListStrategy } from "./merge-keys.js";

type Map = Record<string, unknown>;
const isMap = (v: unknown): v is Map => typeof v === "object" && v !== null && !Array.isArray(v);

const SET_ORDER = "$setElementOrder/";
const DELETE_PRIMITIVE = "$deleteFromPrimitiveList/";

/** How a list at a field path (names from the root, list indexes left out) merges. */
export type StrategyOf = (path: readonly string[]) => ListStrategy;

/** The built-in table, keyed by field name and parent (used when no schema is known). */
const tableStrategy: StrategyOf = (path) => listStrategy(path[path.length - 1]!, path.slice(0, -1));

/**
 * Applies patch to a copy of original; returns the result. `strategyOf` gives each list's
 * merge strategy (from the kind's schema); the built-in table is the fallback.
 */
export function applyStrategicMergePatch(original: unknown, patch: unknown, strategyOf: StrategyOf = tableStrategy): unknown {
  if (!isMap(patch)) throw newBadRequest("strategic merge patch must be a JSON object");
  return mergeMap(isMap(original) ? structuredClone(original) : {}, patch, [], strategyOf);
}

function mergeMap(orig: Map, patch: Map, path: string[], strategyOf: StrategyOf): Map | undefined {
  const directive = patch.$patch;
  if (directive === "delete") return undefined;
  if (directive === "replace") {
    const { $patch: _p, ...rest } = patch;
    return stripDirectives(rest) as Map;
  }
  if (directive !== undefined && directive !== "merge") throw newBadRequest(`Unknown patch type: ${String(directive)}`);

  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys.map(String));
    for (const k of Object.keys(orig)) if (!keep.has(k)) delete orig[k];
  }
  const orders: [string, unknown[]][] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$patch" || k === "$retainKeys") continue;
    if (k.startsWith(SET_ORDER)) {
      if (Array.isArray(v)) orders.push([k.slice(SET_ORDER.length), v]);
      continue;
    }
    if (k.startsWith(DELETE_PRIMITIVE)) {
      const list = k.slice(DELETE_PRIMITIVE.length);
      if (Array.isArray(orig[list]) && Array.isArray(v)) {
        const drop = new Set(v.map((x) => JSON.stringify(x)));
        orig[list] = (orig[list] as unknown[]).filter((x) => !drop.has(JSON.stringify(x)));
      }
      continue;
    }
    if (v === null) {
      delete orig[k];
      continue;
    }
    const cur = orig[k];
    if (isMap(v)) {
      const merged = mergeMap(isMap(cur) ? cur : {}, v, [...path, k], strategyOf);
      if (merged === undefined) delete orig[k];
      else orig[k] = merged;
    } else if (Array.isArray(v)) {
      orig[k] = mergeList(Array.isArray(cur) ? cur : [], v, strategyOf([...path, k]), [...path, k], strategyOf);
    } else orig[k] = v;
  }
  for (const [list, order] of orders) {
    if (Array.isArray(orig[list])) orig[list] = reorder(orig[list] as unknown[], order, strategyOf([...path, list]));
  }
  return orig;
}

function mergeList(orig: unknown[], patch: unknown[], strategy: ListStrategy, path: string[], strategyOf: StrategyOf): unknown[] {
  if (strategy === undefined) return stripDirectives(patch) as unknown[];
  if ("primitiveMerge" in strategy) {
    const out = [...orig];
    for (const v of patch) if (!out.some((x) => JSON.stringify(x) === JSON.stringify(v))) out.push(v);
    return out;
  }
  const key = strategy.mergeKey;
  if (patch.some((p) => isMap(p) && p.$patch === "replace")) return stripDirectives(patch.filter((p) => !(isMap(p) && p.$patch === "replace"))) as unknown[];
  const out = orig.map((x) => x);
  for (const p of patch) {
    if (!isMap(p)) throw newBadRequest(`strategic merge patch: list "${path.join(".")}" elements must be objects with a "${key}"`);
    const k = p[key];
    const i = out.findIndex((x) => isMap(x) && x[key] === k);
    if (p.$patch === "delete") {
      if (i !== -1) out.splice(i, 1);
      continue;
    }
    if (i === -1) out.push(stripDirectives(p));
    else {
      const merged = mergeMap(structuredClone(out[i] as Map), p, path, strategyOf);
      if (merged === undefined) out.splice(i, 1);
      else out[i] = merged;
    }
  }
  return out;
}

/** Orders a merged list as `$setElementOrder` says; elements it does not name keep their relative order at the end. */
function reorder(list: unknown[], order: unknown[], strategy: ListStrategy): unknown[] {
  const keyOf = (x: unknown) =>
    strategy && "mergeKey" in strategy ? JSON.stringify(isMap(x) ? x[strategy.mergeKey] : undefined) : JSON.stringify(x);
  const wanted = order.map(keyOf);
  const named = wanted.map((k) => list.find((x) => keyOf(x) === k)).filter((x) => x !== undefined);
  const rest = list.filter((x) => !wanted.includes(keyOf(x)));
  return [...named, ...rest];
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isMap(v)) return v;
  const out: Map = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === "$patch" || k === "$retainKeys" || k.startsWith(SET_ORDER) || k.startsWith(DELETE_PRIMITIVE)) continue;
    if (x === null) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}
