/** The autoscaling/v1 Scale subresource of deployments, replicasets, statefulsets and RCs. */
import { newBadRequest } from "@kubemu/common";
import type { KubeObject } from "../storage/index.js";
import type { ResourceDef } from "../registry/types.js";
import type { PatchType, ResourceStore, WriteOptions } from "./store.js";
import { applyJsonPatch } from "../patch/json-patch.js";
import { applyMergePatch } from "../patch/merge-patch.js";
import { applyStrategicMergePatch } from "../patch/strategic.js";
import { labelSelectorString, mapString } from "../tables/format.js";
import { invalidError } from "./errors.js";
import { parseJsonPath } from "../crd/jsonpath.js";

type Obj = Record<string, any>;

/** The Scale view of an object. */
export function scaleOf(def: ResourceDef, obj: KubeObject): Record<string, unknown> {
  const spec = (obj.spec ?? {}) as Obj;
  const status = (obj.status ?? {}) as Obj;
  if (def.scale?.specReplicasPath) return customScaleOf(def, obj);
  const selector = def.scale?.selectorIsMap ? mapString(spec.selector) : labelSelectorString(spec.selector);
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: typeof spec.replicas === "number" ? spec.replicas : 1 },
    status: { replicas: typeof status.replicas === "number" ? status.replicas : 0, ...(selector !== "<none>" ? { selector } : {}) },
  };
}

/** Scale of a custom resource, read through the CRD's scale paths. */
function customScaleOf(def: ResourceDef, obj: KubeObject): Record<string, unknown> {
  const at = (path: string | undefined): unknown => (path ? parseJsonPath(path).find(obj)[0] : undefined);
  const spec = at(def.scale?.specReplicasPath);
  const status = at(def.scale?.statusReplicasPath);
  const selector = at(def.scale?.labelSelectorPath);
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp },
    spec: { replicas: typeof spec === "number" ? spec : 0 },
    status: { replicas: typeof status === "number" ? status : 0, ...(typeof selector === "string" ? { selector } : {}) },
  };
}

/** A merge patch setting `.a.b.c` to value. */
function patchAt(path: string, value: unknown): Obj {
  const keys = path.replace(/^\./, "").split(".");
  let patch: unknown = value;
  for (const k of keys.reverse()) patch = { [k]: patch };
  return patch as Obj;
}

export const applyScale = {
  patch(type: PatchType, current: Obj, patch: unknown): Obj {
    if (type === "json") return applyJsonPatch(current, patch) as Obj;
    if (type === "merge") return applyMergePatch(current, patch) as Obj;
    return applyStrategicMergePatch(current, patch) as Obj;
  },

  /** Reads the object, applies the Scale change to spec.replicas, writes it back (CAS). */
  async update(
    store: ResourceStore,
    def: ResourceDef,
    ns: string | undefined,
    name: string,
    change: (scale: Obj) => Obj,
    opts: WriteOptions,
  ): Promise<KubeObject> {
    const cur = await store.get(def, ns, name);
    const scale = change(scaleOf(def, cur));
    if (typeof scale !== "object" || scale === null) throw newBadRequest("the Scale body must be an object");
    const replicas = (scale.spec as Obj | undefined)?.replicas;
    if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)
      throw invalidError({ ...def, kind: "Scale", group: "autoscaling" }, name, [
        { reason: "FieldValueInvalid", field: "spec.replicas", message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` },
      ]);
    const rv = (scale.metadata as Obj | undefined)?.resourceVersion;
    const { subresource: _s, ...rest } = opts;
    const patch: Obj = def.scale?.specReplicasPath ? patchAt(def.scale.specReplicasPath, replicas) : { spec: { replicas } };
    if (typeof rv === "string" && rv !== cur.metadata.resourceVersion) patch.metadata = { resourceVersion: rv };
    const { object } = await store.patch(def, ns, name, "merge", patch, rest);
    return object;
  },
};
