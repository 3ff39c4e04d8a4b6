/** The shapes the StatefulSet controller reads and writes. */
import type { KubeObject } from "@kubemu/common";
import type { StatefulSet, StatefulSetSpec, StatefulSetStatus } from "kubernetes-types/apps/v1.js";
import type { PersistentVolumeClaim } from "kubernetes-types/core/v1.js";
import type { PodObject } from "../../controller/pod-control.js";

export type { PodObject };

export type StatefulSetObject = Omit<StatefulSet, "metadata" | "spec" | "status"> & KubeObject & { spec: StatefulSetSpec; status?: StatefulSetStatus };

export type ClaimObject = Omit<PersistentVolumeClaim, "metadata"> & KubeObject;

/** The status the controller computes (apps/v1 StatefulSetStatus without conditions, which it never sets). */
export interface SetStatus {
  observedGeneration: number;
  replicas: number;
  readyReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  currentRevision: string;
  updateRevision: string;
  collisionCount: number;
}

/** Pod and claim labels the controller sets (apps/v1 constants). */
export const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";
export const REVISION_LABEL = "controller-revision-hash";
