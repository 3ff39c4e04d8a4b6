/**
 * The shapes every Kubernetes object and list share, as the API servers store and serve them and
 * every component reads them. Only metadata is typed; the rest of an object is opaque JSON.
 */
import type { Status } from "../status.js";

/** metav1.OwnerReference. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** metav1.ObjectMeta: the fields storage and the registry read or write. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
}

/** Any Kubernetes object. Storage treats everything but `metadata` as opaque JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** metav1.ListMeta. */
export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

/** A list envelope (`PodList`, a CRD's `listKind`...). */
export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: T[];
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

/**
 * One watch event. DELETED carries the object's last state, with resourceVersion set to the
 * revision of the deletion. BOOKMARK carries an object of the resource's kind holding only
 * `metadata.resourceVersion`. ERROR carries a Status (410 Expired when the start revision is
 * compacted) and ends the watch.
 */
export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject | Status;
}

