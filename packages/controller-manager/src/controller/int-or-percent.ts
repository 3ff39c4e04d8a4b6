/**
 * An IntOrString as a count out of `total` (apimachinery's intstr.GetScaledValueFromIntOrPercent):
 * a number is itself, "25%" is a quarter of total rounded up or down. Anything else throws in
 * upstream's words, which controllers pass on in their errors and events.
 */
export type IntOrString = number | string;

export function scaledValueFromIntOrPercent(v: IntOrString | undefined | null, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) throw new Error("nil value for IntOrString");
  if (typeof v === "number") return v;
  if (!v.endsWith("%")) throw new Error("invalid value for IntOrString: invalid type: string is not a percentage");
  const digits = v.slice(0, -1);
  if (!/^[+-]?\d+$/.test(digits)) throw new Error(`invalid value for IntOrString: invalid value "${v}": strconv.Atoi: parsing "${digits}": invalid syntax`);
  // Go computes this in float64 too: math.Ceil(float64(value) * float64(total) / 100).
  const scaled = (Number(digits) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}
