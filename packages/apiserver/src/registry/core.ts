/** core/v1 resource declarations. */
import { dropTypeDependentFields } from "../admission/service-type-change.js";
import type { KubeObject } from "../storage/index.js";
import type { ResourceDef } from "./types.js";
import { withQuantities } from "../quantity/index.js";
import { podPrinter } from "../tables/pods.js";
import {
  componentStatusPrinter,
  configMapPrinter,
  endpointsPrinter,
  eventPrinter,
  namespacePrinter,
  nodePrinter,
  persistentVolumeClaimPrinter,
  persistentVolumePrinter,
  podTemplatePrinter,
  resourceQuotaPrinter,
  secretPrinter,
  serviceAccountPrinter,
  servicePrinter,
} from "../tables/core.js";
import { replicationControllerPrinter } from "../tables/workloads.js";
import { defaultPod, defaultPodSpec } from "../defaults/pods.js";
import {
  defaultConfigMap,
  defaultEndpoints,
  defaultEvent,
  defaultLimitRange,
  defaultNamespace,
  defaultNode,
  defaultPersistentVolume,
  defaultPersistentVolumeClaim,
  defaultSecret,
  defaultService,
} from "../defaults/core.js";
import { defaultReplicationController } from "../defaults/workloads.js";
import { validatePodSpec, validatePodUpdate } from "../validation/pods.js";
import {
  validateConfigMap,
  validatePersistentVolume,
  validatePersistentVolumeClaim,
  validateSecret,
  validateService,
} from "../validation/core.js";
import { validateReplicationController } from "../validation/workloads.js";
import { get, str } from "../tables/format.js";
import { markNamespaceTerminating, namespaceFinalizersPending, namespaceStorageHooks, serviceStorageHooks } from "./storage-hooks.js";

const core = { group: "", version: "v1" } as const;
const field = (...path: string[]) => (o: KubeObject) => {
  const v = get(o, ...path);
  return v === undefined || v === null ? "" : String(v);
};

