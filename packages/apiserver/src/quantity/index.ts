/**
 * Where resource quantities sit in the served kinds: normalised to the canonical form on write and
 * validated as upstream. The parser itself (apimachinery's resource.Quantity) is @kubemu/common's.
 */
export { hasQuantities, normalizeQuantities, validateQuantities, type QuantityFieldError } from "./fields.js";
export { withQuantities } from "./declare.js";
