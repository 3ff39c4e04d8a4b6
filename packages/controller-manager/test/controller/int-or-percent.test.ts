/** The IntOrString scaling the workload controllers share (maxSurge, maxUnavailable, minAvailable). */
import { describe, expect, it } from "vitest";
import { scaledValueFromIntOrPercent } from "../../src/controller/int-or-percent.js";

describe("scaledValueFromIntOrPercent", () => {
  it("takes an int as is and a percent of the total, rounded as asked", () => {
    expect(scaledValueFromIntOrPercent(3, 10, true)).toBe(3);
    expect(scaledValueFromIntOrPercent("25%", 10, true)).toBe(3);
    expect(scaledValueFromIntOrPercent("25%", 10, false)).toBe(2);
    expect(scaledValueFromIntOrPercent("+50%", 3, false)).toBe(1);
    expect(scaledValueFromIntOrPercent("0%", 7, true)).toBe(0);
  });

  it("refuses anything else in apimachinery's words", () => {
    expect(() => scaledValueFromIntOrPercent(undefined, 10, true)).toThrow(/^nil value for IntOrString$/);
    expect(() => scaledValueFromIntOrPercent("3", 10, true)).toThrow(/^invalid value for IntOrString: invalid type: string is not a percentage$/);
    expect(() => scaledValueFromIntOrPercent("x%", 10, true)).toThrow('invalid value for IntOrString: invalid value "x%": strconv.Atoi: parsing "x": invalid syntax');
    expect(() => scaledValueFromIntOrPercent("%", 10, true)).toThrow('invalid value for IntOrString: invalid value "%": strconv.Atoi: parsing "": invalid syntax');
  });
});