const coreDeclarations: ResourceDef[] = [
  {
    ...core,
    kind: "Namespace",
    plural: "namespaces",
    singular: "namespace",
    shortNames: ["ns"],
    namespaced: false,
    subresources: ["status", "finalize"],
    hasStatus: true,
    tracksGeneration: false,
    ...namespacePrinter,
    defaults: defaultNamespace,
    fields: { "status.phase": field("status", "phase") },
    nameRule: "label",
    // The namespace controller empties it, then clears spec.finalizers; until then it is Terminating.
    deletionPending: namespaceFinalizersPending,
    markDeleting: markNamespaceTerminating,
    storageHooks: namespaceStorageHooks,
  },
  {
    ...core,
    kind: "Pod",
    plural: "pods",
    singular: "pod",
    shortNames: ["po"],
    categories: ["all"],
    namespaced: true,
    subresources: ["status", "binding", "eviction"],
    hasStatus: true,
    returnDeletedObject: true,
    // Pods carry no metadata.generation in 1.32 (PodObservedGenerationTracking came later).
    tracksGeneration: false,
    ...podPrinter,
    defaults: defaultPod,
    // Pods' admission (ServiceAccount, NodeRestriction, Priority, DefaultTolerationSeconds, …) is the chain's: admission/plugins.ts.
    validate: (o, old) => [...validatePodSpec(o.spec, "spec"), ...(old ? validatePodUpdate(o.spec, old.spec) : [])],
    fields: {
      "spec.nodeName": field("spec", "nodeName"),
      "spec.restartPolicy": field("spec", "restartPolicy"),
      "spec.schedulerName": field("spec", "schedulerName"),
      "spec.serviceAccountName": field("spec", "serviceAccountName"),
      "spec.hostNetwork": (o) => String(get(o, "spec", "hostNetwork") === true),
      "status.phase": field("status", "phase"),
      "status.podIP": field("status", "podIP"),
      "status.nominatedNodeName": field("status", "nominatedNodeName"),
    },
    // Upstream pod strategy: no node → delete at once; terminal phase → at once; else the grace period.
    gracefulDelete: (pod, requested) => {
      const spec = (pod.spec ?? {}) as Record<string, unknown>;
      if (!spec.nodeName) return 0;
      const phase = str(get(pod, "status", "phase"));
      if (phase === "Succeeded" || phase === "Failed") return 0;
      if (requested !== undefined) return requested;
      const g = spec.terminationGracePeriodSeconds;
      return typeof g === "number" ? g : 30;
    },
  },
  {
    ...core,
    kind: "Node",
    plural: "nodes",
    singular: "node",
    shortNames: ["no"],
    namespaced: false,
    subresources: ["status"],
    hasStatus: true,
    tracksGeneration: false,
    allowCreateOnUpdate: false,
    // A kubelet registers its Node with the status it reports.
    keepsStatusOnCreate: true,
    ...nodePrinter,
    defaults: defaultNode,
    fields: { "spec.unschedulable": (o) => String(get(o, "spec", "unschedulable") === true) },
  },
  {
    ...core,
    kind: "Service",
    plural: "services",
    singular: "service",
    shortNames: ["svc"],
    categories: ["all"],
    namespaced: true,
    subresources: ["status"],
    hasStatus: true,
    tracksGeneration: false,
    ...servicePrinter,
    defaults: defaultService,
    admit: dropTypeDependentFields,
    validate: validateService,
    nameRule: "dns1035",
    storageHooks: serviceStorageHooks,
    fields: { "spec.clusterIP": field("spec", "clusterIP"), "spec.type": field("spec", "type") },
  },
  {
    ...core,
    kind: "Endpoints",
    listKind: "EndpointsList",
    plural: "endpoints",
    singular: "endpoints",
    shortNames: ["ep"],
    namespaced: true,
    ...endpointsPrinter,
    defaults: defaultEndpoints,
  },
  { ...core, kind: "ConfigMap", plural: "configmaps", singular: "configmap", shortNames: ["cm"], namespaced: true, ...configMapPrinter, defaults: defaultConfigMap, validate: validateConfigMap },
  {
    ...core,
    kind: "Secret",
    plural: "secrets",
    singular: "secret",
    namespaced: true,
    ...secretPrinter,
    defaults: defaultSecret,
    validate: validateSecret,
    fields: { type: (o) => str(o.type) },
  },
  {
    ...core,
    kind: "Event",
    plural: "events",
    singular: "event",
    shortNames: ["ev"],
    namespaced: true,
    defaultGarbageCollectionPolicy: "Unsupported",
    ...eventPrinter,
    defaults: defaultEvent,
    fields: {
      "involvedObject.kind": field("involvedObject", "kind"),
      "involvedObject.namespace": field("involvedObject", "namespace"),
      "involvedObject.name": field("involvedObject", "name"),
      "involvedObject.uid": field("involvedObject", "uid"),
      "involvedObject.apiVersion": field("involvedObject", "apiVersion"),
      "involvedObject.resourceVersion": field("involvedObject", "resourceVersion"),
      "involvedObject.fieldPath": field("involvedObject", "fieldPath"),
      reason: field("reason"),
      reportingComponent: field("reportingComponent"),
      source: field("source", "component"),
      type: field("type"),
    },
  },
  {
    ...core,
    kind: "ServiceAccount",
    plural: "serviceaccounts",
    singular: "serviceaccount",
    shortNames: ["sa"],
    namespaced: true,
    ...serviceAccountPrinter,
  },
  {
    ...core,
    kind: "PersistentVolume",
    plural: "persistentvolumes",
    singular: "persistentvolume",
    shortNames: ["pv"],
    namespaced: false,
    subresources: ["status"],
    hasStatus: true,
    tracksGeneration: false,
    ...persistentVolumePrinter,
    defaults: defaultPersistentVolume,
    validate: validatePersistentVolume,
  },
  {
    ...core,
    kind: "PersistentVolumeClaim",
    plural: "persistentvolumeclaims",
    singular: "persistentvolumeclaim",
    shortNames: ["pvc"],
    namespaced: true,
    subresources: ["status"],
    hasStatus: true,
    tracksGeneration: false,
    ...persistentVolumeClaimPrinter,
    defaults: defaultPersistentVolumeClaim,
    validate: validatePersistentVolumeClaim,
  },
  {
    ...core,
    kind: "ReplicationController",
    plural: "replicationcontrollers",
    singular: "replicationcontroller",
    shortNames: ["rc"],
    categories: ["all"],
    namespaced: true,
    subresources: ["status", "scale"],
    hasStatus: true,
    tracksGeneration: true,
    scale: { selectorIsMap: true },
    defaultGarbageCollectionPolicy: "OrphanDependents",
    ...replicationControllerPrinter,
    defaults: defaultReplicationController,
    validate: validateReplicationController,
  },
  {
    ...core,
    kind: "ResourceQuota",
    plural: "resourcequotas",
    singular: "resourcequota",
    shortNames: ["quota"],
    namespaced: true,
    subresources: ["status"],
    hasStatus: true,
    tracksGeneration: false,
    ...resourceQuotaPrinter,
  },
  {
    ...core,
    kind: "PodTemplate",
    plural: "podtemplates",
    singular: "podtemplate",
    namespaced: true,
    ...podTemplatePrinter,
    defaults: (o) => defaultPodSpec((o.template as { spec?: unknown } | undefined)?.spec),
  },
  // No printer upstream either: kubectl shows NAME and CREATED AT.
  { ...core, kind: "LimitRange", plural: "limitranges", singular: "limitrange", shortNames: ["limits"], namespaced: true, defaults: defaultLimitRange },
  {
    ...core,
    kind: "ComponentStatus",
    plural: "componentstatuses",
    singular: "componentstatus",
    shortNames: ["cs"],
    namespaced: false,
    verbs: ["get", "list"],
    readOnly: true,
    ...componentStatusPrinter,
  },
];

/** The declarations with quantity normalisation and validation added (see quantity/). */
export const coreResources: ResourceDef[] = coreDeclarations.map(withQuantities);
