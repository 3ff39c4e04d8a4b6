/** networking, policy, discovery, coordination, scheduling, storage, events and RBAC resource declarations. */
import type { ResourceDef } from "./types.js";
import {
  endpointSlicePrinter,
  ingressClassPrinter,
  ingressPrinter,
  leasePrinter,
  networkPolicyPrinter,
  podDisruptionBudgetPrinter,
  priorityClassPrinter,
  roleBindingPrinter,
  rolePrinter,
  storageClassPrinter,
} from "../tables/misc.js";
import { eventPrinter } from "../tables/core.js";
import { get } from "../tables/format.js";
import { validateIngress, validateIngressClass } from "../validation/networking.js";
import { defaultNetworkPolicy, defaultPodDisruptionBudget, defaultStorageClass } from "../defaults/core.js";
import { defaultPriorityClass, validatePriorityClass } from "../validation/scheduling.js";
import { defaultBinding, validateClusterRole, validateClusterRoleBinding, validateRole, validateRoleBinding } from "../validation/rbac.js";
import { bindingEscalationAdmission, roleEscalationAdmission } from "../auth/escalation.js";

// RBAC objects' names are path segments (upstream's ValidateRBACName).
const rbac = { group: "rbac.authorization.k8s.io", version: "v1", nameRule: "path" } as const;

export const otherResources: ResourceDef[] = [
  {
    group: "networking.k8s.io",
    version: "v1",
    kind: "Ingress",
    plural: "ingresses",
    singular: "ingress",
    shortNames: ["ing"],
    namespaced: true,
    subresources: ["status"],
    hasStatus: true,
    tracksGeneration: true,
    ...ingressPrinter,
    validate: validateIngress,
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    kind: "IngressClass",
    plural: "ingressclasses",
    singular: "ingressclass",
    namespaced: false,
    ...ingressClassPrinter,
    validate: validateIngressClass,
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    kind: "NetworkPolicy",
    plural: "networkpolicies",
    singular: "networkpolicy",
    shortNames: ["netpol"],
    namespaced: true,
    tracksGeneration: true,
    ...networkPolicyPrinter,
    defaults: defaultNetworkPolicy,
  },
  {
    group: "policy",
    version: "v1",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
    singular: "poddisruptionbudget",
    shortNames: ["pdb"],
    namespaced: true,
    subresources: ["status"],
    hasStatus: true,
    tracksGeneration: true,
    ...podDisruptionBudgetPrinter,
    defaults: defaultPodDisruptionBudget,
    validate: (o) => {
      const s = (o.spec ?? {}) as { minAvailable?: unknown; maxUnavailable?: unknown };
      if (s.minAvailable === undefined || s.maxUnavailable === undefined) return [];
      return [{ reason: "FieldValueInvalid", field: "spec", message: `Invalid value: ${JSON.stringify(o.spec)}: minAvailable and maxUnavailable cannot be both set` }];
    },
  },
  {
    group: "discovery.k8s.io",
    version: "v1",
    kind: "EndpointSlice",
    plural: "endpointslices",
    singular: "endpointslice",
    namespaced: true,
    ...endpointSlicePrinter,
    fields: { addressType: (o) => String(o.addressType ?? "") },
  },
  {
    group: "coordination.k8s.io",
    version: "v1",
    kind: "Lease",
    plural: "leases",
    singular: "lease",
    namespaced: true,
    ...leasePrinter,
  },
  {
    group: "scheduling.k8s.io",
    version: "v1",
    kind: "PriorityClass",
    plural: "priorityclasses",
    singular: "priorityclass",
    shortNames: ["pc"],
    namespaced: false,
    ...priorityClassPrinter,
    defaults: defaultPriorityClass,
    // Its admission (one globalDefault, system classes stay) is the Priority plugin's: admission/plugins.ts.
    validate: validatePriorityClass,
  },
  {
    group: "storage.k8s.io",
    version: "v1",
    kind: "StorageClass",
    plural: "storageclasses",
    singular: "storageclass",
    shortNames: ["sc"],
    namespaced: false,
    ...storageClassPrinter,
    defaults: defaultStorageClass,
  },
  {
    group: "events.k8s.io",
    version: "v1",
    kind: "Event",
    plural: "events",
    singular: "event",
    shortNames: ["ev"],
    storageResource: "events",
    storedAsCoreEvent: true,
    namespaced: true,
    defaultGarbageCollectionPolicy: "Unsupported",
    ...eventPrinter,
    fields: {
      "regarding.kind": (o) => String(get(o, "regarding", "kind") ?? ""),
      "regarding.name": (o) => String(get(o, "regarding", "name") ?? ""),
      "regarding.namespace": (o) => String(get(o, "regarding", "namespace") ?? ""),
      "regarding.uid": (o) => String(get(o, "regarding", "uid") ?? ""),
      reason: (o) => String(o.reason ?? ""),
      type: (o) => String(o.type ?? ""),
    },
  },
  // Writes are checked for escalation: only rules the writer holds may be granted (auth/escalation.ts).
  { ...rbac, kind: "Role", plural: "roles", singular: "role", namespaced: true, ...rolePrinter, validate: validateRole, admit: roleEscalationAdmission("roles") },
  { ...rbac, kind: "RoleBinding", plural: "rolebindings", singular: "rolebinding", namespaced: true, ...roleBindingPrinter, defaults: defaultBinding, validate: validateRoleBinding, admit: bindingEscalationAdmission("rolebindings") },
  { ...rbac, kind: "ClusterRole", plural: "clusterroles", singular: "clusterrole", namespaced: false, ...rolePrinter, validate: validateClusterRole, admit: roleEscalationAdmission("clusterroles") },
  {
    ...rbac,
    kind: "ClusterRoleBinding",
    plural: "clusterrolebindings",
    singular: "clusterrolebinding",
    namespaced: false,
    ...roleBindingPrinter,
    defaults: defaultBinding,
    validate: validateClusterRoleBinding,
    admit: bindingEscalationAdmission("clusterrolebindings"),
  },
];
