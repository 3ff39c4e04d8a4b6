/**
 * OpenAPI for the API server: the served documents (`/openapi/v2`, `/openapi/v3`, per-group-version
 * v3 documents) and the schema lookups request handling needs (kind schemas, strategic-merge-patch
 * keys, unknown fields for fieldValidation=Strict). All data is generated from maintained sources
 * by scripts/gen-k8s-schema.mjs.
 */
export { openApiV2Document, openApiV3Document, openApiV3Index, servedGroupVersions, type SerializedDocument } from "./documents.js";
export { patchMergeKeys, unknownFields, unknownFieldsOf, type PatchMeta } from "./fields.js";
export { definitionNameFor, definitions, resolveSchema, schemaFor, schemaSource, type GroupVersionKind, type Schema } from "./schema.js";
export { OPENAPI_V2_PROTOBUF, openApiV2Protobuf } from "./v2-protobuf.js";
export { defaultResources, groupVersionOf, v3PathOf, type OpenApiResource } from "./served.js";
