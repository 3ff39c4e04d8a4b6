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
} from "./quantity.js";
export { quantityMilliValue, quantityValue } from "./value.js";
