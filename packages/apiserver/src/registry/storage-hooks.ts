/**
 * Kind-specific work around storage that upstream does in a resource's REST storage rather than
 * in admission: Service ClusterIP/NodePort allocation (pkg/registry/core/service/storage) and the
 * namespace cache NamespaceLifecycle keeps. A declaration names its hooks (`storageHooks`); the
 * generic store calls them at fixed points and never asks which kind it is serving.
 */
import type { KubeObject } from "../storage/index.js";
import type { ServiceAllocators } from "../allocators/service-allocators.js";
import type { NamespaceLifecycle } from "../admission/namespace-lifecycle.js";
import { allocateForCreate, allocateForUpdate, releaseForDelete } from "../admission/services.js";

/** What hooks may use: the server's shared allocators and caches. */
export interface HookEnv {
  allocators: ServiceAllocators;
  namespaces: NamespaceLifecycle;
  dryRun: boolean;
}

/** Undo a reservation (a failed or retried write), or commit it (the write was stored). */
export type Undo = () => Promise<void>;

export interface StorageHooks {
  /** Before a create is stored; the returned undo runs when storing fails. */
  beforeCreate?(obj: KubeObject, env: HookEnv): Promise<Undo | undefined>;
  /** Before each try of an update (not status writes) is stored: undo runs when the try is retried or fails, commit once it is stored. */
  beforeUpdate?(next: KubeObject, cur: KubeObject, env: HookEnv): Promise<{ undo?: Undo; commit?: Undo }>;
  /** After an object was created (not dry-run). */
  afterCreate?(obj: KubeObject, env: HookEnv): void | Promise<void>;
  /** After an object was removed from storage (not dry-run). */
  afterDelete?(obj: KubeObject, env: HookEnv): void | Promise<void>;
}

/** core/v1 Services: ClusterIPs and NodePorts from the shared range allocators. */
export const serviceStorageHooks: StorageHooks = {
  beforeCreate: (svc, env) => allocateForCreate(svc, env.allocators, env.dryRun),
  beforeUpdate: (next, cur, env) => allocateForUpdate(next, cur, env.allocators, env.dryRun),
  afterDelete: (svc, env) => releaseForDelete(svc, env.allocators),
};

/** core/v1 Namespaces: NamespaceLifecycle's cache forgets a namespace that came or went. */
export const namespaceStorageHooks: StorageHooks = {
  afterCreate: (ns, env) => env.namespaces.forget(ns.metadata.name ?? ""),
  afterDelete: (ns, env) => env.namespaces.forget(ns.metadata.name ?? ""),
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** A namespace stays while spec.finalizers is not empty (the namespace controller empties it). */
export function namespaceFinalizersPending(ns: KubeObject): boolean {
  return isObj(ns.spec) && Array.isArray(ns.spec.finalizers) && ns.spec.finalizers.length > 0;
}

/** A namespace marked for deletion is Terminating. */
export function markNamespaceTerminating(ns: KubeObject): void {
  ns.status = { ...(isObj(ns.status) ? ns.status : {}), phase: "Terminating" };
}
