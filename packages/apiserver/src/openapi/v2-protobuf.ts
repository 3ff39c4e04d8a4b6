/**
 * `/openapi/v2` in the protobuf form kubectl asks for (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`,
 * gnostic's `openapi.v2.Document`). kubectl's client-side validation reads the definitions from it;
 * without it, `kubectl apply -f` of an old or unknown apiVersion fails validation with "the server
 * could not find the requested resource" instead of reaching "no matches for kind".
 *
 * Only what kubectl reads is encoded: swagger, info and the definitions (schemas with their
 * vendor extensions). Field numbers are gnostic's OpenAPIv2.proto.
 */
import protobuf from "protobufjs";
import type { Schema } from "./schema.js";
import type { SerializedDocument } from "./documents.js";

/** The media type the protobuf document is served with. */
export const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

const repeated = (type: string, id: number) => ({ rule: "repeated", type, id });
const field = (type: string, id: number) => ({ type, id });

// The subset of gnostic's openapi.v2 messages that carries the definitions.
const DESCRIPTOR = {
  nested: {
    openapi: {
      nested: {
        v2: {
          nested: {
            Document: { fields: { swagger: field("string", 1), info: field("Info", 2), paths: field("Paths", 8), definitions: field("Definitions", 9) } },
            Info: { fields: { title: field("string", 1), version: field("string", 2), description: field("string", 3) } },
            Paths: { fields: {} },
            Definitions: { fields: { additionalProperties: repeated("NamedSchema", 1) } },
            NamedSchema: { fields: { name: field("string", 1), value: field("Schema", 2) } },
            Any: { fields: { yaml: field("string", 2) } },
            NamedAny: { fields: { name: field("string", 1), value: field("Any", 2) } },
            TypeItem: { fields: { value: repeated("string", 1) } },
            ItemsItem: { fields: { schema: repeated("Schema", 1) } },
            Properties: { fields: { additionalProperties: repeated("NamedSchema", 1) } },
            AdditionalPropertiesItem: { oneofs: { oneof: { oneof: ["schema", "boolean"] } }, fields: { schema: field("Schema", 1), boolean: field("bool", 2) } },
            Schema: {
              fields: {
                _ref: field("string", 1),
                format: field("string", 2),
                title: field("string", 3),
                description: field("string", 4),
                default: field("Any", 5),
                maximum: field("double", 7),
                minimum: field("double", 9),
                maxLength: field("int64", 11),
                minLength: field("int64", 12),
                pattern: field("string", 13),
                maxItems: field("int64", 14),
                minItems: field("int64", 15),
                required: repeated("string", 19),
                enum: repeated("Any", 20),
                additionalProperties: field("AdditionalPropertiesItem", 21),
                type: field("TypeItem", 22),
                items: field("ItemsItem", 23),
                allOf: repeated("Schema", 24),
                properties: field("Properties", 25),
                vendorExtension: repeated("NamedAny", 31),
              },
            },
          },
        },
      },
    },
  },
};

let documentType: protobuf.Type | undefined;
function docType(): protobuf.Type {
  documentType ??= protobuf.Root.fromJSON(DESCRIPTOR).lookupType("openapi.v2.Document");
  return documentType;
}

// gnostic keeps vendor extensions and free-form values as YAML text; JSON is valid YAML.
const any = (v: unknown) => ({ yaml: JSON.stringify(v) });

function schemaMessage(s: Schema): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  if (typeof s.$ref === "string") m._ref = s.$ref;
  if (s.format) m.format = s.format;
  if (typeof s.title === "string") m.title = s.title;
  if (s.description) m.description = s.description;
  if (s.default !== undefined) m.default = any(s.default);
  for (const k of ["maximum", "minimum", "maxLength", "minLength", "maxItems", "minItems"] as const) if (typeof s[k] === "number") m[k] = s[k];
  if (typeof s.pattern === "string") m.pattern = s.pattern;
  if (s.required?.length) m.required = s.required;
  if (s.enum?.length) m.enum = s.enum.map(any);
  if (typeof s.additionalProperties === "boolean") m.additionalProperties = { boolean: s.additionalProperties };
  else if (s.additionalProperties) m.additionalProperties = { schema: schemaMessage(s.additionalProperties) };
  if (s.type) m.type = { value: [s.type] };
  if (s.items) m.items = { schema: [schemaMessage(s.items)] };
  if (s.allOf?.length) m.allOf = s.allOf.map(schemaMessage);
  if (s.properties) m.properties = { additionalProperties: Object.entries(s.properties).map(([name, v]) => ({ name, value: schemaMessage(v) })) };
  const ext = Object.entries(s).filter(([k]) => k.startsWith("x-"));
  if (ext.length) m.vendorExtension = ext.map(([name, v]) => ({ name, value: any(v) }));
  return m;
}

const encoded = new WeakMap<SerializedDocument, Buffer>();

/** The protobuf encoding of a served v2 document (computed once per document). */
export function openApiV2Protobuf(v2: SerializedDocument): Buffer {
  const hit = encoded.get(v2);
  if (hit) return hit;
  const doc = JSON.parse(v2.json.toString("utf8")) as { swagger: string; info: { title: string; version: string }; definitions: Record<string, Schema> };
  const message = {
    swagger: doc.swagger,
    info: { title: doc.info.title, version: doc.info.version },
    paths: {},
    definitions: { additionalProperties: Object.entries(doc.definitions).map(([name, s]) => ({ name, value: schemaMessage(s) })) },
  };
  const t = docType();
  const bytes = Buffer.from(t.encode(t.fromObject(message)).finish());
  encoded.set(v2, bytes);
  return bytes;
}
