/**
 * Quantities as plain numbers, the way apimachinery's `Quantity.Value()` and `MilliValue()` read
 * them: the value scaled to units (or thousandths) and rounded up to the next integer. Values past
 * the int64 range saturate at ±(2^63 - 1), as upstream's int64 results do; they are returned as
 * JavaScript numbers, so magnitudes above 2^53 lose their last digits (resource arithmetic in the
 * scheduler never gets near that).
 */
import type { Quantity } from "./quantity.js";

const INT64_MAX = 2 ** 63 - 1;

/** value × 10^-scale rounded up (toward +∞), as a number. */
function scaledCeil(q: Quantity, scale: number): number {
  const { mantissa } = q;
  if (mantissa === 0n) return 0;
  const shift = q.exponent - scale;
  const negative = mantissa < 0n;
  const magnitude = negative ? -mantissa : mantissa;
  // More than 19 decimal digits is past int64 whatever the mantissa is.
  if (shift > 0 && magnitude.toString().length + shift > 19) return negative ? -INT64_MAX : INT64_MAX;
  let v: bigint;
  if (shift >= 0) v = mantissa * 10n ** BigInt(shift);
  else {
    const div = 10n ** BigInt(-shift);
    // Round toward +∞: positive values round up, negative values truncate toward zero.
    v = negative ? -(magnitude / div) : (magnitude + div - 1n) / div;
  }
  const n = Number(v);
  return n > INT64_MAX ? INT64_MAX : n < -INT64_MAX ? -INT64_MAX : n;
}

/** `Quantity.Value()`: the value in whole units, rounded up (`1.5` → 2, `1Ki` → 1024). */
export function quantityValue(q: Quantity): number {
  return scaledCeil(q, 0);
}

/** `Quantity.MilliValue()`: the value in thousandths, rounded up (`100m` → 100, `1` → 1000). */
export function quantityMilliValue(q: Quantity): number {
  return scaledCeil(q, -3);
}
