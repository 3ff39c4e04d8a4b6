/** The shapes and the annotation names the PV controller reads and writes (component-helpers' storage/volume). */
import type { KubeObject } from "@kubemu/common";
import type { PersistentVolume, PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeSpec } from "kubernetes-types/core/v1.js";
import type { StorageClass } from "kubernetes-types/storage/v1.js";

export type VolumeObject = Omit<PersistentVolume, "metadata" | "spec"> & KubeObject & { spec: PersistentVolumeSpec };
export type ClaimObject = Omit<PersistentVolumeClaim, "metadata" | "spec"> & KubeObject & { spec: PersistentVolumeClaimSpec };
export type ClassObject = Omit<StorageClass, "metadata"> & KubeObject;

/** On a claim: its binding has been set up once (the value does not matter). */
export const ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed";
/** On a PV or claim: the controller (not the user) made the binding. */
export const ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller";
/** On a PV: the provisioner that made it. */
export const ANN_DYNAMICALLY_PROVISIONED = "pv.kubernetes.io/provisioned-by";
/** On a claim: the provisioner asked to make its volume (and the deprecated beta spelling, still written). */
export const ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner";
export const ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner";
/** On a claim: the node the scheduler chose for a WaitForFirstConsumer claim's volume. */
export const ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node";
/** On a PV or claim: CSI migration hands the object to an external provisioner (the controller stands down). */
export const ANN_MIGRATED_TO = "pv.kubernetes.io/migrated-to";
export const ANN_BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class";
export const ANN_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class";
export const ANN_BETA_DEFAULT_CLASS = "storageclass.beta.kubernetes.io/is-default-class";
/** A StorageClass provisioner that provisions nothing (local volumes made by an administrator). */
export const NOT_SUPPORTED_PROVISIONER = "kubernetes.io/no-provisioner";

/** Event reasons (pkg/controller/volume/events). */
export const Reasons = {
  FailedBinding: "FailedBinding",
  VolumeMismatch: "VolumeMismatch",
  VolumeFailedRecycle: "VolumeFailedRecycle",
  VolumeRecycled: "VolumeRecycled",
  RecyclerPod: "RecyclerPod",
  VolumeDelete: "VolumeDelete",
  VolumeFailedDelete: "VolumeFailedDelete",
  ExternalProvisioning: "ExternalProvisioning",
  ProvisioningFailed: "ProvisioningFailed",
  WaitForFirstConsumer: "WaitForFirstConsumer",
  WaitForPodScheduled: "WaitForPodScheduled",
} as const;
