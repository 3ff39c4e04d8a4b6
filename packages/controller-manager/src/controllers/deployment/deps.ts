/**
 * What the Deployment controller's sync works with, as plain parts so unit tests can build it
 * from a FakeClient and listers over its objects: the client it writes through, the listers it
 * reads, the recorder, the clock, and the queue it requeues progress checks on.
 */
import type { Clock, Lister, Logger } from "@kubemu/common";
import { Resources } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import type { Recorder } from "../../controller/context.js";
import type { Deployment, PodObject, ReplicaSet } from "./types.js";

export interface RequeueQueue {
  addAfter(key: string, ms: number): void;
  addRateLimited(key: string): void;
}

export interface DeploymentDeps {
  client: ControllerClient;
  recorder: Recorder;
  clock: Clock;
  logger: Logger;
  deployments: Lister<Deployment>;
  replicaSets: Lister<ReplicaSet>;
  pods: Lister<PodObject>;
  queue: RequeueQueue;
}

/**
 * Writes the Deployment's status (and, as upstream's deployment status strategy allows, its
 * annotations) and keeps the new resourceVersion on `d`, so a later write in the same sync is
 * not refused as stale.
 */
export async function updateDeploymentStatus(deps: DeploymentDeps, d: Deployment): Promise<void> {
  const written = await deps.client.updateStatus<Deployment>(Resources.deployments, d);
  d.metadata.resourceVersion = written.metadata.resourceVersion;
}

/** Updates a ReplicaSet; returns what the API stored. */
export function updateReplicaSet(deps: DeploymentDeps, rs: ReplicaSet): Promise<ReplicaSet> {
  return deps.client.update<ReplicaSet>(Resources.replicaSets, rs);
}

/** Go's %q for the names in messages. */
export function quote(s: string | undefined): string {
  return JSON.stringify(s ?? "");
}
