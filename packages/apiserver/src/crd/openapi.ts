/**
 * OpenAPI definitions of a custom resource version, named as upstream names them (the group
 * reversed: stable.example.com/v1 CronTab → `com.example.stable.v1.CronTab`): the CRD's schema with
 * apiVersion, kind and metadata added, and the list type. `kubectl explain` reads these.
 */
import type { JSONSchemaProps } from "./structural.js";

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
const API_VERSION_DOC =
  "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DOC =
  "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const METADATA_DOC = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_METADATA_DOC = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/** `com.example.stable.v1.CronTab` for stable.example.com/v1 CronTab. */
export function definitionName(group: string, version: string, kind: string): string {
  return `${group.split(".").reverse().join(".")}.${version}.${kind}`;
}

/** The kind and list definitions of one version, ready for the OpenAPI documents. */
export function openApiDefinitions(group: string, version: string, kind: string, listKind: string, schema: JSONSchemaProps): NonNullable<import("../registry/types.js").ResourceDef["openapi"]> {
  const definition = definitionName(group, version, kind);
  const listDefinition = definitionName(group, version, listKind);
  const { properties, ...rest } = structuredClone(schema);
  const kindSchema: Record<string, unknown> = {
    ...rest,
    type: "object",
    properties: {
      ...properties,
      apiVersion: { description: API_VERSION_DOC, type: "string" },
      kind: { description: KIND_DOC, type: "string" },
      metadata: { description: METADATA_DOC, $ref: `#/definitions/${META}.ObjectMeta` },
    },
    "x-kubernetes-group-version-kind": [{ group, kind, version }],
  };
  const listSchema: Record<string, unknown> = {
    description: `${listKind} is a list of ${kind}`,
    type: "object",
    required: ["items"],
    properties: {
      apiVersion: { description: API_VERSION_DOC, type: "string" },
      items: { description: `List of ${kind.toLowerCase()}s. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md`, type: "array", items: { $ref: `#/definitions/${definition}` } },
      kind: { description: KIND_DOC, type: "string" },
      metadata: { description: LIST_METADATA_DOC, $ref: `#/definitions/${META}.ListMeta` },
    },
    "x-kubernetes-group-version-kind": [{ group, kind: listKind, version }],
  };
  return { definition, listDefinition, schemas: { [definition]: kindSchema, [listDefinition]: listSchema } };
}
