/**
 * Every resource the API servers serve, for controllers that act on all of them (the garbage
 * collector's monitors, the namespace controller's content deletion): the built-ins in
 * `Resources` plus each established CustomResourceDefinition's served versions. It stands in
 * for upstream's discovery and RESTMapper: the CRDs come from an informer, so a new CRD is seen
 * as soon as it is established, without discovery polling.
 */
import type { KubeObject, ResourceRef } from "@kubemu/common";
import { Resources, apiVersionOf } from "@kubemu/common";

interface CrdVersion {
  name?: string;
  served?: boolean;
}

interface Crd extends KubeObject {
  spec?: { group?: string; scope?: string; names?: { plural?: string; kind?: string }; versions?: CrdVersion[] };
  status?: { acceptedNames?: { plural?: string; kind?: string }; conditions?: { type?: string; status?: string }[] };
}

/** The built-in resources, each once (every value of `Resources`). */
export const BUILTIN_RESOURCES: readonly ResourceRef[] = Object.values(Resources);

/** A served version of a CRD as a resource reference; none until the CRD is Established. */
export function crdResources(obj: KubeObject): ResourceRef[] {
  const crd = obj as Crd;
  const established = crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;
  const group = crd.spec?.group;
  // Discovery serves the accepted names (a name another CRD holds is not accepted).
  const plural = crd.status?.acceptedNames?.plural || undefined;
  const kind = crd.status?.acceptedNames?.kind || undefined;
  if (!established || !group || !plural || !kind) return [];
  const namespaced = crd.spec?.scope !== "Cluster";
  return (crd.spec?.versions ?? [])
    .filter((v): v is CrdVersion & { name: string } => v.served === true && typeof v.name === "string" && v.name !== "")
    .map((v) => Object.freeze({ group, version: v.name, resource: plural, kind, namespaced }));
}

/** `apps/v1/replicasets`: a resource's identity. */
export function resourceKey(r: Pick<ResourceRef, "group" | "version" | "resource">): string {
  return `${r.group}/${r.version}/${r.resource}`;
}

/** A snapshot of the served resources, looked up by resource or by apiVersion + kind (the RESTMapper's job). */
export class ServedResources {
  private readonly byKey = new Map<string, ResourceRef>();
  private readonly byKind = new Map<string, ResourceRef>();

  constructor(readonly all: readonly ResourceRef[]) {
    for (const r of all) {
      this.byKey.set(resourceKey(r), r);
      const k = `${apiVersionOf(r)}|${r.kind}`;
      if (!this.byKind.has(k)) this.byKind.set(k, r);
    }
  }

  /** The built-ins plus the resources of these CRDs. */
  static from(crds: readonly KubeObject[]): ServedResources {
    return new ServedResources([...BUILTIN_RESOURCES, ...crds.flatMap(crdResources)]);
  }

  get(key: string): ResourceRef | undefined {
    return this.byKey.get(key);
  }

  /** The resource serving `kind` at `apiVersion` ("apps/v1", "ReplicaSet"), if any. */
  forKind(apiVersion: string, kind: string): ResourceRef | undefined {
    return this.byKind.get(`${apiVersion}|${kind}`);
  }
}
