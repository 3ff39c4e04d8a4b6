/**
 * Moved to the shared layer (src/controller/int-or-percent.ts). This re-export stays only for
 * the disruption controller, which imports it from here; delete it once that import moves.
 */
export { scaledValueFromIntOrPercent } from "../../controller/int-or-percent.js";
