/**
 * The scale of a pod's controller, which percentages in a PodDisruptionBudget are taken of
 * (upstream's disruption controller finders): a ReplicationController, the Deployment over a
 * ReplicaSet (or the ReplicaSet itself when no Deployment owns it), a StatefulSet — from the
 * listers — and any other kind through its scale subresource (custom resources: the CRD's
 * specReplicasPath). A reference that no longer resolves (deleted, uid changed) has no scale.
 */
import type { KubeObject, Lister, OwnerReference, ResourceRef } from "@kubemu/common";
import { Resources, isNotFound, qualifiedName } from "@kubemu/common";
import type { ControllerClient } from "../../controller/client.js";
import { controllerOf } from "../../controller/controller-ref.js";

type Scalable = KubeObject & { spec?: { replicas?: number } };

export interface FinderListers {
  replicationControllers: Lister<Scalable>;
  replicaSets: Lister<Scalable>;
  deployments: Lister<Scalable>;
  statefulSets: Lister<Scalable>;
}

export interface ControllerScale {
  uid: string;
  scale: number;
}

function groupOf(apiVersion: string | undefined): string {
  const v = apiVersion ?? "";
  return v.includes("/") ? v.slice(0, v.indexOf("/")) : "";
}

function isKind(ref: OwnerReference, kind: string, groups: readonly string[]): boolean {
  return ref.kind === kind && groups.includes(groupOf(ref.apiVersion));
}

/** The live object a reference names, if it is still that object. */
function resolve(lister: Lister<Scalable>, namespace: string, ref: OwnerReference): Scalable | undefined {
  const o = lister.get(namespace, ref.name);
  return o && o.metadata.uid === ref.uid ? o : undefined;
}

const replicas = (o: Scalable) => o.spec?.replicas ?? 1;

/** Reads `.spec.replicas`-style paths (a CRD's specReplicasPath). */
function readPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const part of path.replace(/^\./, "").split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

interface CrdObject extends KubeObject {
  spec?: { group?: string; names?: { kind?: string; plural?: string }; scope?: string; versions?: { name: string; served?: boolean; subresources?: { scale?: { specReplicasPath?: string } } }[] };
}

export class ControllerFinders {
  constructor(
    private readonly listers: FinderListers,
    private readonly client: ControllerClient,
  ) {}

  /** The controller's uid and scale, undefined when no finder resolves it; throws for a kind without a scale. */
  async find(ref: OwnerReference, namespace: string): Promise<ControllerScale | undefined> {
    const l = this.listers;
    if (isKind(ref, "ReplicationController", [""])) {
      const rc = resolve(l.replicationControllers, namespace, ref);
      return rc ? { uid: rc.metadata.uid!, scale: replicas(rc) } : undefined;
    }
    if (isKind(ref, "ReplicaSet", ["apps", "extensions"])) {
      const rs = resolve(l.replicaSets, namespace, ref);
      if (!rs) return undefined;
      const owner = controllerOf(rs);
      if (owner && owner.kind === "Deployment") {
        if (!isKind(owner, "Deployment", ["apps", "extensions"])) return undefined;
        const d = resolve(l.deployments, namespace, owner);
        return d ? { uid: d.metadata.uid!, scale: replicas(d) } : undefined;
      }
      return { uid: rs.metadata.uid!, scale: replicas(rs) };
    }
    if (isKind(ref, "StatefulSet", ["apps"])) {
      const ss = resolve(l.statefulSets, namespace, ref);
      return ss ? { uid: ss.metadata.uid!, scale: replicas(ss) } : undefined;
    }
    return this.fromScale(ref, namespace);
  }

  /** Any other kind: a custom resource with a scale subresource, read through the API. */
  private async fromScale(ref: OwnerReference, namespace: string): Promise<ControllerScale | undefined> {
    const group = groupOf(ref.apiVersion);
    const version = (ref.apiVersion ?? "").slice(group ? group.length + 1 : 0);
    const builtin = Object.values(Resources).find((r: ResourceRef) => r.group === group && r.kind === ref.kind && r.version === version);
    if (builtin) throw new Error(`${qualifiedName(builtin)} does not implement the scale subresource`);
    const crds = await this.client.list<CrdObject>(Resources.customResourceDefinitions);
    const crd = crds.items.find((c) => c.spec?.group === group && c.spec?.names?.kind === ref.kind);
    const served = crd?.spec?.versions?.find((v) => v.name === version && v.served !== false);
    if (!crd || !served) throw new Error(`no matches for kind "${ref.kind}" in version "${ref.apiVersion}"`);
    const plural = crd.spec!.names!.plural!;
    const scale = served.subresources?.scale;
    if (!scale) throw new Error(`${plural}.${group} does not implement the scale subresource`);
    const resource: ResourceRef = { group, version, resource: plural, kind: ref.kind, namespaced: crd.spec!.scope !== "Cluster" };
    let obj: KubeObject;
    try {
      obj = await this.client.get(resource, resource.namespaced ? namespace : undefined, ref.name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    if (obj.metadata.uid !== ref.uid) return undefined;
    const n = readPath(obj, scale.specReplicasPath ?? ".spec.replicas");
    return { uid: obj.metadata.uid!, scale: typeof n === "number" ? n : 0 };
  }
}
