/**
 * Finding or creating the ReplicaSet that runs the Deployment's current template, and keeping
 * revisions in step (upstream's getAllReplicaSetsAndSyncRevision / getNewReplicaSet): the new
 * ReplicaSet's revision is one past the highest old one, the Deployment carries the same
 * revision, and a name taken by a different template is a hash collision that bumps
 * status.collisionCount so the next try hashes differently.
 */
import { Resources, StatusError, isAlreadyExists, type KubeObject } from "@kubemu/common";
import { newControllerRef } from "../../controller/controller-ref.js";
import { computeHash } from "../../controller/hash.js";
import { controllerOf } from "../../controller/controller-ref.js";
import { setDeploymentRevision, setNewReplicaSetAnnotations } from "./annotations.js";
import { getCondition, hasProgressDeadline, newCondition, setCondition } from "./conditions.js";
import { type DeploymentDeps, quote, updateDeploymentStatus, updateReplicaSet } from "./deps.js";
import { newRSNewReplicas } from "./replicas.js";
import { equalIgnoreHash, findNewReplicaSet, findOldReplicaSets, maxRevision } from "./replica-sets.js";
import type { Deployment, ReplicaSet } from "./types.js";
import { ConditionTypes, MAX_REVISION_HISTORY_CHARS, POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, Reasons } from "./types.js";

export interface AllReplicaSets {
  newRS: ReplicaSet | undefined;
  oldRSs: ReplicaSet[];
}

/** The namespace is being deleted: every create would fail, so there is nothing to report. */
function isNamespaceTerminating(e: unknown): boolean {
  return e instanceof StatusError && !!e.status.details?.causes?.some((c) => c.reason === "NamespaceTerminating");
}

/**
 * The new ReplicaSet (created when missing and `create` is set) and all the old ones, with the
 * new one's and the Deployment's revision brought up to date.
 */
export async function getAllReplicaSetsAndSyncRevision(deps: DeploymentDeps, d: Deployment, rsList: readonly ReplicaSet[], create: boolean): Promise<AllReplicaSets> {
  const oldRSs = findOldReplicaSets(d, rsList);
  const newRS = await getNewReplicaSet(deps, d, rsList, oldRSs, create);
  return { newRS, oldRSs };
}

async function getNewReplicaSet(deps: DeploymentDeps, d: Deployment, rsList: readonly ReplicaSet[], oldRSs: readonly ReplicaSet[], create: boolean): Promise<ReplicaSet | undefined> {
  const existing = findNewReplicaSet(d, rsList);
  const newRevision = String(maxRevision(oldRSs) + 1);
  const warn = (msg: string) => deps.logger.info({ deployment: `${d.metadata.namespace}/${d.metadata.name}` }, msg);

  if (existing) {
    const rsCopy = structuredClone(existing);
    // Bring the new ReplicaSet's annotations (change-cause, revision) and minReadySeconds in line first.
    const annotationsUpdated = setNewReplicaSetAnnotations(d, rsCopy, newRevision, true, MAX_REVISION_HISTORY_CHARS, warn);
    const minReadySeconds = d.spec.minReadySeconds ?? 0;
    if (annotationsUpdated || (rsCopy.spec.minReadySeconds ?? 0) !== minReadySeconds) {
      rsCopy.spec.minReadySeconds = minReadySeconds;
      return updateReplicaSet(deps, rsCopy);
    }
    // The revision the ReplicaSet already has is the one to show on the Deployment.
    let needsUpdate = setDeploymentRevision(d, rsCopy.metadata.annotations?.[REVISION_ANNOTATION] ?? "");
    // A Deployment that never had a Progressing condition starts counting from the first time its new ReplicaSet was seen.
    if (hasProgressDeadline(d) && !getCondition(d.status, ConditionTypes.progressing)) {
      const status = (d.status ??= {});
      setCondition(status, newCondition(deps.clock.now(), ConditionTypes.progressing, "True", Reasons.foundNewRS, `Found new replica set ${quote(rsCopy.metadata.name)}`));
      needsUpdate = true;
    }
    if (needsUpdate) await updateDeploymentStatus(deps, d);
    return rsCopy;
  }

  if (!create) return undefined;

  const template = structuredClone(d.spec.template);
  const hash = computeHash(template, d.status?.collisionCount);
  const labels = { ...(d.spec.template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  template.metadata = { ...(template.metadata ?? {}), labels };
  const selector = structuredClone(d.spec.selector);
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const newRS: ReplicaSet = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      // A deterministic name makes the create idempotent.
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      ownerReferences: [newControllerRef(d, Resources.deployments)],
      labels: { ...labels },
    },
    spec: { replicas: 0, minReadySeconds: d.spec.minReadySeconds ?? 0, selector, template },
  };
  const replicas = newRSNewReplicas(d, [...oldRSs, newRS], newRS);
  newRS.spec.replicas = replicas;
  setNewReplicaSetAnnotations(d, newRS, newRevision, false, MAX_REVISION_HISTORY_CHARS, warn);

  let created: ReplicaSet;
  let alreadyExists = false;
  try {
    created = await deps.client.create<ReplicaSet>(Resources.replicaSets, newRS);
  } catch (e) {
    if (isAlreadyExists(e)) {
      alreadyExists = true;
      // Slow cache or fast resync: the one there may be ours already.
      const rs = deps.replicaSets.get(newRS.metadata.namespace, newRS.metadata.name!);
      if (!rs) throw e;
      const ref = controllerOf(rs);
      if (ref && ref.uid === d.metadata.uid && equalIgnoreHash(d.spec.template, rs.spec.template)) {
        created = rs;
      } else {
        // A different template under our name: a hash collision. Count it and let the retry hash again.
        const status = (d.status ??= {});
        const before = status.collisionCount ?? 0;
        status.collisionCount = before + 1;
        try {
          await updateDeploymentStatus(deps, d);
          deps.logger.info({ deployment: `${d.metadata.namespace}/${d.metadata.name}`, oldCollisionCount: before, newCollisionCount: before + 1 }, "Found a hash collision for deployment - bumping collisionCount to resolve it");
        } catch {
          // The original error is what requeues the Deployment.
        }
        throw e;
      }
    } else if (isNamespaceTerminating(e)) {
      throw e;
    } else {
      const msg = `Failed to create new replica set ${quote(newRS.metadata.name)}: ${e instanceof Error ? e.message : String(e)}`;
      if (hasProgressDeadline(d)) {
        setCondition((d.status ??= {}), newCondition(deps.clock.now(), ConditionTypes.progressing, "False", Reasons.failedRSCreate, msg));
        // The create failure is the bigger problem to report; this write may fail too.
        await updateDeploymentStatus(deps, d).catch(() => undefined);
      }
      deps.recorder.event(d as KubeObject, "Warning", Reasons.failedRSCreate, msg);
      throw e;
    }
  }
  if (!alreadyExists && replicas > 0) deps.recorder.event(d, "Normal", "ScalingReplicaSet", `Scaled up replica set ${created.metadata.name} from 0 to ${replicas}`);

  let needsUpdate = setDeploymentRevision(d, newRevision);
  if (!alreadyExists && hasProgressDeadline(d)) {
    setCondition((d.status ??= {}), newCondition(deps.clock.now(), ConditionTypes.progressing, "True", Reasons.newReplicaSet, `Created new replica set ${quote(created.metadata.name)}`));
    needsUpdate = true;
  }
  if (needsUpdate) await updateDeploymentStatus(deps, d);
  return created;
}
