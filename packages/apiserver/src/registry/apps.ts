/** apps/v1 and batch/v1 resource declarations. */
import type { FieldError, ResourceDef } from "./types.js";
import type { KubeObject } from "../storage/index.js";
import { withQuantities } from "../quantity/index.js";
import { admitDaemonSetTemplateGeneration } from "../admission/daemonsets.js";
import {
  controllerRevisionPrinter,
  cronJobPrinter,
  daemonSetPrinter,
  deploymentPrinter,
  jobPrinter,
  replicaSetPrinter,
  statefulSetPrinter,
} from "../tables/workloads.js";
import { defaultCronJob, defaultDaemonSet, defaultDeployment, defaultJob, defaultReplicaSet, defaultStatefulSet } from "../defaults/workloads.js";
import {
  validateCronJob,
  validateDaemonSet,
  validateDeployment,
  validateJob,
  validateReplicaSet,
  validateStatefulSet,
} from "../validation/workloads.js";

/**
 * rollingUpdate is only allowed with type RollingUpdate. StatefulSet's updateStrategy has no
 * retainKeys patch strategy, so `kubectl patch … {"type":"OnDelete"}` keeps the defaulted
 * rollingUpdate and a real API server refuses it (the StatefulSet Basics tutorial's known trap).
 */
function statefulSetStrategyRules(o: KubeObject): FieldError[] {
  const strategy = (o.spec as { updateStrategy?: { type?: unknown; rollingUpdate?: { partition?: unknown } | null } } | undefined)?.updateStrategy;
  if (strategy?.type !== "OnDelete" || strategy.rollingUpdate === undefined || strategy.rollingUpdate === null) return [];
  const partition = typeof strategy.rollingUpdate.partition === "number" ? strategy.rollingUpdate.partition : 0;
  return [
    {
      reason: "FieldValueInvalid",
      field: "spec.updateStrategy.rollingUpdate",
      // Go's %#v of the internal struct, as upstream prints it.
      message: `Invalid value: apps.RollingUpdateStatefulSetStrategy{Partition:${partition}, MaxUnavailable:(*intstr.IntOrString)(nil)}: only allowed for updateStrategy 'RollingUpdate'`,
    },
  ];
}

const apps = { group: "apps", version: "v1" } as const;
const batch = { group: "batch", version: "v1" } as const;
const workload = { namespaced: true, categories: ["all"], hasStatus: true, tracksGeneration: true } as const;

const appsDeclarations: ResourceDef[] = [
  {
    ...apps,
    ...workload,
    kind: "Deployment",
    plural: "deployments",
    singular: "deployment",
    shortNames: ["deploy"],
    subresources: ["status", "scale"],
    statusWritesMetadata: true,
    scale: {},
    ...deploymentPrinter,
    defaults: defaultDeployment,
    validate: validateDeployment,
  },
  {
    ...apps,
    ...workload,
    kind: "ReplicaSet",
    plural: "replicasets",
    singular: "replicaset",
    shortNames: ["rs"],
    subresources: ["status", "scale"],
    scale: {},
    ...replicaSetPrinter,
    defaults: defaultReplicaSet,
    validate: validateReplicaSet,
  },
  {
    ...apps,
    ...workload,
    kind: "StatefulSet",
    plural: "statefulsets",
    singular: "statefulset",
    shortNames: ["sts"],
    subresources: ["status", "scale"],
    scale: {},
    ...statefulSetPrinter,
    defaults: defaultStatefulSet,
    validate: (o, old) => [...validateStatefulSet(o, old), ...statefulSetStrategyRules(o)],
  },
  {
    ...apps,
    ...workload,
    kind: "DaemonSet",
    plural: "daemonsets",
    singular: "daemonset",
    shortNames: ["ds"],
    subresources: ["status"],
    ...daemonSetPrinter,
    defaults: defaultDaemonSet,
    admit: admitDaemonSetTemplateGeneration,
    validate: validateDaemonSet,
  },
  {
    ...apps,
    kind: "ControllerRevision",
    plural: "controllerrevisions",
    singular: "controllerrevision",
    namespaced: true,
    ...controllerRevisionPrinter,
  },
  {
    ...batch,
    ...workload,
    kind: "Job",
    plural: "jobs",
    singular: "job",
    subresources: ["status"],
    defaultGarbageCollectionPolicy: "OrphanDependents",
    ...jobPrinter,
    defaults: defaultJob,
    validate: validateJob,
  },
  {
    ...batch,
    ...workload,
    kind: "CronJob",
    plural: "cronjobs",
    singular: "cronjob",
    shortNames: ["cj"],
    subresources: ["status"],
    ...cronJobPrinter,
    defaults: defaultCronJob,
    validate: validateCronJob,
  },
];

/** The declarations with quantity normalisation and validation added (see quantity/). */
export const appsResources: ResourceDef[] = appsDeclarations.map(withQuantities);
