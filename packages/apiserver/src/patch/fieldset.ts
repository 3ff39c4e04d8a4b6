/**
 * Field sets in the managedFields "FieldsV1" format: `f:<field>` for map keys, `k:{json}` for
 * list elements identified by their merge key, `v:<json>` for set elements, and `.` for "this
 * element itself". Lists without a merge key are atomic (owned as one leaf).
 */
import { listStrategy } from "./merge-keys.js";

export type FieldsV1 = { [k: string]: FieldsV1 };
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Fields the server owns, never tracked (as upstream strips them). */
const IGNORED_META = new Set(["name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"]);

/** The field set of an object (apiVersion, kind and server-owned metadata excluded). */
export function fieldSetOf(obj: Record<string, unknown>, opts: { includeStatus?: boolean } = {}): FieldsV1 {
  const out: FieldsV1 = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === "apiVersion" || k === "kind") continue;
    if (k === "status" && !opts.includeStatus) continue;
    if (k === "metadata" && isMap(v)) {
      const meta: FieldsV1 = {};
      for (const [mk, mv] of Object.entries(v)) {
        if (IGNORED_META.has(mk) || mv === undefined) continue;
        meta[`f:${mk}`] = walk(mv, mk, ["metadata"]);
      }
      if (Object.keys(meta).length) out["f:metadata"] = meta;
      continue;
    }
    out[`f:${k}`] = walk(v, k, []);
  }
  return out;
}

function walk(v: unknown, field: string, parentPath: string[]): FieldsV1 {
  if (isMap(v)) {
    const out: FieldsV1 = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[`f:${k}`] = walk(x, k, [...parentPath, field]);
    return out;
  }
  if (Array.isArray(v)) {
    const strategy = listStrategy(field, parentPath);
    if (strategy && "mergeKey" in strategy) {
      const out: FieldsV1 = {};
      for (const el of v) {
        if (!isMap(el)) continue;
        const sub = walk(el, field, parentPath);
        out[`k:${JSON.stringify({ [strategy.mergeKey]: el[strategy.mergeKey] })}`] = { ".": {}, ...sub };
      }
      return out;
    }
    if (strategy && "primitiveMerge" in strategy) {
      const out: FieldsV1 = {};
      for (const el of v) out[`v:${JSON.stringify(el)}`] = {};
      return out;
    }
  }
  return {};
}

/** Leaf paths of a field set, as strings joined with "\u0000" (for set arithmetic). */
export function leaves(fs: FieldsV1, prefix: string[] = []): string[] {
  const out: string[] = [];
  for (const [k, sub] of Object.entries(fs)) {
    if (k === ".") continue;
    const p = [...prefix, k];
    const subs = Object.keys(sub).filter((s) => s !== ".");
    if (subs.length === 0) out.push(p.join("\u0000"));
    else out.push(...leaves(sub, p));
  }
  return out;
}

/** Rebuilds a field set from leaf paths. */
export function fromLeaves(paths: Iterable<string>): FieldsV1 {
  const out: FieldsV1 = {};
  for (const p of paths) {
    let cur = out;
    const segs = p.split("\u0000");
    segs.forEach((s, i) => {
      cur[s] ??= {};
      cur = cur[s]!;
      if (s.startsWith("k:") && i < segs.length - 1) cur["."] ??= {};
    });
  }
  return out;
}

/** A path for messages: `.spec.replicas`, `.spec.containers[name="c"].image`. */
export function displayPath(leaf: string): string {
  return leaf
    .split("\u0000")
    .map((s) => {
      if (s.startsWith("f:")) return `.${s.slice(2)}`;
      if (s.startsWith("k:")) {
        const o = JSON.parse(s.slice(2)) as Record<string, unknown>;
        return `[${Object.entries(o)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(",")}]`;
      }
      if (s.startsWith("v:")) return `[${s.slice(2)}]`;
      return s;
    })
    .join("");
}

/** Reads the value at a leaf path (undefined if absent), for conflict comparison. */
export function valueAt(obj: unknown, leaf: string): unknown {
  let cur: unknown = obj;
  for (const s of leaf.split("\u0000")) {
    if (s.startsWith("f:")) {
      if (!isMap(cur)) return undefined;
      cur = cur[s.slice(2)];
    } else if (s.startsWith("k:")) {
      if (!Array.isArray(cur)) return undefined;
      const key = JSON.parse(s.slice(2)) as Record<string, unknown>;
      cur = cur.find((el) => isMap(el) && Object.entries(key).every(([k, v]) => el[k] === v));
    } else if (s.startsWith("v:")) {
      if (!Array.isArray(cur)) return undefined;
      const want = s.slice(2);
      return cur.some((el) => JSON.stringify(el) === want) ? true : undefined;
    }
  }
  return cur;
}
