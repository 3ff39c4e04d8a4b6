/**
 * Quantity strings read as numbers, memoised: a cluster's pods repeat the same few request strings
 * ("100m", "128Mi"), and parsing them in the filter loop would dominate a scheduling cycle.
 * Malformed strings (the API server rejects them, so only hand-made objects carry them) read as 0.
 */
import { parseQuantity, quantityMilliValue, quantityValue } from "@kubemu/common";

/** The memo is dropped when it grows past this many distinct strings. */
const MEMO_LIMIT = 4096;
const milliMemo = new Map<string, number>();
const valueMemo = new Map<string, number>();

function memoised(memo: Map<string, number>, s: string, read: (s: string) => number): number {
  const hit = memo.get(s);
  if (hit !== undefined) return hit;
  let v: number;
  try {
    v = read(s);
  } catch {
    v = 0;
  }
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(s, v);
  return v;
}

/** `resource.MustParse(s).MilliValue()`. */
export function milliValueOf(s: string | number): number {
  return memoised(milliMemo, String(s), (t) => quantityMilliValue(parseQuantity(t)));
}

/** `resource.MustParse(s).Value()`. */
export function valueOf(s: string | number): number {
  return memoised(valueMemo, String(s), (t) => quantityValue(parseQuantity(t)));
}
