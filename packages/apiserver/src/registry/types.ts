/**
 * A resource declaration: everything the generic REST handlers need to serve one kind. Adding a
 * resource means writing one of these, never a handler.
 */
import type { Rng } from "@kubemu/common";
import type { KubeObject } from "../storage/index.js";
import type { NameRule } from "../validation/meta.js";
import type { StorageHooks } from "./storage-hooks.js";

/** One validation failure, reported in a 422 Status cause. */
export interface FieldError {
  /** FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueForbidden, FieldValueDuplicate, FieldValueTooLong */
  reason: string;
  /** e.g. "spec.containers[0].image" */
  field: string;
  message: string;
}

/** A Table column, as in metav1.TableColumnDefinition. */
export interface TableColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  format?: string;
  description: string;
  /** 0 = default output, 1 = `-o wide` only. */
  priority?: number;
}

export type Subresource = "status" | "scale" | "binding" | "eviction" | "finalize";

/** Where a scalable resource keeps replicas and its selector (for the autoscaling/v1 Scale subresource). */
export interface ScaleSpec {
  /** Label selector object path (spec.selector) — a LabelSelector object, or a plain map (RC). */
  selectorIsMap?: boolean;
  /** Custom resources: JSON paths (`.spec.replicas`) of desired and observed replicas and of the selector string. */
  specReplicasPath?: string;
  statusReplicasPath?: string;
  labelSelectorPath?: string;
}

/** Context a hook sees: the API server's clock and profile-dependent settings. */
export interface HookContext {
  now: Date;
}

/**
 * What an admission hook sees (upstream's admission.Attributes, for the built-in plugins kubemu
 * runs). Hooks run for writes of the resource itself, never of its subresources, as upstream's
 * Priority, ServiceAccount and DefaultTolerationSeconds plugins skip subresources.
 */
export interface Admission {
  operation: "CREATE" | "UPDATE" | "DELETE";
  /** The object being written, after defaulting, before validation; hooks may change it. Unset on DELETE. */
  object?: KubeObject;
  /** The stored object (UPDATE). */
  old?: KubeObject;
  /** The name the request carries: "" on a create that lets the server generate it (as admission errors name it). */
  name: string;
  dryRun: boolean;
  /** NoExecute toleration seconds for not-ready/unreachable nodes (the timing profile's). */
  defaultTolerationSeconds: number;
  /** Every object of a built-in resource as a lister sees them (may be a moment stale: served from the watch cache), or read consistently. */
  list(group: string, version: string, plural: string, consistent?: boolean): Promise<KubeObject[]>;
  /** One object of a built-in resource (in namespace, for a namespaced one), read consistently; undefined when there is none. */
  get(group: string, version: string, plural: string, name: string, namespace?: string): Promise<KubeObject | undefined>;
  /** Whether an admission plugin (upstream's name: "ServiceAccount", ...) is on (--disable-admission-plugins turns it off). */
  enabled(plugin: string): boolean;
  /** The API server's random source (generated names) and clock (retry waits). */
  rng: Rng;
  sleep(ms: number): Promise<void>;
}

/** What a computed kind reads: stored objects (from the watch cache) and the kubelets. */
export interface ComputeContext {
  /** Every object of a built-in resource, as a lister sees them. */
  list(group: string, version: string, plural: string): Promise<KubeObject[]>;
  /** GET `path` of a node's kubelet (its InternalIP and kubelet port), as the API servers reach kubelets; rejects on an error or a non-2xx answer. */
  kubeletJson(node: KubeObject, path: string): Promise<unknown>;
  now(): Date;
}

