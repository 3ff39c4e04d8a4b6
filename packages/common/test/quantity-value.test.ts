import { describe, expect, it } from "vitest";
import { parseQuantity, quantityMilliValue, quantityValue } from "@kubemu/common";

describe("quantityValue / quantityMilliValue (Quantity.Value() / MilliValue())", () => {
  it.each([
    ["100m", 1, 100],
    ["1", 1, 1000],
    ["1.5", 2, 1500],
    ["0.0001", 1, 1],
    ["1Ki", 1024, 1024000],
    ["128Mi", 128 * 1024 * 1024, 128 * 1024 * 1024 * 1000],
    ["1G", 1e9, 1e12],
    ["1e3", 1000, 1e6],
    ["0", 0, 0],
    ["-1.5", -1, -1500],
  ])("%s → %d, %d milli", (q, value, milli) => {
    expect(quantityValue(parseQuantity(q))).toBe(value);
    expect(quantityMilliValue(parseQuantity(q))).toBe(milli);
  });

  it("saturates at the int64 range instead of building huge numbers", () => {
    expect(quantityValue(parseQuantity("1e999999"))).toBe(2 ** 63 - 1);
    expect(quantityMilliValue(parseQuantity("9Ei"))).toBe(2 ** 63 - 1);
  });
});
