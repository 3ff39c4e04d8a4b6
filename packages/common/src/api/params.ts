/**
 * The API servers' internal wire API (`/kubemu/wire`): method names and their params. The
 * server side lives in @kubemu/apiserver; the client side is {@link ApiClient}. Params name a
 * resource the way a URL does.
 */
import type { KubeObject } from "./object.js";

/** Which resource (and optionally which object and subresource) a call is about. */
export interface ResourceParams {
  group?: string;
  version?: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** The four patch types (`application/json-patch+json`, `merge-patch`, `strategic-merge-patch`, `apply-patch`). */
export type PatchType = "json" | "merge" | "strategic" | "apply";

/** metav1.DeleteOptions, as the wire API takes them. */
export interface WireDeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** Params of create / update / patch / delete / deletecollection. */
export interface WriteParams extends ResourceParams {
  body?: unknown;
  dryRun?: boolean;
  fieldManager?: string;
  patchType?: PatchType;
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
  options?: WireDeleteOptions;
}

/** Params of list and watch. */
export interface ListParams extends ResourceParams {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: "NotOlderThan" | "Exact";
  allowBookmarks?: boolean;
  sendInitialEvents?: boolean;
}

/** params of deletecollection: a list's selectors plus delete options. */
export type DeleteCollectionParams = WriteParams & Omit<ListParams, keyof ResourceParams>;

/** What deletecollection answers: the deleted objects. */
export interface DeletedCollection {
  items: KubeObject[];
}
