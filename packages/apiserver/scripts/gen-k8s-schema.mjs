#!/usr/bin/env node
// Generates the Kubernetes schema data the API server serves, from maintained sources (never hand-typed):
//
//  1. Types, fields, required-ness, enums and field descriptions: the `kubernetes-types` npm package
//     (TypeScript declarations generated from the upstream OpenAPI spec; its major.minor tracks Kubernetes).
//  2. Protobuf field numbers: the gzipped FileDescriptorProtos of k8s.io/api `generated.proto` that the real
//     kubectl 1.32 binary embeds (gogo-protobuf registers them at init), i.e. exactly what kubectl encodes with.
//  3. Strategic-merge-patch metadata (patchStrategy / patchMergeKey): the Go struct tags of k8s.io/api compiled
//     into the same kubectl binary, joined to types by (protobuf field name, field number).
//  4. Integer formats (int32 / int64) and number-vs-integer: the protobuf scalar types from (2).
//
// Output (committed, so builds and CI need neither kubectl nor this script):
//   src/openapi/generated/definitions.ts   swagger-style definitions keyed by upstream names (io.k8s.api.core.v1.Pod)
//   src/protobuf/generated/descriptors.ts  gzipped FileDescriptorSet (base64) of the k8s.io proto files
//
// Usage: node packages/apiserver/scripts/gen-k8s-schema.mjs [--kubectl /path/to/kubectl.1.32]
import { readFileSync, writeFileSync, mkdirSync, readdirSync, statSync, realpathSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const ts = require("typescript");
const protobuf = require("protobufjs");
const descriptor = require("protobufjs/ext/descriptor");
// gogoproto.nullable (FieldOptions extension 65001): false marks a Go value field, absent/true a pointer.
descriptor.FieldOptions.add(new protobuf.Field("gogoNullable", 65001, "bool"));

const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const typesDir = path.dirname(require.resolve("kubernetes-types/package.json"));
const typesVersion = JSON.parse(readFileSync(path.join(typesDir, "package.json"), "utf8")).version;

function findKubectl() {
  const i = process.argv.indexOf("--kubectl");
  if (i > 0 && process.argv[i + 1]) return process.argv[i + 1];
  const onPath = execFileSync("sh", ["-c", "command -v kubectl.1.32 || command -v kubectl"], { encoding: "utf8" }).trim();
  return realpathSync(onPath);
}

// ---------------------------------------------------------------------------------------------------------
// (2) protobuf descriptors embedded in kubectl
const kubectlPath = findKubectl();
const kubectlBin = readFileSync(kubectlPath);
const kubectlVersion = (kubectlBin.toString("latin1").match(/v1\.32\.\d+/) ?? ["unknown"])[0];

function extractDescriptors(bin) {
  const magic = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0x02, 0xff]);
  const files = new Map();
  for (let i = bin.indexOf(magic); i >= 0; i = bin.indexOf(magic, i + magic.length)) {
    let file;
    try {
      const raw = zlib.inflateRawSync(bin.subarray(i + magic.length, i + magic.length + 400_000));
      file = descriptor.FileDescriptorProto.decode(raw);
    } catch {
      continue; // not a descriptor (other gzip data)
    }
    if (!file.name?.startsWith("k8s.io/")) continue;
    if (!files.has(file.name)) files.set(file.name, file);
  }
  return files;
}

const wantedProto = (name) =>
  /^k8s\.io\/apimachinery\/pkg\/(apis\/meta\/v1|runtime|runtime\/schema|util\/intstr|api\/resource)\/generated\.proto$/.test(name) ||
  /^k8s\.io\/api\/(core|apps|batch|networking|discovery|coordination|storage|events|rbac|policy|autoscaling|authorization|authentication|scheduling|node)\/v1\/generated\.proto$/.test(name);

