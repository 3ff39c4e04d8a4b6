/**
 * An IntOrString as a count of `total` (apimachinery's GetScaledValueFromIntOrPercent): a number
 * is itself, "50%" is half of total rounded up or down; anything else throws in upstream's words.
 */
export function scaledValue(v: number | string, total: number, roundUp: boolean): number {
  if (typeof v === "number") return v;
  if (!v.endsWith("%")) throw new Error("invalid type: string is not a percentage");
  const digits = v.slice(0, -1);
  if (!/^[+-]?\d+$/.test(digits)) throw new Error(`invalid value for IntOrString: invalid value "${v}": strconv.Atoi: parsing "${digits}": invalid syntax`);
  const scaled = (Number(digits) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}
