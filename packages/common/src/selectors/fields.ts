/**
 * Field selectors (`fieldSelector=metadata.name=x,spec.nodeName!=n`). Only `=`, `==` and `!=`
 * exist upstream; each resource declares which fields it supports (metadata.name and
 * metadata.namespace always). An unsupported field is a BadRequest, as upstream.
 */
import { newBadRequest } from "../status.js";
import type { KubeObject } from "../api/object.js";

export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

export interface FieldSelector {
  requirements: FieldRequirement[];
  matches(fields: Record<string, string | undefined>): boolean;
}

/** Parses a `fieldSelector` query value. Throws BadRequest on malformed input. */
export function parseFieldSelector(s: string | undefined | null): FieldSelector {
  const requirements: FieldRequirement[] = [];
  if (s !== undefined && s !== null && s.trim() !== "") {
    for (const term of s.split(",")) {
      const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
      if (!m) throw newBadRequest(`invalid selector: '${s}'; can't understand '${term}'`);
      requirements.push({ field: m[1]!, op: m[2] === "!=" ? "!=" : "=", value: m[3]! });
    }
  }
  return {
    requirements,
    matches: (fields) =>
      requirements.every((r) => {
        const v = fields[r.field] ?? "";
        return r.op === "=" ? v === r.value : v !== r.value;
      }),
  };
}

/** The fields every object supports. */
export function defaultFields(obj: KubeObject): Record<string, string | undefined> {
  return { "metadata.name": obj.metadata.name, "metadata.namespace": obj.metadata.namespace };
}

/** Throws BadRequest if the selector names a field the resource does not index (upstream wording). */
export function checkFieldsSupported(sel: FieldSelector, supported: readonly string[]): void {
  for (const r of sel.requirements) {
    if (r.field === "metadata.name" || r.field === "metadata.namespace") continue;
    if (!supported.includes(r.field)) throw newBadRequest(`field label not supported: ${r.field}`);
  }
}