const allFiles = extractDescriptors(kubectlBin);
const protoFiles = [...allFiles.values()].filter((f) => wantedProto(f.name));
/** Scalar fields that are Go pointers (`*int32`, `*string`, `*bool`): a zero value on the wire is meaningful. */
const pointerScalars = [];
for (const f of protoFiles) {
  const walk = (prefix, m) => {
    for (const fld of m.field) {
      const scalar = fld.type !== 11 && fld.type !== 12 && fld.label !== 3; // not message, not bytes, not repeated
      const valueField = !!fld.options && Object.prototype.hasOwnProperty.call(fld.options, "gogoNullable") && fld.options.gogoNullable === false;
      if (scalar && !valueField) pointerScalars.push(`${prefix}.${m.name}.${fld.name}`);
    }
    for (const n of m.nestedType) walk(`${prefix}.${m.name}`, n);
  };
  for (const m of f.messageType) walk(f.package, m);
}
for (const f of protoFiles) {
  // gogo.proto only carries code-generation options; drop it so the set is self-contained.
  f.dependency = f.dependency.filter((d) => !d.includes("gogo"));
  f.options = null;
  for (const m of f.messageType) stripOptions(m);
}
function stripOptions(m) {
  // Keep only map_entry (semantic); gogo extension options are code-generation hints.
  if (m.options) m.options = m.options.mapEntry ? { mapEntry: true } : null;
  for (const fld of m.field) fld.options = fld.options?.packed ? { packed: true } : null;
  for (const n of m.nestedType) stripOptions(n);
}
if (protoFiles.length < 10) throw new Error(`only ${protoFiles.length} k8s.io descriptors found in ${kubectlPath}`);

/** proto full name (no leading dot) → { field name → { number, type, typeName, repeated } } */
const protoMessages = new Map();
for (const f of protoFiles) {
  const walk = (prefix, m) => {
    const fields = new Map();
    for (const fld of m.field) fields.set(fld.name, { number: fld.number, type: fld.type, typeName: fld.typeName?.replace(/^\./, ""), repeated: fld.label === 3 });
    protoMessages.set(`${prefix}.${m.name}`, { fields, mapEntry: !!m.options?.mapEntry });
    for (const n of m.nestedType) walk(`${prefix}.${m.name}`, n);
  };
  for (const m of f.messageType) walk(f.package, m);
}

