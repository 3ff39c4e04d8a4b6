/**
 * The two kinds one sync serves (upstream runs the ReplicaSet controller for ReplicationControllers
 * too, converting an RC to a ReplicaSet on the way in): what differs is the resource, the event
 * source, and the selector — a LabelSelector on a ReplicaSet, a plain label map on an RC.
 */
import type { KubeObject, LabelRequirement, LabelSelector, ResourceRef } from "@kubemu/common";
import { Resources, labelSelectorOf } from "@kubemu/common";
import type { PodTemplateSpec } from "kubernetes-types/core/v1.js";

/** A ReplicaSet or ReplicationController condition (the same fields on both). */
export interface ReplicaCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface ReplicaStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: ReplicaCondition[];
}

/** The part of a ReplicaSet / ReplicationController the sync reads. */
export type ReplicaOwner = KubeObject & {
  spec?: {
    replicas?: number;
    minReadySeconds?: number;
    /** LabelSelector on a ReplicaSet, a label map on a ReplicationController. */
    selector?: unknown;
    template?: PodTemplateSpec;
  };
  status?: ReplicaStatus;
};

export interface ReplicaKind {
  resource: ResourceRef;
  kind: "ReplicaSet" | "ReplicationController";
  /** The queue's and logs' name (upstream's queue names "replicaset", "replicationmanager"). */
  queueName: string;
  /** Events' source.component. */
  component: string;
  /**
   * The owner's pod selector; undefined when it selects nothing (nil) or cannot be parsed (an
   * invalid one is logged by the caller and the object left alone, as upstream).
   */
  selector(owner: ReplicaOwner): LabelSelector | undefined;
}

const OPERATORS: Readonly<Record<string, LabelRequirement["op"]>> = { In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!" };

/** metav1.LabelSelectorAsSelector: nil selects nothing, {} everything, a bad operator is an error. */
export function labelSelectorAsSelector(sel: unknown): LabelSelector | undefined {
  if (sel === undefined || sel === null) return undefined;
  if (typeof sel !== "object") throw new Error(`invalid label selector ${JSON.stringify(sel)}`);
  const s = sel as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  const reqs: LabelRequirement[] = Object.entries(s.matchLabels ?? {}).map(([key, v]) => ({ key, op: "=" as const, values: [v] }));
  for (const e of s.matchExpressions ?? []) {
    const op = Object.prototype.hasOwnProperty.call(OPERATORS, e.operator) ? OPERATORS[e.operator]! : undefined;
    if (!op) throw new Error(`"${e.operator}" is not a valid label selector operator`);
    const values = e.values ?? [];
    if ((op === "in" || op === "notin") && values.length === 0) throw new Error(`for 'in', 'notin' operators, values set can't be empty`);
    if ((op === "exists" || op === "!") && values.length > 0) throw new Error(`values set must be empty for exists and does not exist`);
    reqs.push({ key: e.key, op, values });
  }
  return labelSelectorOf(reqs);
}

/** A ReplicationController's label map as a selector (upstream converts it to matchLabels). */
export function mapSelector(sel: unknown): LabelSelector | undefined {
  if (sel === undefined || sel === null) return undefined;
  if (typeof sel !== "object") throw new Error(`invalid selector ${JSON.stringify(sel)}`);
  return labelSelectorOf(Object.entries(sel as Record<string, string>).map(([key, v]) => ({ key, op: "=" as const, values: [v] })));
}

export const REPLICA_SET: ReplicaKind = {
  resource: Resources.replicaSets,
  kind: "ReplicaSet",
  queueName: "replicaset",
  component: "replicaset-controller",
  selector: (rs) => labelSelectorAsSelector(rs.spec?.selector),
};

export const REPLICATION_CONTROLLER: ReplicaKind = {
  resource: Resources.replicationControllers,
  kind: "ReplicationController",
  queueName: "replicationmanager",
  component: "replication-controller",
  selector: (rc) => mapSelector(rc.spec?.selector),
};
