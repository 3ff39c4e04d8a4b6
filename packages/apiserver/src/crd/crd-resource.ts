/**
 * The `customresourcedefinitions` resource (apiextensions.k8s.io/v1, cluster-scoped, short names
 * crd/crds): defaulting as upstream's v1 defaults, validation, stored versions, and the cleanup
 * finalizer a DELETE adds so instances go before the definition does.
 */
import type { ResourceDef } from "../registry/types.js";
import type { KubeObject } from "../storage/index.js";
import { validateCrd } from "./crd-validation.js";

/** The finalizer under which the CRD controller deletes every instance before the CRD goes. */
export const CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Upstream's SetDefaults for v1 CRDs, plus status.storedVersions gaining the storage version. */
export function defaultCrd(crd: KubeObject): void {
  if (!isObj(crd.spec)) return;
  const spec = crd.spec;
  if (isObj(spec.names)) {
    const names = spec.names;
    if (typeof names.kind === "string" && names.kind) {
      if (!names.singular) names.singular = names.kind.toLowerCase();
      if (!names.listKind) names.listKind = `${names.kind}List`;
    }
  }
  if (!isObj(spec.conversion)) spec.conversion = { strategy: "None" };
  else if (!spec.conversion.strategy) spec.conversion.strategy = "None";
  const status: Obj = isObj(crd.status) ? crd.status : (crd.status = {});
  const stored = Array.isArray(status.storedVersions) ? (status.storedVersions as unknown[]) : [];
  for (const v of Array.isArray(spec.versions) ? spec.versions : []) {
    if (isObj(v) && v.storage === true && typeof v.name === "string" && !stored.includes(v.name)) stored.push(v.name);
  }
  status.storedVersions = stored;
  if (!isObj(status.acceptedNames)) status.acceptedNames = { plural: "", kind: "" };
  if (!Array.isArray(status.conditions)) delete status.conditions;
}

/** The declaration of customresourcedefinitions. */
export const crdResource: ResourceDef = {
  group: "apiextensions.k8s.io",
  version: "v1",
  kind: "CustomResourceDefinition",
  plural: "customresourcedefinitions",
  singular: "customresourcedefinition",
  shortNames: ["crd", "crds"],
  categories: ["api-extensions"],
  namespaced: false,
  subresources: ["status"],
  hasStatus: true,
  tracksGeneration: true,
  storagePrefix: "/registry/apiextensions.k8s.io/customresourcedefinitions/",
  deleteFinalizers: [CRD_CLEANUP_FINALIZER],
  defaults: defaultCrd,
  validate: (obj, old) => validateCrd(obj, old),
};
