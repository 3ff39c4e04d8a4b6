/**
 * The apiserver's storage contract: what the registry (REST handlers) needs from the store.
 * Modelled on k8s.io/apiserver/pkg/storage.Interface, reduced to what kubemu uses.
 *
 * Conventions every implementation keeps:
 * - Keys are full paths: `/registry/<resource>/<namespace>/<name>` (cluster-scoped: no namespace
 *   segment). The last segment is the object's name, used in error messages.
 * - `metadata.resourceVersion` is the store's modification revision of the object, as a decimal
 *   string. It is never stored in the value; it is injected on every read.
 * - Every error is a {@link StatusError} from @kubemu/common whose message names the resource,
 *   exactly as kube-apiserver does (`pods "x" not found`).
 */
import type { KubeObject, WatchEvent } from "@kubemu/common";

export type { KubeObject, ObjectMeta, OwnerReference, WatchEvent, WatchEventType } from "@kubemu/common";

/** Conditions a write checks against the current object; a mismatch is 409 Conflict. */
export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

/**
 * Options of {@link Storage.list}. resourceVersion semantics follow
 * https://kubernetes.io/docs/reference/using-api/api-concepts/#semantics-for-get-and-list :
 * - unset: the most recent data (a consistent read from the store);
 * - "0" (match unset or NotOlderThan): any data, however old (may be served from the watch cache);
 * - "N" + NotOlderThan (or match unset): data at least as new as N;
 * - "N" + Exact: data exactly at revision N (410 Expired if compacted).
 */
export interface ListOptions {
  /** True for a collection list under a prefix; false lists at most the single exact key. */
  recursive: boolean;
  resourceVersion?: string;
  resourceVersionMatch?: "NotOlderThan" | "Exact";
  /** Page size; 0/undefined means no limit. */
  limit?: number;
  /** Continue token from a previous page; 410 Expired if its revision was compacted. */
  continue?: string;
  /** Only objects for which this returns true are returned (and counted against limit). */
  predicate?: (obj: KubeObject) => boolean;
}

/** One page of a list. */
export interface ListResult {
  items: KubeObject[];
  /** The revision the list was read at (for a paged list: the revision of the first page). */
  resourceVersion: string;
  /** Set when more items remain. */
  continue?: string;
  /** Items after this page (upstream only reports it without a predicate). */
  remainingItemCount?: number;
}

/** Options of {@link Storage.watch}. */
export interface WatchOptions {
  /** True to watch every key under the prefix; false to watch the exact key. */
  recursive: boolean;
  /**
   * unset or "0": start with ADDED events for the current state, then changes;
   * "N": changes after revision N (ERROR 410 Expired if N is compacted / too old).
   */
  resourceVersion?: string;
  /**
   * Only objects matching are reported. An object modified into the predicate arrives as ADDED,
   * modified out of it as DELETED (carrying its last matching state, with the resourceVersion
   * of the change), as upstream does.
   */
  predicate?: (obj: KubeObject) => boolean;
  /** Emit periodic BOOKMARK events carrying the current revision. */
  allowBookmarks?: boolean;
  /**
   * true: send the current state (not older than resourceVersion) as ADDED first, then a
   * BOOKMARK annotated `k8s.io/initial-events-end: "true"` (when allowBookmarks), then changes.
   * false: no initial events, whatever the resourceVersion. Unset: initial events only for
   * resourceVersion unset/"0".
   */
  sendInitialEvents?: boolean;
  /** Aborting it stops the watch (the iterator ends). */
  signal?: AbortSignal;
}

/** A running watch. Iterate it for events; the iteration ends after stop() or an ERROR event. */
export interface Watch extends AsyncIterable<WatchEvent> {
  /** Stops the watch and releases its resources; idempotent. */
  stop(): void;
}

/** Options of {@link Storage.delete}. */
export interface DeleteOptions {
  preconditions?: Preconditions;
  /** Runs against the current object before deletion; throwing aborts the delete. */
  validateDeletion?: (cur: KubeObject) => void | Promise<void>;
  /** Check everything, write nothing; returns the object as it would have been deleted. */
  dryRun?: boolean;
}

/** Options of {@link Storage.guaranteedUpdate}. */
export interface UpdateOptions {
  preconditions?: Preconditions;
  /** When the object does not exist, call tryUpdate(undefined) and create it (upsert). */
  ignoreNotFound?: boolean;
  dryRun?: boolean;
}

/**
 * Storage of one resource (errors name it: `pods "x" not found`).
 * Keys are full: /registry/<resource>/<ns>/<name>.
 */
export interface Storage {
  /**
   * Creates the object at key. Throws AlreadyExists (409) if the key exists. A resourceVersion
   * on obj is ignored (never stored). Returns the stored object (a copy) with its
   * resourceVersion. dryRun: checks existence only, writes nothing, returns it without RV.
   */
  create(key: string, obj: KubeObject, opts?: { dryRun?: boolean }): Promise<KubeObject>;
  /**
   * Reads one object. NotFound (404) unless ignoreNotFound (then undefined).
   * resourceVersion as for list: unset = latest, "0" = any (cache ok), "N" = not older than N.
   */
  get(key: string, opts?: { ignoreNotFound?: boolean; resourceVersion?: string }): Promise<KubeObject | undefined>;
  /** Lists objects under prefix. Expired (410) on a compacted continue/RV. */
  list(prefix: string, opts: ListOptions): Promise<ListResult>;
  /** Watches a key or prefix. ERROR event with a 410 Expired Status when the start RV is compacted. */
  watch(keyOrPrefix: string, opts: WatchOptions): Watch;
  /**
   * Deletes the object and returns its last state. NotFound if absent; Conflict (409) if a
   * precondition fails or the object changed under validateDeletion and no longer passes.
   */
  delete(key: string, opts?: DeleteOptions): Promise<KubeObject>;
  /**
   * Read → preconditions → tryUpdate → skip the write if unchanged → CAS on modRevision → on a
   * CAS miss reload and retry. tryUpdate may throw to abort (the error propagates). A tryUpdate
   * result whose metadata.resourceVersion is set and differs from the current one means the
   * client sent a stale RV → Conflict ("the object has been modified; please apply your changes
   * to the latest version and try again"). NotFound if absent and not ignoreNotFound.
   */
  guaranteedUpdate(
    key: string,
    tryUpdate: (current: KubeObject | undefined) => KubeObject | Promise<KubeObject>,
    opts?: UpdateOptions,
  ): Promise<KubeObject>;
  /** The store's current revision, as a string (a consistent read). */
  currentResourceVersion(): Promise<string>;
}

/** Hands out one Storage per resource over one shared store connection. */
export interface StorageFactory {
  /**
   * The Storage of one resource (the same instance on every call). Optional extras: `kind` and
   * `apiVersion` type BOOKMARK objects; `prefix` overrides the key prefix (default
   * `/registry/<resource>/`) the watch cache covers.
   */
  forResource(r: { group?: string; resource: string; kind?: string; apiVersion?: string; prefix?: string }): Storage;
  /**
   * Compacts the store to (current revision − the configured window of revisions); returns
   * the revision compacted to (0: nothing to do). Call periodically, like kube-apiserver
   * (every 5 min realistic; faster in the fast profile).
   */
  compact(): Promise<number>;
  /** Stops all watches and closes the store connection. */
  close(): Promise<void>;
}
