/**
 * Decodes Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) into the
 * JSON object the JSON path would have produced. Wire format: the magic `k8s\0`, then a
 * runtime.Unknown {typeMeta{apiVersion, kind}, raw (the object's message bytes), contentEncoding,
 * contentType}. Field numbers come from the k8s.io generated.proto descriptors kubectl itself
 * encodes with (see scripts/gen-k8s-schema.mjs).
 */
import { gunzipSync } from "node:zlib";
import protobuf from "protobufjs";
import descriptorExt from "protobufjs/ext/descriptor/index.js";
import { newStatus, StatusError, StatusReason } from "@kubemu/common";
import { definitionNameFor, definitions } from "../openapi/index.js";
import { descriptorSetGzipBase64, inlineMessageFields, pointerScalarFields } from "./generated/descriptors.js";

/** A decoded object: what JSON decoding of the same request would give. */
export type DecodedObject = { apiVersion?: string; kind?: string; metadata: Record<string, unknown>; [field: string]: unknown };

/** Scalars that are Go pointers: a zero value on the wire was set on purpose (replicas: 0). */
const pointerScalars = new Set<string>(pointerScalarFields);
const MAGIC = Uint8Array.from([0x6b, 0x38, 0x73, 0x00]);
const META = "k8s.io.apimachinery.pkg.apis.meta.v1";

let root: protobuf.Root | undefined;
/** Full names (leading dot) of map-entry messages: protobufjs's fromDescriptor keeps them as plain repeated messages. */
const mapEntries = new Set<string>();
function types(): protobuf.Root {
  if (root) return root;
  const set = (descriptorExt as any).FileDescriptorSet.decode(gunzipSync(Buffer.from(descriptorSetGzipBase64, "base64")));
  const collect = (prefix: string, m: any): void => {
    const name = `${prefix}.${m.name}`;
    if (m.options?.mapEntry) mapEntries.add(name);
    for (const n of m.nestedType ?? []) collect(name, n);
  };
  for (const f of set.file) for (const m of f.messageType ?? []) collect(`.${f.package}`, m);
  root = (protobuf.Root as any).fromDescriptor(set) as protobuf.Root;
  root.resolveAll();
  return root;
}

/** True for `application/vnd.kubernetes.protobuf` (any parameters, any case). */
export function isProtobufContentType(contentType: string | undefined | null): boolean {
  if (!contentType) return false;
  return contentType.split(";")[0]?.trim().toLowerCase() === "application/vnd.kubernetes.protobuf";
}

const badRequest = (message: string): StatusError => new StatusError(newStatus(StatusReason.BadRequest, message));
const unsupported = (message: string): StatusError => new StatusError(newStatus(StatusReason.UnsupportedMediaType, message));

/**
 * Decodes one protobuf request body into its JSON form (apiVersion and kind first). Throws a
 * StatusError: BadRequest for a malformed envelope or message, UnsupportedMediaType for a kind
 * this server has no protobuf type for (the client should send JSON).
 */
export function decodeProtobufBody(bytes: Uint8Array): DecodedObject {
  if (bytes.length < MAGIC.length || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw badRequest('protobuf body does not start with the "k8s\\x00" envelope prefix');
  }
  const unknownType = types().lookupType(`k8s.io.apimachinery.pkg.runtime.Unknown`);
  let unknown: any;
  try {
    unknown = unknownType.decode(bytes.subarray(MAGIC.length));
  } catch (e) {
    throw badRequest(`malformed protobuf envelope: ${(e as Error).message}`);
  }
  const apiVersion: string = unknown.typeMeta?.apiVersion ?? "";
  const kind: string = unknown.typeMeta?.kind ?? "";
  if (!apiVersion || !kind) throw badRequest("protobuf envelope has no apiVersion or kind");
  if (unknown.contentEncoding) throw unsupported(`protobuf content encoding "${unknown.contentEncoding}" is not supported`);
  const [group, version] = apiVersion.includes("/") ? (apiVersion.split("/", 2) as [string, string]) : ["", apiVersion];
  const defName = definitionNameFor(group, version, kind);
  const type = defName?.startsWith("io.k8s.") ? types().lookup(`k8s.io.${defName.slice("io.k8s.".length)}`) : null;
  if (!(type instanceof protobuf.Type)) throw unsupported(`no protobuf type for ${kind} in ${apiVersion}; send the object as application/json`);
  let msg: protobuf.Message;
  try {
    msg = type.decode(unknown.raw ?? new Uint8Array());
  } catch (e) {
    throw badRequest(`malformed protobuf ${kind}: ${(e as Error).message}`);
  }
  const body = messageToJson(type, msg) as Record<string, unknown>;
  return { apiVersion, kind, ...body, metadata: (body.metadata as Record<string, unknown> | undefined) ?? {} };
}

// ---------------------------------------------------------------------------------------------
// Message → JSON, following the Go types' JSON encoding.

const toNumber = (v: unknown): number => (typeof v === "number" ? v : typeof v === "object" && v !== null && "toNumber" in v ? (v as { toNumber(): number }).toNumber() : Number(v));
const base64 = (v: unknown): string => Buffer.from(v as Uint8Array).toString("base64");

