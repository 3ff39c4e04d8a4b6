/**
 * The StatusErrors storage returns, worded as kube-apiserver words them, plus the mapping
 * from backend errors to them.
 */
import {
  newBadRequest,
  newConflict,
  newInternalError,
  newResourceExpired,
  newStatus,
  StatusError,
} from "@kubemu/common";
import { KvCompactedError, KvFutureRevisionError } from "./kv.js";

/** Identifies a resource in error messages (`pods`, `deployments.apps`). */
export interface ResourceRef {
  group?: string;
  resource: string;
}

/** The object name in a storage key: its last path segment. */
export function nameOfKey(key: string): string {
  const i = key.lastIndexOf("/");
  return i < 0 ? key : key.slice(i + 1);
}

/** 409 for a write whose resourceVersion is not the current one. */
export function staleObjectConflict(r: ResourceRef, name: string): StatusError {
  return newConflict(r, name, "the object has been modified; please apply your changes to the latest version and try again");
}

/** 409 for a failed uid/resourceVersion precondition. */
export function preconditionConflict(r: ResourceRef, name: string, what: "UID" | "ResourceVersion", want: string, got: string | undefined): StatusError {
  return newConflict(r, name, `Precondition failed: ${what} in precondition: ${want}, ${what} in object meta: ${got ?? ""}`);
}

/** 504 "Too large resource version": the store has not reached the requested revision yet. */
export function tooLargeResourceVersion(requested: number, current: number | undefined): StatusError {
  const message = `Too large resource version: ${requested}, current: ${current ?? "unknown"}`;
  return new StatusError(
    newStatus("Timeout", message, {
      causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
      retryAfterSeconds: 1,
    }),
  );
}

/** What a compacted revision was needed for; it picks the 410 message. */
export type ExpiredContext = "list" | "continue" | "watch" | "get";

const expiredMessages: Record<ExpiredContext, string> = {
  list: "The resourceVersion for the provided list is too old.",
  get: "The resourceVersion for the provided get is too old.",
  watch: "The resourceVersion for the provided watch is too old.",
  continue:
    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
};

/** 410 Expired for a revision below the compaction point. */
export function expired(context: ExpiredContext): StatusError {
  return newResourceExpired(expiredMessages[context]);
}

/** Parses a resourceVersion parameter: undefined/"" → undefined, otherwise a non-negative integer. */
export function parseResourceVersion(rv: string | undefined): number | undefined {
  if (rv === undefined || rv === "") return undefined;
  if (!/^\d+$/.test(rv) || !Number.isSafeInteger(Number(rv))) throw newBadRequest(`invalid resource version "${rv}": must be a non-negative integer`);
  return Number(rv);
}

/** Maps a backend failure to a StatusError (compaction → 410 worded for context). */
export function fromBackend(e: unknown, context: ExpiredContext, requested?: number): StatusError {
  if (e instanceof StatusError) return e;
  if (e instanceof KvCompactedError) return expired(context);
  if (e instanceof KvFutureRevisionError) return tooLargeResourceVersion(requested ?? 0, e.currentRevision);
  return newInternalError(e instanceof Error ? e.message : String(e));
}
