/** Typed access to the query parameters of resource requests, validated as upstream does. */
import { newBadRequest } from "@kubemu/common";
import type { ListQuery } from "../rest/store.js";
import type { IncludeObject } from "../http/table.js";

export function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === "true" || v === "1" || v === "";
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  if (!/^-?\d+$/.test(v)) throw newBadRequest(`invalid ${name}: "${v}" is not an integer`);
  return Number(v);
}

export function listQuery(q: URLSearchParams): ListQuery {
  const out: ListQuery = {};
  const ls = q.get("labelSelector");
  if (ls !== null) out.labelSelector = ls;
  const fs = q.get("fieldSelector");
  if (fs !== null) out.fieldSelector = fs;
  const limit = intParam(q, "limit");
  if (limit !== undefined && limit > 0) out.limit = limit;
  const cont = q.get("continue");
  if (cont) out.continue = cont;
  const rv = q.get("resourceVersion");
  if (rv !== null) out.resourceVersion = rv;
  const match = q.get("resourceVersionMatch");
  if (match) {
    if (match !== "NotOlderThan" && match !== "Exact") throw newBadRequest(`invalid resourceVersionMatch: "${match}"`);
    out.resourceVersionMatch = match;
  }
  return out;
}

export function timeoutSeconds(q: URLSearchParams): number | undefined {
  const t = intParam(q, "timeoutSeconds");
  return t !== undefined && t > 0 ? t : undefined;
}

export function dryRun(q: URLSearchParams): boolean {
  const all = q.getAll("dryRun");
  if (all.length === 0) return false;
  for (const v of all) if (v !== "All") throw newBadRequest(`Invalid dry run value: ${v}`);
  return true;
}

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export function fieldValidation(q: URLSearchParams): FieldValidation {
  const v = q.get("fieldValidation");
  if (v === null || v === "") return "Warn";
  if (v !== "Strict" && v !== "Warn" && v !== "Ignore")
    throw newBadRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${v}"`);
  return v;
}

export function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get("includeObject");
  if (v === null || v === "") return "Metadata";
  if (v !== "None" && v !== "Metadata" && v !== "Object") throw newBadRequest(`includeObject must be one of None, Metadata, Object; got "${v}"`);
  return v;
}

export function fieldManager(q: URLSearchParams, userAgent: string | undefined): string {
  const m = q.get("fieldManager");
  if (m !== null && m !== "") {
    if (m.length > 128) throw newBadRequest("fieldManager may not be more than 128 characters");
    return m;
  }
  // Upstream derives the manager from the user agent's program name.
  return (userAgent ?? "unknown").split("/")[0]!.trim() || "unknown";
}