// ---------------------------------------------------------------------------------------------------------
// (3) struct tags with patch strategies
/** `${protoName}#${number}` → Set of JSON-encoded {strategy, mergeKey} */
const patchTags = new Map();
/** `${protoName}#${number}` of Go fields embedded with `json:",inline"` (flat in JSON, a message on the wire). */
const inlineTags = new Set();
{
  const text = kubectlBin.toString("latin1");
  const tagRe = /(?:[A-Za-z]+:"[^"\x00-\x1f]*" ?){2,}/g;
  for (const m of text.matchAll(tagRe)) {
    const tag = m[0];
    if (!tag.includes("protobuf:")) continue;
    const kv = Object.fromEntries([...tag.matchAll(/([A-Za-z]+):"([^"]*)"/g)].map((x) => [x[1].endsWith("json") ? "json" : x[1], x[2]]));
    if (kv.json === ",inline") {
      const inl = /^[a-z0-9]+,(\d+),[a-z]+,(?:.*,)?name=([A-Za-z0-9_]+)/.exec(kv.protobuf ?? "");
      if (inl) inlineTags.add(`${inl[2]}#${inl[1]}`);
      continue;
    }
    if (!tag.includes("patchStrategy:")) continue;
    const pb = /^[a-z0-9]+,(\d+),([a-z]+),(?:.*,)?name=([A-Za-z0-9_]+)/.exec(kv.protobuf ?? "");
    if (!pb) continue;
    const omitempty = /,omitempty/.test(kv.json ?? "");
    const key = `${pb[3]}#${pb[1]}#${pb[2] === "rep" ? "rep" : "opt"}#${omitempty ? "optional" : "required"}`;
    const set = patchTags.get(key) ?? new Set();
    set.add(JSON.stringify({ strategy: kv.patchStrategy, mergeKey: kv.patchMergeKey }));
    patchTags.set(key, set);
  }
}

// ---------------------------------------------------------------------------------------------------------
// (1) kubernetes-types → definitions
function definitionPrefix(relFile) {
  const rel = relFile.replace(/\.d\.ts$/, "").split(path.sep).join("/");
  if (rel === "meta/v1") return "io.k8s.apimachinery.pkg.apis.meta.v1";
  if (rel === "api/resource") return "io.k8s.apimachinery.pkg.api.resource";
  if (rel === "runtime") return "io.k8s.apimachinery.pkg.runtime";
  if (rel === "version") return "io.k8s.apimachinery.pkg.version";
  if (rel.startsWith("apiextensions/")) return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${rel.split("/")[1]}`;
  const [group, version] = rel.split("/");
  if (!version) return undefined;
  return `io.k8s.api.${group}.${version}`;
}
const protoNameOf = (defName) => (defName.startsWith("io.k8s.api.") || defName.startsWith("io.k8s.apimachinery.") ? `k8s.${defName.slice(3)}`.replace(/^k8s\.k8s\./, "k8s.io.") : undefined);
// io.k8s.api.core.v1.Pod → k8s.io.api.core.v1.Pod
const toProtoName = (defName) => (defName.startsWith("io.k8s.") ? `k8s.io.${defName.slice("io.k8s.".length)}` : undefined);
void protoNameOf;

function listTypeFiles(dir, base = dir) {
  const out = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...listTypeFiles(p, base));
    else if (e.endsWith(".d.ts")) out.push(path.relative(base, p));
  }
  return out.sort();
}

const files = listTypeFiles(typesDir);
const program = ts.createProgram(files.map((f) => path.join(typesDir, f)), { noResolve: false, allowJs: false });
const definitions = {};
const intOrString = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";

function docOf(node) {
  const docs = node.jsDoc;
  if (!docs?.length) return undefined;
  const c = docs[docs.length - 1].comment;
  const text = typeof c === "string" ? c : Array.isArray(c) ? c.map((x) => x.text ?? "").join("") : undefined;
  return text?.trim() || undefined;
}

for (const rel of files) {
  const prefix = definitionPrefix(rel);
  if (!prefix) continue;
  const sf = program.getSourceFile(path.join(typesDir, rel));
  // Names imported from other files resolve to those files' prefixes.
  const imported = new Map();
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || !st.importClause?.namedBindings) continue;
    const from = path.normalize(path.join(path.dirname(rel), st.moduleSpecifier.text)) + ".d.ts";
    const p = definitionPrefix(from);
    for (const el of st.importClause.namedBindings.elements ?? []) imported.set(el.name.text, p);
  }
  const refName = (name) => `${imported.get(name) ?? prefix}.${name}`;

  const convert = (typeNode, ctx) => {
    switch (typeNode.kind) {
      case ts.SyntaxKind.StringKeyword:
        return { type: "string" };
      case ts.SyntaxKind.BooleanKeyword:
        return { type: "boolean" };
      case ts.SyntaxKind.NumberKeyword:
        return numberSchema(ctx);
      case ts.SyntaxKind.AnyKeyword:
      case ts.SyntaxKind.UnknownKeyword:
        return {};
      case ts.SyntaxKind.LiteralType:
        return ts.isStringLiteral(typeNode.literal) ? { type: "string", enum: [typeNode.literal.text] } : {};
      case ts.SyntaxKind.ParenthesizedType:
        return convert(typeNode.type, ctx);
      case ts.SyntaxKind.ArrayType:
        return { type: "array", items: convert(typeNode.elementType, { ...ctx, element: true }) };
      case ts.SyntaxKind.UnionType: {
        const kinds = typeNode.types.map((t) => t.kind);
        if (kinds.includes(ts.SyntaxKind.NumberKeyword) && kinds.includes(ts.SyntaxKind.StringKeyword) && kinds.length === 2) return { $ref: intOrString };
        if (typeNode.types.every((t) => ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal))) return { type: "string", enum: typeNode.types.map((t) => t.literal.text) };
        return {};
      }
      case ts.SyntaxKind.TypeLiteral: {
        const index = typeNode.members.find((m) => ts.isIndexSignatureDeclaration(m));
        if (index) return { type: "object", additionalProperties: convert(index.type, { ...ctx, element: true }) };
        return { type: "object" };
      }
      case ts.SyntaxKind.TypeReference: {
        const name = typeNode.typeName.getText(sf);
        if (name === "Array" && typeNode.typeArguments?.[0]) return { type: "array", items: convert(typeNode.typeArguments[0], { ...ctx, element: true }) };
        return { $ref: refName(name) };
      }
      default:
        return {};
    }
  };
  // Integer formats come from the protobuf scalar type of the same field.
  const numberSchema = (ctx) => {
    const t = ctx.protoField?.type;
    if (t === 5 || t === 13 || t === 17 || t === 7 || t === 15) return { type: "integer", format: "int32" };
    if (t === 3 || t === 4 || t === 18 || t === 6 || t === 16) return { type: "integer", format: "int64" };
    if (t === 1) return { type: "number", format: "double" };
    if (t === 2) return { type: "number", format: "float" };
    return { type: "number" };
  };

  for (const st of sf.statements) {
    if (ts.isInterfaceDeclaration(st)) {
      const defName = `${prefix}.${st.name.text}`;
      const proto = protoMessages.get(toProtoName(defName) ?? "");
      const def = { description: docOf(st), type: "object", properties: {} };
      const required = [];
      let gvApiVersion, gvKind;
      for (const mem of st.members) {
        if (!ts.isPropertySignature(mem) || !mem.type) continue;
        const fname = mem.name.text ?? mem.name.getText(sf);
        const protoField = proto?.fields.get(fname);
        const schema = convert(mem.type, { protoField });
        if (fname === "apiVersion" && schema.enum?.length === 1) { gvApiVersion = schema.enum[0]; delete schema.enum; }
        if (fname === "kind" && schema.enum?.length === 1) { gvKind = schema.enum[0]; delete schema.enum; }
        const desc = docOf(mem);
        const prop = desc ? { description: desc, ...schema } : schema;
        const patch = protoField ? patchMetaFor(defName, fname, protoField, !!mem.questionToken) : undefined;
        if (patch?.strategy) prop["x-kubernetes-patch-strategy"] = patch.strategy;
        if (patch?.mergeKey) prop["x-kubernetes-patch-merge-key"] = patch.mergeKey;
        def.properties[fname] = prop;
        if (!mem.questionToken) required.push(fname);
      }
      if (required.length) def.required = required;
      if (gvApiVersion && gvKind) {
        const [group, version] = gvApiVersion.includes("/") ? gvApiVersion.split("/") : ["", gvApiVersion];
        def["x-kubernetes-group-version-kind"] = [{ group, kind: gvKind, version }];
      }
      if (!def.description) delete def.description;
      definitions[defName] = def;
    } else if (ts.isTypeAliasDeclaration(st)) {
      const defName = `${prefix}.${st.name.text}`;
      const schema = convert(st.type, {});
      if (defName.endsWith("meta.v1.Time") || defName.endsWith("meta.v1.MicroTime")) schema.format = "date-time";
      const desc = docOf(st);
      definitions[defName] = desc ? { description: desc, ...schema } : schema;
    }
  }
}
// kubernetes-types inlines IntOrString as `number | string`; upstream names it.
definitions[intOrString] = {
  description: "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.",
  type: "string",
  format: "int-or-string",
};

// Fields kubectl 1.32's descriptors have but kubernetes-types 1.30 lacks (added in 1.31–1.32): declare them,
// typed from protobuf, so strict validation and explain know them. Inline-embedded structs are listed for the decoder.
const inlineFields = [];
let addedFields = 0;
const protoToDef = (protoName) => (protoName?.startsWith("k8s.io.") ? `io.k8s.${protoName.slice("k8s.io.".length)}` : undefined);
function schemaForProtoField(fld) {
  if (fld.typeName) {
    const msg = protoMessages.get(fld.typeName);
    if (msg?.mapEntry) {
      const value = msg.fields.get("value");
      return { type: "object", additionalProperties: value ? schemaForProtoField({ ...value, repeated: false }) : {} };
    }
    const ref = protoToDef(fld.typeName);
    const item = ref && definitions[ref] ? { $ref: ref } : { type: "object" };
    return fld.repeated ? { type: "array", items: item } : item;
  }
  const scalar = { 1: { type: "number", format: "double" }, 2: { type: "number", format: "float" }, 3: { type: "integer", format: "int64" }, 5: { type: "integer", format: "int32" }, 8: { type: "boolean" }, 9: { type: "string" }, 12: { type: "string", format: "byte" }, 13: { type: "integer", format: "int32" } }[fld.type] ?? {};
  return fld.repeated ? { type: "array", items: scalar } : scalar;
}
for (const [protoName, msg] of protoMessages) {
  if (msg.mapEntry) continue;
  const def = definitions[protoToDef(protoName)];
  if (!def?.properties || Object.keys(def.properties).length === 0) continue;
  const lowerProps = new Set(Object.keys(def.properties).map((k) => k.toLowerCase()));
  for (const [fname, fld] of msg.fields) {
    if (fname in def.properties) continue;
    // Embedded structs: tagged `json:",inline"`, or (tags without a name) a message whose fields the parent already has.
    const embeddedFields = fld.typeName && !fld.repeated ? [...(protoMessages.get(fld.typeName)?.fields.keys() ?? [])] : [];
    const looksInline = embeddedFields.length > 0 && embeddedFields.filter((f) => f in def.properties).length * 2 >= embeddedFields.length;
    if (inlineTags.has(`${fname}#${fld.number}`) || looksInline) {
      inlineFields.push(`${protoName}.${fname}`);
      continue;
    }
    if (lowerProps.has(fname.toLowerCase())) continue; // proto spelling of a known field (uID ↔ uid, aPIGroup ↔ apiGroup)
    def.properties[fname] = { description: "(added after Kubernetes 1.30: no description in the schema source)", ...schemaForProtoField(fld) };
    addedFields++;
  }
}

