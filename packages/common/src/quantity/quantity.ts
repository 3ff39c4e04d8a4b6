/**
 * Kubernetes resource quantities (`500m`, `1Gi`, `1e3`), parsed and printed the way
 * apimachinery's `resource.Quantity` does: exact fixed-point values (never floats), the input's
 * format remembered, and the canonical form on output (the largest suffix that keeps the value
 * exact, no fractional digits). The value is `mantissa × 10^exponent`, so huge exponents such as
 * `1e999999` never materialise a huge number.
 */

/** How a quantity is printed: `12Mi` (BinarySI), `12M` (DecimalSI) or `12e6` (DecimalExponent). */
export type QuantityFormat = "DecimalSI" | "BinarySI" | "DecimalExponent";

/** A parsed quantity: value = mantissa × 10^exponent, printed in `format`. */
export interface Quantity {
  readonly mantissa: bigint;
  readonly exponent: number;
  readonly format: QuantityFormat;
}

/** The regular expression upstream names in its format error (its scanner is stricter). */
export const QUANTITY_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

/** A string that is not a quantity; the message is upstream's error text. */
export class QuantityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QuantityError";
  }
}

const formatWrong = () => new QuantityError(`quantities must match the regular expression '${QUANTITY_PATTERN}'`);
const suffixWrong = () => new QuantityError("unable to parse quantity's suffix");

const DECIMAL_SUFFIXES: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_BY_EXPONENT = new Map(Object.entries(DECIMAL_SUFFIXES).map(([s, e]) => [e, s]));
const BINARY_BY_POWER = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
const SUFFIX_CHARS = "eEinumkKMGTP";
/** BinarySI values are capped at the int64 maximum, as upstream does. */
const MAX_BINARY = (1n << 63n) - 1n;
/** Values finer than this power of ten are rounded away from zero (upstream keeps nano). */
const NANO = -9;

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
const abs = (v: bigint) => (v < 0n ? -v : v);
const pow10 = (n: number) => 10n ** BigInt(n);

interface Scanned {
  negative: boolean;
  /** Integer digits without leading zeros ("" for none). */
  whole: string;
  /** Fraction digits ("" for none). */
  fraction: string;
  suffix: string;
}

/** Splits `[+-]digits[.digits]suffix`, with the same leniency as upstream's scanner ("1.", ".", "1.G"). */
function scan(s: string): Scanned {
  let pos = 0;
  let negative = false;
  if (s[0] === "-" || s[0] === "+") {
    negative = s[0] === "-";
    pos++;
  }
  while (s[pos] === "0") pos++;
  if (pos >= s.length) return { negative, whole: "", fraction: "", suffix: "" };
  const wholeStart = pos;
  while (isDigit(s[pos])) pos++;
  const whole = s.slice(wholeStart, pos);
  let fraction = "";
  if (s[pos] === ".") {
    const start = ++pos;
    while (isDigit(s[pos])) pos++;
    fraction = s.slice(start, pos);
  }
  const suffixStart = pos;
  while (pos < s.length && SUFFIX_CHARS.includes(s[pos]!)) pos++;
  if (s[pos] === "-" || s[pos] === "+") pos++;
  while (isDigit(s[pos])) pos++;
  if (pos < s.length) throw formatWrong();
  return { negative, whole, fraction, suffix: s.slice(suffixStart) };
}

/** base 10 or 2, the power, and the format a suffix implies; undefined if it is not a suffix. */
function interpretSuffix(suffix: string): { base: 10 | 2; power: number; format: QuantityFormat } | undefined {
  const dec = DECIMAL_SUFFIXES[suffix];
  if (dec !== undefined) return { base: 10, power: dec, format: "DecimalSI" };
  const bin = BINARY_SUFFIXES[suffix];
  if (bin !== undefined) return { base: 2, power: bin, format: "BinarySI" };
  if (suffix.length > 1 && (suffix[0] === "e" || suffix[0] === "E") && /^[+-]?[0-9]+$/.test(suffix.slice(1))) {
    const power = Number(suffix.slice(1));
    // Upstream holds scales in an int32; beyond that it is not a usable quantity.
    if (!Number.isSafeInteger(power) || Math.abs(power) > 2 ** 31 - 1) return undefined;
    return { base: 10, power, format: "DecimalExponent" };
  }
  return undefined;
}

/** |m| × 10^e rounded away from zero to a multiple of 10^NANO. */
function roundToNano(mantissa: bigint, exponent: number): { mantissa: bigint; exponent: number } {
  if (exponent >= NANO || mantissa === 0n) return { mantissa, exponent };
  const shift = NANO - exponent;
  const magnitude = abs(mantissa);
  const sign = mantissa < 0n ? -1n : 1n;
  // A mantissa with fewer digits than the shift is below one nano: it rounds up to exactly 1n.
  if (magnitude.toString().length <= shift) return { mantissa: sign, exponent: NANO };
  const div = pow10(shift);
  const rounded = (magnitude + div - 1n) / div;
  return { mantissa: sign * rounded, exponent: NANO };
}

