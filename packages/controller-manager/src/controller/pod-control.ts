/**
 * Creating and deleting a controller's pods (upstream's RealPodControl), with the events a
 * real controller records on its object: SuccessfulCreate "Created pod: web-7d9c6-abcde",
 * FailedCreate "Error creating: ...", SuccessfulDelete, FailedDelete.
 */
import type { KubeObject, ResourceRef } from "@kubemu/common";
import { Resources, isNotFound } from "@kubemu/common";
import type { Pod, PodTemplateSpec } from "kubernetes-types/core/v1.js";
import type { ControllerClient } from "./client.js";
import { newControllerRef } from "./controller-ref.js";
import type { Recorder } from "./context.js";

export type PodObject = Pod & KubeObject;

/** Names longer than this leave no room for the 5-character random suffix. */
const MAX_GENERATE_NAME_PREFIX = 58;

/** `<owner>-`, as upstream's getPodsPrefix (a prefix too long for a name is cut). */
export function podNamePrefix(ownerName: string): string {
  const prefix = `${ownerName}-`;
  return prefix.length > MAX_GENERATE_NAME_PREFIX ? prefix.slice(0, MAX_GENERATE_NAME_PREFIX) : prefix;
}

/** The pod a controller creates from its template (upstream's GetPodFromTemplate). */
export function podFromTemplate(template: PodTemplateSpec, owner: KubeObject, ownerResource: ResourceRef): PodObject {
  const meta = template.metadata ?? {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: podNamePrefix(owner.metadata.name!),
      namespace: owner.metadata.namespace,
      labels: { ...(meta.labels ?? {}) },
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [newControllerRef(owner, ownerResource)],
    },
    spec: structuredClone(template.spec ?? { containers: [] }),
  } as PodObject;
}

export class PodControl {
  constructor(
    private readonly client: ControllerClient,
    private readonly recorder: Recorder,
  ) {}

  /** Creates `pod` for `owner` and records the outcome on it; rejects with the API's error. */
  async create(pod: PodObject, owner: KubeObject): Promise<PodObject> {
    try {
      const created = await this.client.create<PodObject>(Resources.pods, pod, { namespace: owner.metadata.namespace! });
      this.recorder.event(owner, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata.name}`);
      return created;
    } catch (e) {
      // A terminating namespace rejects every create; upstream records nothing for it.
      if (!isNamespaceTerminating(e)) this.recorder.event(owner, "Warning", "FailedCreate", `Error creating: ${messageOf(e)}`);
      throw e;
    }
  }

  /** Deletes the pod and records it; a pod already gone counts as deleted (resolves false). */
  async delete(namespace: string, name: string, owner: KubeObject, opts: { uid?: string } = {}): Promise<boolean> {
    try {
      await this.client.delete(Resources.pods, namespace, name, opts.uid ? { preconditions: { uid: opts.uid } } : {});
      this.recorder.event(owner, "Normal", "SuccessfulDelete", `Deleted pod: ${name}`);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      this.recorder.event(owner, "Warning", "FailedDelete", `Error deleting: ${messageOf(e)}`);
      throw e;
    }
  }
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The create failed because its namespace is being deleted (upstream's NamespaceTerminatingCause;
 * a StatusCause's type travels as "reason" on the wire, as the API server's lifecycle admission sends it).
 */
export function isNamespaceTerminating(e: unknown): boolean {
  const causes = (e as { status?: { details?: { causes?: { reason?: string }[] } } }).status?.details?.causes ?? [];
  return causes.some((c) => c.reason === "NamespaceTerminating");
}