/**
 * Go structs embedded with `json:",inline"` (Probe's ProbeHandler, Volume's VolumeSource…) are a
 * nested message on the wire but flat in JSON; the generator lists them ("<message>.<field>").
 */
const inlineFields = new Set<string>(inlineMessageFields);

/**
 * A field's JSON name. The proto name is the Go protobuf tag's, which differs from the json tag
 * in a few places (BoundObjectReference's `uID` is JSON `uid`): the OpenAPI definition's property
 * of the same name in any case is the JSON one.
 */
const jsonNames = new Map<string, string>();
function jsonNameOf(typeName: string, fieldName: string): string {
  const key = `${typeName}.${fieldName}`;
  let name = jsonNames.get(key);
  if (name === undefined) {
    const props = typeName.startsWith("k8s.io.") ? definitions().get(`io.k8s.${typeName.slice("k8s.io.".length)}`)?.properties : undefined;
    name = props && !(fieldName in props) ? (Object.keys(props).find((p) => p.toLowerCase() === fieldName.toLowerCase()) ?? fieldName) : fieldName;
    jsonNames.set(key, name);
  }
  return name;
}

function messageToJson(type: protobuf.Type, msg: any): unknown {
  const special = wellKnown(type.fullName.replace(/^\./, ""), msg);
  if (special !== NOT_SPECIAL) return special;
  const out: Record<string, unknown> = {};
  const typeName = type.fullName.slice(1);
  for (const field of type.fieldsArray) {
    if (!Object.prototype.hasOwnProperty.call(msg, field.name)) continue;
    const value = msg[field.name];
    const entryType = field.resolvedType instanceof protobuf.Type && mapEntries.has(field.resolvedType.fullName) ? field.resolvedType : undefined;
    if (entryType) {
      const entries = value as any[];
      if (entries.length === 0) continue;
      const valueField = entryType.fields.value as protobuf.Field;
      out[jsonNameOf(typeName, field.name)] = Object.fromEntries(entries.map((e) => [e.key ?? "", e.value === undefined ? "" : convertValue(valueField, e.value)]));
    } else if (field.repeated) {
      const arr = value as unknown[];
      if (arr.length === 0) continue;
      out[jsonNameOf(typeName, field.name)] = arr.map((v) => convertValue(field, v)).filter((v) => v !== undefined);
    } else {
      const v = convertValue(field, value);
      if (v === undefined) continue;
      // Go value fields are always on the wire; their zero means "unset" and JSON's omitempty drops it.
      // An IntOrString message on the wire was set, and 0 is a value (a PDB's maxUnavailable: 0).
      const isZero = (v === "" || v === 0 || v === false) && field.resolvedType?.fullName !== ".k8s.io.apimachinery.pkg.util.intstr.IntOrString";
      if (isZero && !pointerScalars.has(`${typeName}.${field.name}`)) continue;
      if (inlineFields.has(`${typeName}.${field.name}`) && typeof v === "object" && v !== null) Object.assign(out, v);
      else out[jsonNameOf(typeName, field.name)] = v;
    }
  }
  return out;
}

/** One value in its JSON form; undefined drops it. */
function convertValue(field: protobuf.Field, v: unknown): unknown {
  if (field.resolvedType instanceof protobuf.Type) {
    const json = messageToJson(field.resolvedType, v);
    return json === null ? undefined : json;
  }
  switch (field.type) {
    case "bytes":
      return base64(v);
    case "string":
    case "bool":
      return v;
    case "int64":
    case "uint64":
    case "sint64":
    case "fixed64":
    case "sfixed64":
      return toNumber(v);
    default:
      return v;
  }
}

const NOT_SPECIAL = Symbol("not special");

/** apimachinery types whose JSON form is not their message shape. */
function wellKnown(name: string, msg: any): unknown {
  switch (name) {
    case `${META}.Time`:
    case `${META}.MicroTime`: {
      const seconds = toNumber(msg.seconds ?? 0);
      const nanos = toNumber(msg.nanos ?? 0);
      if (seconds === 0 && nanos === 0) return null;
      const iso = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "");
      return name.endsWith("MicroTime") ? `${iso}.${String(Math.floor(nanos / 1000)).padStart(6, "0")}Z` : `${iso}Z`;
    }
    case `${META}.Duration`:
      return `${toNumber(msg.duration ?? 0) / 1e9}s`;
    case "k8s.io.apimachinery.pkg.api.resource.Quantity":
      return msg.string ?? "";
    case "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
      return toNumber(msg.type ?? 0) === 1 ? (msg.strVal ?? "") : toNumber(msg.intVal ?? 0);
    case "k8s.io.apimachinery.pkg.runtime.RawExtension":
    case `${META}.FieldsV1`: {
      const raw: Uint8Array | undefined = msg.raw ?? msg.Raw;
      if (!raw || raw.length === 0) return null;
      try {
        return JSON.parse(Buffer.from(raw).toString("utf8"));
      } catch {
        throw badRequest(`${name.split(".").pop()} holds bytes that are not JSON`);
      }
    }
    default:
      return NOT_SPECIAL;
  }
}