export interface ResourceDef {
  /** "" for core. */
  group: string;
  version: string;
  kind: string;
  listKind?: string;
  /** Lower-case plural, the URL segment and storage key segment. */
  plural: string;
  singular: string;
  shortNames?: readonly string[];
  categories?: readonly string[];
  namespaced: boolean;
  subresources?: readonly Subresource[];
  /** Verbs served (default: the eight CRUD verbs); the others answer 405 MethodNotAllowed on every front end. */
  verbs?: readonly Verb[];
  /** Table columns (default: Name, Created At... as upstream's default printer: Name, Age). */
  columns?: TableColumn[];
  /** Cells for one row after the name and in column order (Name is supplied by the caller). */
  row?: (obj: KubeObject, ctx: HookContext) => unknown[];
  /** Fills defaults in place (create, and update after merging). */
  defaults?: (obj: KubeObject) => void;
  /**
   * The kind's own write checks and changes (upstream's strategy PrepareForCreate/Update and
   * REST storage checks: RBAC escalation, DaemonSet template generation, Service type changes):
   * throw a StatusError to refuse; may change `object`. Runs after the admission chain's
   * mutating step (admission/plugins.ts) and before validation, on create, update and delete;
   * never for subresource writes.
   */
  admit?: (a: Admission) => void | Promise<void>;
  /** How metadata.name is checked (upstream's per-kind NameFunc); default a DNS subdomain. */
  nameRule?: NameRule;
  /** Create keeps the status the client sent (nodes report theirs at registration); otherwise a status subresource is reset on create. */
  keepsStatusOnCreate?: boolean;
  /** Besides metadata.finalizers, what keeps an object marked for deletion (namespaces: spec.finalizers). */
  deletionPending?: (obj: KubeObject) => boolean;
  /** What a DELETE changes on the object it marks for deletion (namespaces: status.phase Terminating). */
  markDeleting?: (obj: KubeObject) => void;
  /** Work around storage the kind's REST storage does (Service IP/port allocation, NamespaceLifecycle's cache). */
  storageHooks?: StorageHooks;
  /** Kind-specific validation; metadata validation is generic. old is set on update. */
  validate?: (obj: KubeObject, old?: KubeObject) => FieldError[];
  /**
   * Whether status is a separate subresource: writes through the main endpoint keep the old
   * status, writes through /status keep everything but status (and labels/annotations allowed).
   */
  hasStatus?: boolean;
  /**
   * A /status write also stores the sender's metadata except labels (upstream's Deployment status
   * strategy resets only spec and labels: the deployment controller records its revision
   * annotation with its status writes).
   */
  statusWritesMetadata?: boolean;
  /** Generation bumps on changes to everything but metadata and status (default true when hasStatus or spec exists). */
  tracksGeneration?: boolean;
  /** Status changes bump generation too (custom resources without a status subresource, as upstream). */
  statusBumpsGeneration?: boolean;
  /** Extra fields a fieldSelector may use, with their extractors. */
  fields?: Record<string, (obj: KubeObject) => string | undefined>;
  /** PUT on a missing object creates it (nodes, leases… upstream AllowCreateOnUpdate). */
  allowCreateOnUpdate?: boolean;
  /** Set for kinds served with the Scale subresource. */
  scale?: ScaleSpec;
  /** Pods: graceful deletion decided by this hook; returns grace seconds (0 = at once). */
  gracefulDelete?: (obj: KubeObject, requestedGrace: number | undefined) => number;
  /** Storage key segment when it differs from plural. */
  storageResource?: string;
  /** events.k8s.io/v1 Event: stored in core/v1 form under /registry/events/ (converted on the way). */
  storedAsCoreEvent?: boolean;
  /** A delete that removes the object at once answers the object, not a Success Status (pods, as upstream's ReturnDeletedObject). */
  returnDeletedObject?: boolean;
  /** True if the object cannot be created/updated by clients (computed, e.g. componentstatuses). */
  readOnly?: boolean;
  /** A read-only kind's objects, computed on every get and list instead of stored (metrics.k8s.io asks the kubelets); namespace set on a namespaced request. */
  compute?: (ctx: ComputeContext, namespace: string | undefined) => Promise<KubeObject[]>;
  /** The NotFound a get of a missing computed object answers, when it is not the generic one (metrics-server names pods `ns/name`). */
  notFound?: (name: string, namespace: string | undefined) => Error;
  /** Storage key prefix when it is not `/registry/<storageResource ?? plural>/` (custom resources: `/registry/<group>/<plural>/`). */
  storagePrefix?: string;
  /** Unknown field paths of a body, for kinds whose schema is not a built-in one (custom resources). */
  unknownFields?: (obj: unknown) => string[];
  /** Strategic merge patch is refused with 415 (custom resources, as upstream). */
  noStrategicMerge?: boolean;
  /** How server-side apply merges the list at `path` (custom resources: `x-kubernetes-list-type`); overrides the schema's patch strategies. */
  listStrategy?: (path: readonly string[]) => { mergeKey: string } | { primitiveMerge: true } | undefined;
  /** Finalizers a DELETE adds before the object can go (CRDs: customresourcecleanup.apiextensions.k8s.io). */
  deleteFinalizers?: readonly string[];
  /**
   * Upstream's DefaultGarbageCollectionPolicy when it is not DeleteDependents: a DELETE naming no
   * propagation policy orphans the dependents (v1 ReplicationControllers, batch/v1 Jobs, for
   * backwards compatibility), or the kind takes no orphan/foregroundDeletion finalizers at all (Events).
   */
  defaultGarbageCollectionPolicy?: "OrphanDependents" | "Unsupported";
  /** OpenAPI: definition names and schemas of a kind the built-in definitions do not know (custom resources). */
  openapi?: { definition: string; listDefinition: string; schemas: Record<string, Record<string, unknown>> };
}

/** The eight standard verbs. */
export const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] as const;

/** An API verb, as discovery and authorization name it. */
export type Verb = (typeof ALL_VERBS)[number];

/** "apps/v1" or "v1". */
export function groupVersion(def: { group: string; version: string }): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

/** `deployments.apps` or `pods` — how messages name a resource. */
export function qualifiedResource(def: ResourceDef): string {
  return def.group ? `${def.plural}.${def.group}` : def.plural;
}
