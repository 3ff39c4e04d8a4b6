/**
 * The API servers' internal wire API (`/kubemu/wire`): method names and their params. The
 * server side lives in @kubemu/apiserver; the client side is {@link ApiClient}. Params name a
 * resource the way a URL does.
 */
import type { KubeObject } from "./object.js";

/**
 * Which resource (and optionally which object and subresource) a call is about. Omitted or ""
 * group is the core group, version defaults to "v1"; "" namespace is "none" (cluster-scoped
 * resources, or every namespace). A namespaced object needs its namespace; a cluster-scoped
 * resource takes none (BadRequest otherwise).
 */
export interface ResourceParams {
  group?: string;
  version?: string;
  resource: string;
  namespace?: string;
  name?: string;
  /** One the resource declares: `status` (get/update/patch), `scale` (get/update/patch), `binding` / `eviction` (create), `finalize` (update). */
  subresource?: string;
}

/** The four patch types (`application/json-patch+json`, `merge-patch`, `strategic-merge-patch`, `apply-patch`). */
export type PatchType = "json" | "merge" | "strategic" | "apply";

/** metav1.DeleteOptions, as the wire API takes them. */
export interface WireDeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  /** Deprecated upstream; may not be set together with propagationPolicy. */
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

/**
 * Params of create / update / patch (and, for older callers, delete). The server refuses keys a
 * method does not take: create and update take body, dryRun, fieldManager; patch also
 * patchType (default "merge") and force (apply only); delete takes dryRun and options.
 */
export interface WriteParams extends ResourceParams {
  body?: unknown;
  dryRun?: boolean;
  fieldManager?: string;
  patchType?: PatchType;
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
  options?: WireDeleteOptions;
}

/**
 * Params of list and watch. list takes the selectors, limit, continue, resourceVersion,
 * resourceVersionMatch (and ignores allowBookmarks); watch takes the selectors,
 * resourceVersion, allowBookmarks and sendInitialEvents.
 */
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

/** Params of delete: the object, its DeleteOptions, dry run. */
export interface DeleteParams extends ResourceParams {
  dryRun?: boolean;
  options?: WireDeleteOptions;
}

/** Params of deletecollection: a list's label and field selectors (the only list params it takes) plus delete options. */
export interface DeleteCollectionParams extends DeleteParams {
  labelSelector?: string;
  fieldSelector?: string;
}

/** What deletecollection answers: the deleted objects. */
export interface DeletedCollection {
  items: KubeObject[];
}
