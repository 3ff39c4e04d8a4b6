/**
 * Where a kind keeps quantities, read from its OpenAPI schema, and the two passes over an object
 * that upstream gets from its typed structs: decoding (every quantity put in canonical form, a
 * malformed one refused as the decoder refuses it) and validation (no negative quantities,
 * container requests not above limits).
 */
import { resolveSchema, schemaFor, type Schema } from "../openapi/index.js";
import { compareQuantities, formatQuantity, parseQuantity, quantitySign, canonicalQuantity, type Quantity } from "@kubemu/common";

const QUANTITY_REF = ".api.resource.Quantity";
const REQUIREMENTS_REF = ".api.core.v1.ResourceRequirements";

/** The branches of a schema that lead to quantities; everything else is pruned. */
type Plan =
  | { type: "quantity" }
  | { type: "object"; props: Map<string, Plan>; values?: Plan; requirements: boolean }
  | { type: "array"; items: Plan };

function refName(s: Schema): string | undefined {
  const ref = s.$ref ?? (s.allOf?.length === 1 ? s.allOf[0]?.$ref : undefined);
  return ref === undefined ? undefined : ref.slice(ref.lastIndexOf("/") + 1);
}

function compile(schema: Schema, visiting: Set<string>): Plan | undefined {
  const ref = refName(schema);
  if (ref?.endsWith(QUANTITY_REF)) return { type: "quantity" };
  if (ref !== undefined) {
    if (visiting.has(ref)) return undefined; // recursive types (JSONSchemaProps) hold no quantities
    visiting.add(ref);
  }
  try {
    const s = resolveSchema(schema);
    if (s.items) {
      const items = compile(s.items, visiting);
      return items && { type: "array", items };
    }
    const props = new Map<string, Plan>();
    for (const [k, v] of Object.entries(s.properties ?? {})) {
      const p = compile(v, visiting);
      if (p) props.set(k, p);
    }
    const values = s.additionalProperties && typeof s.additionalProperties === "object" ? compile(s.additionalProperties, visiting) : undefined;
    if (props.size === 0 && !values) return undefined;
    return { type: "object", props, values, requirements: ref?.endsWith(REQUIREMENTS_REF) ?? false };
  } finally {
    if (ref !== undefined) visiting.delete(ref);
  }
}

const plans = new Map<string, Plan | undefined>();

/** The quantity plan of a kind, or undefined if it has no quantity fields (or no schema). */
function planFor(group: string, version: string, kind: string): Plan | undefined {
  const key = `${group}/${version}/${kind}`;
  if (!plans.has(key)) {
    const schema = schemaFor(group, version, kind);
    plans.set(key, schema ? compile(schema, new Set()) : undefined);
  }
  return plans.get(key);
}

