/**
 * Resource quantities as apimachinery's `resource.Quantity`: parsing, the canonical form, and
 * their place in the served kinds (normalised on write, validated as upstream).
 */
export {
  QUANTITY_PATTERN,
  QuantityError,
  canonicalQuantity,
  compareQuantities,
  formatQuantity,
  isWholeQuantity,
  parseQuantity,
  quantitySign,
  type Quantity,
  type QuantityFormat,
} from "@kubemu/common";
export { hasQuantities, normalizeQuantities, validateQuantities, type QuantityFieldError } from "./fields.js";
export { withQuantities } from "./declare.js";
