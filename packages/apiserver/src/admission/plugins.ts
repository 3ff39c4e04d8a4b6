/**
 * The admission chain kubemu runs, in upstream's order (kube-apiserver's AllOrderedPlugins, the
 * plugins kubemu has): NamespaceLifecycle, LimitRanger, ServiceAccount, NodeRestriction,
 * Priority, DefaultTolerationSeconds, DefaultStorageClass, StorageObjectInUseProtection,
 * ResourceQuota. Each entry names the resources it acts on by group and plural, so a custom
 * resource that happens to be called `Pod` or `Namespace` is never touched by them.
 *
 * A declaration's own `admit` hook (registry/types.ts) is not a plugin: it is the kind's strategy
 * (upstream's PrepareForCreate/Update and REST storage checks, e.g. RBAC escalation) and runs
 * after this chain's mutating step.
 */
import { qualifiedResource } from "../registry/types.js";
import type { AdmissionPlugin } from "./chain.js";
import { writes } from "./chain.js";
import type { NamespaceLifecycle } from "./namespace-lifecycle.js";
import { NODE_RESTRICTION, NodeRestriction, type NodeRestrictionDeps } from "./node-restriction.js";
import { addDefaultTolerations } from "./pods.js";
import { admitPodPriority, admitPriorityClass, PRIORITY_CLASSES } from "./priority.js";
import { limitRangerPlugin, resourceQuotaPlugin, type ResourceAdmissionDeps } from "./resource-admission.js";
import { admitServiceAccount } from "./serviceaccount.js";
import { defaultStorageClass, protectStorageObject, PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER } from "./storage.js";

export interface AdmissionPluginDeps extends ResourceAdmissionDeps {
  namespaces: NamespaceLifecycle;
  /** The request's user and the reads NodeRestriction needs. */
  nodes: NodeRestrictionDeps;
}

/** NamespaceLifecycle: no new content in a missing or terminating namespace; the system namespaces stay. */
export function namespaceLifecyclePlugin(namespaces: NamespaceLifecycle): AdmissionPlugin {
  return {
    name: "NamespaceLifecycle",
    async admit(r) {
      if (r.operation === "CREATE" && r.def.namespaced && r.object?.metadata.namespace)
        await namespaces.checkCreate(r.object.metadata.namespace, qualifiedResource(r.def), r.object.metadata.name);
      if (r.operation === "DELETE" && writes(r, "", "namespaces")) namespaces.checkDelete(r.name);
    },
  };
}

const serviceAccount: AdmissionPlugin = {
  name: "ServiceAccount",
  async admit(r) {
    if (writes(r, "", "pods")) await admitServiceAccount(r);
  },
};

/**
 * NodeRestriction: what a kubelet's own identity may change. It judges every write of a node's
 * user — subresources, deletes and evictions included — after object validation.
 */
export function nodeRestrictionPlugin(deps: NodeRestrictionDeps): AdmissionPlugin {
  const plugin = new NodeRestriction(deps);
  return {
    name: NODE_RESTRICTION,
    validate: (r) =>
      plugin.validate({
        operation: r.operation,
        group: r.def.group,
        resource: r.def.plural,
        ...(r.subresource ? { subresource: r.subresource } : {}),
        ...(r.namespace ? { namespace: r.namespace } : {}),
        name: r.name,
        ...(r.object ? { object: r.object } : {}),
        ...(r.old ? { old: r.old } : {}),
      }),
  };
}

const priority: AdmissionPlugin = {
  name: "Priority",
  async admit(r) {
    if (writes(r, "", "pods")) await admitPodPriority(r);
    else if (writes(r, PRIORITY_CLASSES.group, PRIORITY_CLASSES.plural)) await admitPriorityClass(r);
  },
};

const defaultTolerationSeconds: AdmissionPlugin = {
  name: "DefaultTolerationSeconds",
  admit(r) {
    if (writes(r, "", "pods") && r.operation === "CREATE" && r.object) addDefaultTolerations(r.object, r.defaultTolerationSeconds);
  },
};

const defaultStorageClassPlugin: AdmissionPlugin = {
  name: "DefaultStorageClass",
  async admit(r) {
    if (writes(r, "", "persistentvolumeclaims")) await defaultStorageClass(r);
  },
};

const storageObjectInUseProtection: AdmissionPlugin = {
  name: "StorageObjectInUseProtection",
  admit(r) {
    if (writes(r, "", "persistentvolumeclaims")) protectStorageObject(r, PVC_PROTECTION_FINALIZER);
    else if (writes(r, "", "persistentvolumes")) protectStorageObject(r, PV_PROTECTION_FINALIZER);
  },
};

/** The chain, in order. */
export function admissionPlugins(deps: AdmissionPluginDeps): AdmissionPlugin[] {
  return [
    namespaceLifecyclePlugin(deps.namespaces),
    limitRangerPlugin(deps),
    serviceAccount,
    nodeRestrictionPlugin(deps.nodes),
    priority,
    defaultTolerationSeconds,
    defaultStorageClassPlugin,
    storageObjectInUseProtection,
    resourceQuotaPlugin(deps),
  ];
}