/** True if objects of this kind contain quantity fields. */
export function hasQuantities(group: string, version: string, kind: string): boolean {
  return planFor(group, version, kind) !== undefined;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Calls visit for every quantity slot (parent, key, path) and every ResourceRequirements object. */
function walk(plan: Plan, value: unknown, path: string, onQuantity: (parent: Obj | unknown[], key: string | number, path: string) => void, onRequirements?: (req: Obj, path: string) => void): void {
  if (plan.type === "array") {
    if (Array.isArray(value))
      value.forEach((item, i) => {
        if (plan.items.type === "quantity") onQuantity(value, i, `${path}[${i}]`);
        else walk(plan.items, item, `${path}[${i}]`, onQuantity, onRequirements);
      });
    return;
  }
  if (plan.type !== "object" || !isObj(value)) return;
  for (const [k, p] of plan.props) {
    if (!(k in value)) continue;
    const child = path ? `${path}.${k}` : k;
    if (p.type === "quantity") onQuantity(value, k, child);
    else walk(p, value[k], child, onQuantity, onRequirements);
  }
  if (plan.values)
    for (const k of Object.keys(value)) {
      if (plan.props.has(k)) continue;
      // Map entries are named as Go field paths name them: limits[cpu].
      const child = `${path}[${k}]`;
      if (plan.values.type === "quantity") onQuantity(value, k, child);
      else walk(plan.values, value[k], child, onQuantity, onRequirements);
    }
  if (plan.requirements) onRequirements?.(value, path);
}

/**
 * Puts every quantity of obj in canonical form in place (`0.5` → `500m`, `1024Mi` → `1Gi`).
 * Throws QuantityError for a malformed one, as upstream's decoder fails on it.
 */
export function normalizeQuantities(group: string, version: string, kind: string, obj: unknown): void {
  const plan = planFor(group, version, kind);
  if (!plan) return;
  walk(plan, obj, "", (parent, key) => {
    const v = (parent as Record<string | number, unknown>)[key];
    if (v === null || v === undefined) return;
    if (typeof v !== "string" && typeof v !== "number") {
      (parent as Record<string | number, unknown>)[key] = canonicalQuantity(String(v));
      return;
    }
    (parent as Record<string | number, unknown>)[key] = canonicalQuantity(v);
  });
}

/** A 422 cause, as the registry reports them. */
export interface QuantityFieldError {
  reason: string;
  field: string;
  message: string;
}

const tryParse = (v: unknown): Quantity | undefined => {
  if (typeof v !== "string") return undefined;
  try {
    return parseQuantity(v);
  } catch {
    return undefined;
  }
};

/**
 * Upstream's quantity validation over an already-normalised object: no quantity may be negative
 * (emptyDir sizeLimit words it its own way), and in every ResourceRequirements a request may not
 * exceed the limit of the same resource.
 */
export function validateQuantities(group: string, version: string, kind: string, obj: unknown): QuantityFieldError[] {
  const plan = planFor(group, version, kind);
  if (!plan) return [];
  const errs: QuantityFieldError[] = [];
  walk(
    plan,
    obj,
    "",
    (parent, key, path) => {
      const raw = (parent as Record<string | number, unknown>)[key];
      const q = tryParse(raw);
      if (!q || quantitySign(q) >= 0) return;
      if (path.endsWith(".emptyDir.sizeLimit")) errs.push({ reason: "FieldValueForbidden", field: path, message: "Forbidden: SizeLimit field must be a valid resource quantity" });
      else errs.push({ reason: "FieldValueInvalid", field: path, message: `Invalid value: ${JSON.stringify(raw)}: must be greater than or equal to 0` });
    },
    (req, path) => {
      for (const list of ["limits", "requests"] as const)
        if (isObj(req[list])) for (const name of Object.keys(req[list])) errs.push(...containerResourceNameErrors(name, `${path}.${list}[${name}]`));
      if (!isObj(req.requests) || !isObj(req.limits)) return;
      for (const [name, raw] of Object.entries(req.requests)) {
        const request = tryParse(raw);
        const limit = tryParse(req.limits[name]);
        if (!request || !limit || compareQuantities(request, limit) <= 0) continue;
        errs.push({
          reason: "FieldValueInvalid",
          field: `${path}.requests[${name}]`,
          message: `Invalid value: ${JSON.stringify(formatQuantity(request))}: must be less than or equal to ${name} limit of ${formatQuantity(limit)}`,
        });
      }
    },
  );
  return errs;
}

/** Resource names a container may request without a domain prefix (upstream's standard container resources). */
const CONTAINER_RESOURCES = new Set(["cpu", "memory", "ephemeral-storage"]);
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/**
 * Upstream's validateContainerResourceName: an unprefixed name must be a standard resource
 * ("cpus" is refused twice, as the standard-type and the container check both fail); a prefixed
 * one must be a qualified name.
 */
function containerResourceNameErrors(name: string, field: string): QuantityFieldError[] {
  const invalidName = (detail: string): QuantityFieldError => ({ reason: "FieldValueInvalid", field, message: `Invalid value: ${JSON.stringify(name)}: ${detail}` });
  const slash = name.indexOf("/");
  const local = slash === -1 ? name : name.slice(slash + 1);
  if (local.length === 0 || local.length > 63 || !QUALIFIED_NAME.test(local))
    return [
      invalidName(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ),
    ];
  if (slash !== -1) return [];
  if (CONTAINER_RESOURCES.has(name) || name.startsWith("hugepages-")) return [];
  return [invalidName("must be a standard resource type or fully qualified"), invalidName("must be a standard resource for containers")];
}
