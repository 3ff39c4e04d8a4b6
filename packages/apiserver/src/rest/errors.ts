/** Errors in the exact shapes kube-apiserver returns. */
import { newStatus, StatusError, type StatusCause } from "@kubemu/common";
import type { FieldError, ResourceDef } from "../registry/types.js";

/** 422 `Deployment.apps "d" is invalid: spec.selector: Required value` with causes. */
export function invalidError(def: ResourceDef, name: string, errs: FieldError[]): StatusError {
  const qualifiedKind = def.group ? `${def.kind}.${def.group}` : def.kind;
  const causes: StatusCause[] = errs.map((e) => ({ reason: e.reason, message: e.message, field: e.field }));
  const summary = errs.map((e) => `${e.field}: ${e.message}`);
  const message = `${qualifiedKind} "${name}" is invalid: ${summary.length === 1 ? summary[0] : `[${summary.join(", ")}]`}`;
  return new StatusError(newStatus("Invalid", message, { name, ...(def.group ? { group: def.group } : {}), kind: def.kind, causes }));
}

export function methodNotAllowed(): StatusError {
  return new StatusError(newStatus("MethodNotAllowed", "the server does not allow this method on the requested resource"));
}

export function notFoundPath(): StatusError {
  return new StatusError(newStatus("NotFound", "the server could not find the requested resource", {}));
}

/** 415 for a strategic merge patch of a kind that does not take one (custom resources). */
export function strategicMergeUnsupported(): StatusError {
  return new StatusError(
    newStatus("UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml", undefined, 415),
  );
}
