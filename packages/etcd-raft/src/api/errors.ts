/**
 * How store and server failures appear on the wire (as Kubernetes Status errors), and the
 * predicates the client uses to decide what is safe to retry.
 */
import {
  newBadRequest,
  newInternalError,
  newRequestEntityTooLarge,
  newStatus,
  StatusError,
  toStatus,
} from "@kubemu/common";
import { ErrCompacted, ErrFutureRev, isMvccError } from "../mvcc/index.js";

/** Cause reason naming a write that was rejected BEFORE it was proposed (safe to retry). */
export const CAUSE_NOT_PROPOSED = "NotProposed";
/** Cause reason carrying a compaction revision in its message. */
export const CAUSE_COMPACT_REVISION = "CompactRevision";

/** A retriable error for a request that never entered the log (e.g. no leader yet). */
export function notProposed(message: string): StatusError {
  return new StatusError(newStatus("ServiceUnavailable", message, { causes: [{ reason: CAUSE_NOT_PROPOSED, message }] }));
}

/** Reports whether err proves the request did not execute (so even a write may be resent). */
export function provedNotExecuted(err: unknown): boolean {
  if (!(err instanceof StatusError)) return false;
  if (err.reason === "NotLeader") return true;
  return err.status.details?.causes?.some((c) => c.reason === CAUSE_NOT_PROPOSED) === true;
}

/** Reports whether a read may be retried after err (transient availability problems). */
export function retriableRead(err: unknown): boolean {
  if (!(err instanceof StatusError)) return false;
  return err.reason === "ServiceUnavailable" || err.reason === "NotLeader" || err.reason === "Timeout" || err.reason === "ServerTimeout";
}

/** The "required revision has been compacted" error: 410 Expired with the compact revision in details. */
export function compactedError(compactRevision: number, message?: string): StatusError {
  return new StatusError(
    newStatus("Expired", message ?? `required revision has been compacted (compact revision ${compactRevision})`, {
      causes: [{ reason: CAUSE_COMPACT_REVISION, message: String(compactRevision), field: "compactRevision" }],
    }),
  );
}

/** The compact revision carried by a compactedError, or undefined. */
export function compactRevisionOf(err: unknown): number | undefined {
  if (!(err instanceof StatusError)) return undefined;
  const c = err.status.details?.causes?.find((x) => x.reason === CAUSE_COMPACT_REVISION);
  if (c?.message === undefined) return undefined;
  const n = Number(c.message);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Maps anything a handler throws to a StatusError: MVCC errors become the matching HTTP-like reason. */
export function toStatusError(e: unknown): StatusError {
  if (e instanceof StatusError) return e;
  if (e instanceof ErrCompacted) return compactedError(e.compactRevision, e.message);
  if (e instanceof ErrFutureRev) return newBadRequest(e.message);
  if (isMvccError(e)) {
    switch (e.code) {
      case "ErrKeyTooLarge":
      case "ErrValueTooLarge":
        return newRequestEntityTooLarge(e.message);
      case "ErrLeaseNotFound":
      case "ErrKeyNotFound":
        return new StatusError(newStatus("NotFound", e.message));
      case "ErrBadSnapshot":
        return newInternalError(e.message);
      default:
        return newBadRequest(e.message);
    }
  }
  if (e instanceof Error && e.name === "ConfChangeError") return newBadRequest(e.message);
  return new StatusError(toStatus(e));
}