/** Parses a quantity string exactly as `resource.ParseQuantity` (no surrounding whitespace). */
export function parseQuantity(s: string): Quantity {
  if (s.length === 0) throw formatWrong();
  if (s === "0") return { mantissa: 0n, exponent: 0, format: "DecimalSI" };
  const { negative, whole, fraction, suffix } = scan(s);
  const unit = interpretSuffix(suffix);
  if (!unit) throw suffixWrong();
  const digits = (whole + fraction).replace(/^0+/, "");
  let mantissa = digits === "" ? 0n : BigInt(digits);
  let exponent = fraction.length === 0 ? 0 : -fraction.length;
  if (unit.base === 10) exponent += unit.power;
  else mantissa <<= BigInt(unit.power);
  if (negative) mantissa = -mantissa;
  ({ mantissa, exponent } = roundToNano(mantissa, exponent));
  let format = unit.format;
  if (format === "BinarySI" && mantissa !== 0n) {
    const scale = exponent < 0 ? pow10(-exponent) : 1n;
    if (abs(mantissa) > MAX_BINARY * scale) {
      mantissa = mantissa < 0n ? -MAX_BINARY : MAX_BINARY;
      exponent = 0;
    } else if (abs(mantissa) < scale) {
      format = "DecimalSI"; // |value| < 1 has no binary form
    }
  }
  return { mantissa, exponent, format };
}

/** Moves trailing zeros of the mantissa into the exponent (1500, 0 → 15, 2). */
function stripZeros(mantissa: bigint, exponent: number): { mantissa: bigint; exponent: number } {
  if (mantissa === 0n) return { mantissa, exponent: 0 };
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  return { mantissa, exponent };
}

/** The integer value if the quantity has no fractional part, else undefined. */
function integerValue(q: Quantity): bigint | undefined {
  const { mantissa, exponent } = stripZeros(q.mantissa, q.exponent);
  if (exponent < 0) return undefined;
  return mantissa * pow10(exponent);
}

/** The canonical string (`Quantity.String()` upstream): e.g. 0.5 → `500m`, 1024Mi → `1Gi`, 1.5Gi → `1536Mi`. */
export function formatQuantity(q: Quantity): string {
  if (q.mantissa === 0n) return "0";
  let format = q.format;
  if (format === "BinarySI") {
    const int = integerValue(q);
    if (int === undefined || abs(int) < 1024n) format = "DecimalSI";
    else {
      let v = int;
      let power = 0;
      while (v % 1024n === 0n && power < BINARY_BY_POWER.length - 1) {
        v /= 1024n;
        power++;
      }
      return `${v}${BINARY_BY_POWER[power]}`;
    }
  }
  let { mantissa, exponent } = stripZeros(q.mantissa, q.exponent);
  // The exponent goes down to a multiple of three (floor), the mantissa grows to match.
  const excess = ((exponent % 3) + 3) % 3;
  mantissa *= pow10(excess);
  exponent -= excess;
  if (format === "DecimalSI") {
    const suffix = DECIMAL_BY_EXPONENT.get(exponent);
    // Beyond E (10^18) DecimalSI has no suffix: fall back to an exponent rather than lose it.
    return suffix !== undefined ? `${mantissa}${suffix}` : `${mantissa}e${exponent}`;
  }
  return exponent === 0 ? `${mantissa}` : `${mantissa}e${exponent}`;
}

/**
 * Canonicalises a quantity as decoded from JSON: strings are trimmed and numbers read from their
 * text, as upstream's `Quantity.UnmarshalJSON`. Throws QuantityError.
 */
export function canonicalQuantity(value: string | number): string {
  const text = typeof value === "number" ? numberText(value) : value.trim();
  return formatQuantity(parseQuantity(text));
}

/** JSON numbers as text; JavaScript writes 1e21 as "1e+21", which the scanner accepts too. */
function numberText(n: number): string {
  if (!Number.isFinite(n)) throw formatWrong();
  return String(n);
}

/** -1, 0 or 1 as a < b, a = b, a > b (formats are ignored). */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  const sa = quantitySign(a);
  const sb = quantitySign(b);
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (sa === 0) return 0;
  const x = stripZeros(abs(a.mantissa), a.exponent);
  const y = stripZeros(abs(b.mantissa), b.exponent);
  // Orders of magnitude first, so far-apart exponents never build huge numbers.
  const magX = x.mantissa.toString().length + x.exponent;
  const magY = y.mantissa.toString().length + y.exponent;
  let cmp: number;
  if (magX !== magY) cmp = magX < magY ? -1 : 1;
  else {
    const e = Math.min(x.exponent, y.exponent);
    const vx = x.mantissa * pow10(x.exponent - e);
    const vy = y.mantissa * pow10(y.exponent - e);
    cmp = vx === vy ? 0 : vx < vy ? -1 : 1;
  }
  if (cmp === 0) return 0;
  return (sa < 0 ? -cmp : cmp) as -1 | 1;
}

/** Sign of the value: -1, 0 or 1. */
export function quantitySign(q: Quantity): -1 | 0 | 1 {
  return q.mantissa === 0n ? 0 : q.mantissa > 0n ? 1 : -1;
}

/** True if the value is a whole number. */
export function isWholeQuantity(q: Quantity): boolean {
  return integerValue(q) !== undefined || q.mantissa === 0n;
}
