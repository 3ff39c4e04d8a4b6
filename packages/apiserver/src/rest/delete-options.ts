/** metav1.DeleteOptions, parsed from a DELETE body and/or query and checked. */
import { newBadRequest } from "@kubemu/common";
import type { Preconditions } from "../storage/index.js";

export type PropagationPolicy = "Orphan" | "Background" | "Foreground";

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: PropagationPolicy;
  orphanDependents?: boolean;
  preconditions?: Preconditions;
  dryRun?: boolean;
}

const POLICIES = ["Orphan", "Background", "Foreground"];

/** Validates an untrusted DeleteOptions-shaped value. */
export function parseDeleteOptions(body: unknown, query: URLSearchParams): DeleteOptions {
  const out: DeleteOptions = {};
  const b = body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const grace = b.gracePeriodSeconds ?? (query.get("gracePeriodSeconds") !== null ? Number(query.get("gracePeriodSeconds")) : undefined);
  if (grace !== undefined && grace !== null) {
    if (typeof grace !== "number" || !Number.isInteger(grace)) throw newBadRequest(`gracePeriodSeconds must be an integer`);
    out.gracePeriodSeconds = Math.max(0, grace);
  }
  const policy = b.propagationPolicy ?? query.get("propagationPolicy") ?? undefined;
  if (policy !== undefined && policy !== null) {
    if (typeof policy !== "string" || !POLICIES.includes(policy))
      throw newBadRequest(`DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${String(policy)}": supported values: "Foreground", "Background", "Orphan", "nil"`);
    out.propagationPolicy = policy as PropagationPolicy;
  }
  const orphan = b.orphanDependents ?? (query.get("orphanDependents") !== null ? query.get("orphanDependents") === "true" : undefined);
  if (typeof orphan === "boolean") {
    if (out.propagationPolicy) throw newBadRequest("Cannot set both propagationPolicy and orphanDependents");
    out.orphanDependents = orphan;
  }
  const pre = b.preconditions;
  if (pre && typeof pre === "object") {
    const p = pre as Record<string, unknown>;
    out.preconditions = {};
    if (typeof p.uid === "string") out.preconditions.uid = p.uid;
    if (typeof p.resourceVersion === "string") out.preconditions.resourceVersion = p.resourceVersion;
  }
  const dry = b.dryRun ?? query.getAll("dryRun");
  if (Array.isArray(dry) && dry.length) {
    if (dry.some((d) => d !== "All")) throw newBadRequest(`Invalid dry run value: ${dry.join(",")}`);
    out.dryRun = true;
  }
  return out;
}
