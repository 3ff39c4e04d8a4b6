/**
 * Hooks quantity handling into a resource declaration: defaulting starts by putting every
 * quantity in canonical form (upstream does it when it decodes the typed object, so a malformed
 * quantity is a 400 in the decoder's words), and validation adds the quantity rules.
 */
import { newBadRequest } from "@kubemu/common";
import type { ResourceDef } from "../registry/types.js";
import { hasQuantities, normalizeQuantities, validateQuantities } from "./fields.js";
import { QuantityError } from "@kubemu/common";

/** def with quantity normalisation and validation added; kinds without quantities come back unchanged. */
export function withQuantities(def: ResourceDef): ResourceDef {
  const { group, version, kind } = def;
  if (!hasQuantities(group, version, kind)) return def;
  const defaults = def.defaults;
  const validate = def.validate;
  return {
    ...def,
    defaults: (obj) => {
      try {
        normalizeQuantities(group, version, kind, obj);
      } catch (e) {
        if (e instanceof QuantityError) throw newBadRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: ${e.message}`);
        throw e;
      }
      defaults?.(obj);
    },
    validate: (obj, old) => [...(validate?.(obj, old) ?? []), ...validateQuantities(group, version, kind, obj)],
  };
}
