/**
 * Kubernetes-style errors, end to end. Every failure that crosses a process boundary is a
 * {@link Status} (the same object kube-apiserver returns); {@link StatusError} carries one, and
 * {@link fromStatus} rebuilds the error on the other side of the wire.
 */

/** Machine-readable reasons, as in k8s.io/apimachinery metav1.StatusReason. */
export const StatusReason = {
  BadRequest: "BadRequest",
  Unauthorized: "Unauthorized",
  Forbidden: "Forbidden",
  NotFound: "NotFound",
  MethodNotAllowed: "MethodNotAllowed",
  NotAcceptable: "NotAcceptable",
  AlreadyExists: "AlreadyExists",
  Conflict: "Conflict",
  Gone: "Gone",
  Expired: "Expired",
  RequestEntityTooLarge: "RequestEntityTooLarge",
  UnsupportedMediaType: "UnsupportedMediaType",
  Invalid: "Invalid",
  TooManyRequests: "TooManyRequests",
  InternalError: "InternalError",
  ServiceUnavailable: "ServiceUnavailable",
  ServerTimeout: "ServerTimeout",
  Timeout: "Timeout",
  /** Not an upstream reason: the peer is not the Raft leader; details.leaderHint says where to go. */
  NotLeader: "NotLeader",
  /** Not an upstream reason: the request was cancelled by the caller. */
  Cancelled: "Cancelled",
  Unknown: "",
} as const;
export type StatusReason = (typeof StatusReason)[keyof typeof StatusReason];

/** The HTTP code each reason maps to. */
export const codeForReason: Record<StatusReason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Expired: 410,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Invalid: 422,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  ServerTimeout: 500,
  Timeout: 504,
  NotLeader: 503,
  Cancelled: 499,
  "": 500,
};

export interface StatusCause {
  reason?: string;
  message?: string;
  /** Field path, e.g. "spec.containers[0].image". */
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
  /** kubemu: the address of the current leader, for NotLeader. */
  leaderHint?: string;
}

export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, unknown>;
  status: "Failure" | "Success";
  message: string;
  reason: StatusReason;
  details?: StatusDetails;
  code: number;
}

const kStatusError = Symbol.for("kubemu.error.StatusError");

/** An error that carries a Kubernetes Status. */
export class StatusError extends Error {
  readonly status: Status;

  constructor(status: Status) {
    super(status.message);
    this.name = "StatusError";
    this.status = status;
    (this as any)[kStatusError] = true;
  }

  get code(): number {
    return this.status.code;
  }
  get reason(): StatusReason {
    return this.status.reason;
  }

  /** instanceof works across duplicate copies of this module (e.g. a bundled test and dist/). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as any)[kStatusError] === true;
  }
}

/** Builds a failure Status. */
export function newStatus(reason: StatusReason, message: string, details?: StatusDetails, code?: number): Status {
  const status: Status = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code: code ?? codeForReason[reason],
  };
  if (details) status.details = details;
  return status;
}

const err = (reason: StatusReason, message: string, details?: StatusDetails) =>
  new StatusError(newStatus(reason, message, details));

interface Resource {
  group?: string;
  resource: string;
}
const qualified = (r: Resource) => (r.group ? `${r.resource}.${r.group}` : r.resource);

export const newNotFound = (r: Resource, name: string) =>
  err("NotFound", `${qualified(r)} "${name}" not found`, { name, group: r.group, kind: r.resource });
export const newAlreadyExists = (r: Resource, name: string) =>
  err("AlreadyExists", `${qualified(r)} "${name}" already exists`, { name, group: r.group, kind: r.resource });
export const newConflict = (r: Resource, name: string, why: string) =>
  err("Conflict", `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, {
    name,
    group: r.group,
    kind: r.resource,
  });
export const newInvalid = (kind: string, name: string, causes: StatusCause[], group?: string) =>
  err(
    "Invalid",
    `${kind} "${name}" is invalid: ${causes.map((c) => `${c.field ? `${c.field}: ` : ""}${c.message ?? c.reason ?? ""}`).join(", ")}`,
    { name, group, kind, causes },
  );
export const newBadRequest = (message: string) => err("BadRequest", message);
export const newGone = (message: string) => err("Gone", message);
export const newResourceExpired = (message: string) => err("Expired", message);
export const newTooManyRequests = (message: string, retryAfterSeconds?: number) =>
  err("TooManyRequests", message, retryAfterSeconds === undefined ? undefined : { retryAfterSeconds });
export const newInternalError = (message: string) => err("InternalError", `Internal error occurred: ${message}`);
export const newServiceUnavailable = (message: string) => err("ServiceUnavailable", message);
export const newTimeout = (message: string, retryAfterSeconds?: number) =>
  err("Timeout", message, retryAfterSeconds === undefined ? undefined : { retryAfterSeconds });
export const newRequestEntityTooLarge = (message: string) => err("RequestEntityTooLarge", message);
export const newNotLeader = (leaderHint?: string) =>
  err("NotLeader", leaderHint ? `not the leader; try ${leaderHint}` : "not the leader; no leader known", leaderHint ? { leaderHint } : undefined);
export const newCancelled = (message = "request cancelled") => err("Cancelled", message);

const reasonOf = (e: unknown): StatusReason | undefined => (e instanceof StatusError ? e.reason : undefined);
export const isNotFound = (e: unknown) => reasonOf(e) === "NotFound";
export const isAlreadyExists = (e: unknown) => reasonOf(e) === "AlreadyExists";
export const isConflict = (e: unknown) => reasonOf(e) === "Conflict";
export const isInvalid = (e: unknown) => reasonOf(e) === "Invalid";
export const isGone = (e: unknown) => reasonOf(e) === "Gone" || reasonOf(e) === "Expired";
export const isTimeout = (e: unknown) => reasonOf(e) === "Timeout" || reasonOf(e) === "ServerTimeout";
export const isNotLeader = (e: unknown) => reasonOf(e) === "NotLeader";
export const isCancelled = (e: unknown) => reasonOf(e) === "Cancelled";
export const isServiceUnavailable = (e: unknown) => reasonOf(e) === "ServiceUnavailable";

/** Any thrown value as a Status (non-StatusErrors become InternalError). */
export function toStatus(e: unknown): Status {
  if (e instanceof StatusError) return e.status;
  return newStatus("InternalError", `Internal error occurred: ${e instanceof Error ? e.message : String(e)}`);
}

/** Rebuilds the error for a Status received from a peer; validates its shape first. */
export function fromStatus(value: unknown): StatusError {
  if (!isStatus(value)) return new StatusError(newStatus("InternalError", "malformed Status received from peer"));
  return new StatusError(value);
}

export function isStatus(value: unknown): value is Status {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.kind === "Status" && typeof v.code === "number" && typeof v.message === "string" && typeof v.reason === "string";
}
