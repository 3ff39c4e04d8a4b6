/**
 * Resource lists (`{cpu: 100m, memory: 64Mi}`) and their arithmetic, as apimachinery's
 * `quota/v1` helpers do it: exact quantities (never floats), sums keeping the first operand's
 * format unless it is zero (upstream's `Quantity.Add`), masks, comparisons that report which
 * names exceed. The quota admission plugin and the resourcequota controller share these.
 */
import { compareQuantities, formatQuantity, parseQuantity, quantitySign, type Quantity } from "../quantity/index.js";

/** Any object with a spec (and maybe status): a pod, a claim, a quota. */
export interface SpecHolder {
  metadata?: unknown;
  spec?: unknown;
  status?: unknown;
}

/** Resource name → quantity. */
export type ResourceList = Record<string, Quantity>;

const ZERO: Quantity = { mantissa: 0n, exponent: 0, format: "DecimalSI" };

/** A quantity of whole units in DecimalSI (upstream's `resource.NewQuantity(n, DecimalSI)`). */
export function wholeQuantity(n: number): Quantity {
  return { mantissa: BigInt(n), exponent: 0, format: "DecimalSI" };
}

/** Reads a resource list from an object's map of quantity strings; entries that are not quantities are left out. */
export function parseResourceList(v: unknown): ResourceList {
  const out: ResourceList = {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) return out;
  for (const [k, q] of Object.entries(v as Record<string, unknown>)) {
    if (typeof q !== "string" && typeof q !== "number") continue;
    try {
      out[k] = parseQuantity(String(q).trim());
    } catch {
      // Stored objects hold canonical quantities; anything else cannot be counted.
    }
  }
  return out;
}

/** The list as the API writes it: canonical strings. */
export function formatResourceList(list: ResourceList): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(list)) out[k] = formatQuantity(list[k]!);
  return out;
}

/** a + b, in a's format unless a is zero (then b's), as `Quantity.Add`. */
export function addQuantity(a: Quantity, b: Quantity): Quantity {
  const e = Math.min(a.exponent, b.exponent);
  const mantissa = a.mantissa * 10n ** BigInt(a.exponent - e) + b.mantissa * 10n ** BigInt(b.exponent - e);
  return { mantissa, exponent: e, format: a.mantissa === 0n ? b.format : a.format };
}

/** -q. */
export function negateQuantity(q: Quantity): Quantity {
  return { ...q, mantissa: -q.mantissa };
}

/** a - b, in a's format unless a is zero. */
export function subtractQuantity(a: Quantity, b: Quantity): Quantity {
  return addQuantity(a, negateQuantity(b));
}

/** The larger of a and b (b on a tie, as upstream's max helpers take the other on `<=`). */
export function maxQuantity(a: Quantity, b: Quantity): Quantity {
  return compareQuantities(a, b) <= 0 ? b : a;
}

/** `quota.Add`: every name of either list, summed where both have it. */
export function addLists(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(a)) out[k] = b[k] ? addQuantity(v, b[k]) : v;
  for (const [k, v] of Object.entries(b)) if (!(k in out)) out[k] = v;
  return out;
}

/** `quota.Subtract`: a - b for every name of either list (names only in b come out negative). */
export function subtractLists(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(a)) out[k] = b[k] ? subtractQuantity(v, b[k]) : v;
  for (const [k, v] of Object.entries(b)) if (!(k in out)) out[k] = negateQuantity(v);
  return out;
}

/** `quota.SubtractWithNonNegativeResult`: a - b, never below zero; names only in b are zero. */
export function subtractListsNonNegative(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(a)) {
    const d = b[k] ? subtractQuantity(v, b[k]) : v;
    out[k] = quantitySign(d) > 0 ? d : ZERO;
  }
  for (const k of Object.keys(b)) if (!(k in out)) out[k] = ZERO;
  return out;
}

/** `quota.Max`: the larger value of each name of either list. */
export function maxLists(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(a)) out[k] = b[k] ? maxQuantity(v, b[k]) : v;
  for (const [k, v] of Object.entries(b)) if (!(k in out)) out[k] = v;
  return out;
}

/** `quota.Mask`: only the named entries. */
export function maskList(list: ResourceList, names: Iterable<string>): ResourceList {
  const keep = new Set(names);
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(list)) if (keep.has(k)) out[k] = v;
  return out;
}

/** `quota.Equals`: the same names with equal values. */
export function listsEqual(a: ResourceList, b: ResourceList): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => b[k] !== undefined && compareQuantities(a[k]!, b[k]) === 0);
}

/** `quota.LessThanOrEqual`: whether a ≤ b for every name of b that a has, and the names of a that exceed. */
export function lessThanOrEqual(a: ResourceList, b: ResourceList): { allowed: boolean; exceeded: string[] } {
  const exceeded: string[] = [];
  for (const [k, limit] of Object.entries(b)) if (a[k] && compareQuantities(a[k], limit) > 0) exceeded.push(k);
  return { allowed: exceeded.length === 0, exceeded };
}

/** `quota.RemoveZeros`. */
export function removeZeros(list: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(list)) if (quantitySign(v) !== 0) out[k] = v;
  return out;
}

/** `quota.IsNegative`: names whose value is below zero. */
export function negativeNames(list: ResourceList): string[] {
  return Object.keys(list).filter((k) => quantitySign(list[k]!) < 0);
}

/** `quota.Intersection`: names in both, deduplicated and sorted. */
export function intersectNames(a: Iterable<string>, b: Iterable<string>): string[] {
  const inB = new Set(b);
  return [...new Set([...a].filter((x) => inB.has(x)))].sort();
}

/** `quota.Difference`: names of a not in b, deduplicated and sorted. */
export function subtractNames(a: Iterable<string>, b: Iterable<string>): string[] {
  const inB = new Set(b);
  return [...new Set([...a].filter((x) => !inB.has(x)))].sort();
}

/** `prettyPrint` of the quota admission: `limits.cpu=2,limits.memory=1Gi`, names sorted. */
export function prettyPrintList(list: ResourceList): string {
  return Object.keys(list)
    .sort()
    .map((k) => `${k}=${formatQuantity(list[k]!)}`)
    .join(",");
}