function patchMetaFor(defName, fieldName, protoField, optional) {
  // Upstream list types never carry a patch strategy on items; a shared (name, number) tag elsewhere would mislead.
  if (defName.endsWith("List") && fieldName === "items") return undefined;
  const found = patchTags.get(`${fieldName}#${protoField.number}#${protoField.repeated ? "rep" : "opt"}#${optional ? "optional" : "required"}`);
  if (!found) return undefined;
  const elementFields = protoMessages.get(protoField.typeName ?? "")?.fields;
  // Several Go types may share (name, number) with different keys: keep the one whose key is a field of this element type.
  const candidates = [...found]
    .map((s) => JSON.parse(s))
    .filter((c) => !c.mergeKey || !elementFields || elementFields.has(c.mergeKey))
    // replace / retainKeys apply to structs and maps, never to a scalar.
    .filter((c) => c.mergeKey || protoField.typeName || protoField.repeated);
  return candidates.length === 1 ? candidates[0] : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Write outputs
function writeTs(file, header, exports) {
  mkdirSync(path.dirname(file), { recursive: true });
  const body = Object.entries(exports).map(([k, v]) => `export const ${k} = ${JSON.stringify(v)};\n`).join("");
  writeFileSync(file, `// GENERATED by scripts/gen-k8s-schema.mjs — do not edit.\n// ${header}\n${body}`);
}
const defsJson = JSON.stringify(definitions);
writeTs(path.join(pkgDir, "src/openapi/generated/definitions.ts"), `Source: kubernetes-types@${typesVersion}; proto formats and patch strategies from kubectl ${kubectlVersion}.`, {
  definitionsSource: `kubernetes-types@${typesVersion} + kubectl ${kubectlVersion}`,
  definitionsJson: defsJson,
});
const set = descriptor.FileDescriptorSet.encode({ file: protoFiles }).finish();
const gz = zlib.gzipSync(set, { level: 9 });
writeTs(path.join(pkgDir, "src/protobuf/generated/descriptors.ts"), `Source: k8s.io generated.proto descriptors embedded in kubectl ${kubectlVersion}.`, {
  descriptorsSource: `kubectl ${kubectlVersion} (${protoFiles.length} k8s.io generated.proto files)`,
  descriptorSetGzipBase64: gz.toString("base64"),
  pointerScalarFields: pointerScalars.sort(),
  inlineMessageFields: inlineFields.sort(),
});
const withPatch = Object.values(definitions).reduce((n, d) => n + Object.values(d.properties ?? {}).filter((p) => p["x-kubernetes-patch-strategy"]).length, 0);
console.log(
  `definitions: ${Object.keys(definitions).length} (${(defsJson.length / 1024).toFixed(0)} KiB), fields with patch strategy: ${withPatch}; ` +
    `fields only in the 1.32 descriptors: ${addedFields}; inline embedded: ${inlineFields.length}; ` +
    `proto files: ${protoFiles.length} (${pointerScalars.length} pointer scalars), messages: ${protoMessages.size}, descriptor set ${(gz.length / 1024).toFixed(0)} KiB gz; struct tags: ${patchTags.size}`,
);
