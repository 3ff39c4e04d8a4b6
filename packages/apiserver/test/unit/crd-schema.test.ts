/** CRD building blocks: structural-schema pruning, defaults and validation, printer-column JSONPath, CRD validation. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { applyDefaults, prune, validateAgainstSchema, type JSONSchemaProps } from "../../src/crd/structural.js";
import { parseJsonPath, JsonPathError } from "../../src/crd/jsonpath.js";
import { validateCrd } from "../../src/crd/crd-validation.js";
import { defaultCrd } from "../../src/crd/crd-resource.js";
import { customResourceDefs } from "../../src/crd/custom-resource.js";
import type { KubeObject } from "../../src/storage/index.js";

const schema: JSONSchemaProps = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      required: ["cronSpec"],
      properties: {
        cronSpec: { type: "string", pattern: "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$" },
        image: { type: "string", maxLength: 10, minLength: 1 },
        replicas: { type: "integer", minimum: 1, maximum: 10, default: 1 },
        mode: { type: "string", enum: ["a", "b"], default: "a" },
        port: { "x-kubernetes-int-or-string": true },
        tags: { type: "array", maxItems: 2, items: { type: "string" } },
        labels: { type: "object", additionalProperties: { type: "string" } },
        free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        nested: { type: "object", default: {}, properties: { level: { type: "integer", default: 3 } } },
      },
    },
    status: { type: "object", properties: { replicas: { type: "integer" } } },
  },
};

const cr = (spec: unknown, extra: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: "stable.example.com/v1", kind: "CronTab", metadata: { name: "x", labels: { a: "b" } }, spec, ...extra }) as KubeObject;

describe("structural schema: prune", () => {
  it("drops undeclared fields, keeps apiVersion/kind/metadata, preserve-unknown-fields and additionalProperties, and reports paths", () => {
    const obj = cr({ cronSpec: "* * * * *", bogus: 1, labels: { x: "y" }, free: { anything: { goes: true } }, tags: ["a"] }, { top: 1 });
    const pruned = prune(schema, obj);
    expect(pruned.sort()).toEqual(["spec.bogus", "top"]);
    expect(obj).toEqual(cr({ cronSpec: "* * * * *", labels: { x: "y" }, free: { anything: { goes: true } }, tags: ["a"] }));
  });

  it("an object schema without properties prunes everything below it", () => {
    const obj = cr({ a: 1 });
    expect(prune({ type: "object", properties: { spec: { type: "object" } } }, obj)).toEqual(["spec.a"]);
    expect(obj.spec).toEqual({});
  });

  it("prunes inside array items", () => {
    const s: JSONSchemaProps = { type: "object", properties: { spec: { type: "object", properties: { list: { type: "array", items: { type: "object", properties: { n: { type: "string" } } } } } } } };
    const obj = cr({ list: [{ n: "a", x: 1 }, { y: 2 }] });
    expect(prune(s, obj)).toEqual(["spec.list[0].x", "spec.list[1].y"]);
  });
});

describe("structural schema: defaults", () => {
  it("fills missing fields top-down (a defaulted object gets its own defaults) and keeps given values", () => {
    const obj = cr({ cronSpec: "* * * * *", replicas: 4 });
    applyDefaults(schema, obj);
    expect(obj.spec).toEqual({ cronSpec: "* * * * *", replicas: 4, mode: "a", nested: { level: 3 } });
  });

  it("replaces null with the default unless nullable", () => {
    const obj = cr({ cronSpec: "* * * * *", replicas: null });
    applyDefaults(schema, obj);
    expect((obj.spec as Record<string, unknown>).replicas).toBe(1);
  });
});

describe("structural schema: validation", () => {
  const errs = (spec: unknown) => validateAgainstSchema(schema, cr(spec)).map((e) => `${e.field}: ${e.message}`);

  it("accepts a valid object", () => {
    expect(errs({ cronSpec: "*/5 * * * *", image: "img", replicas: 3, port: "http", tags: ["a"] })).toEqual([]);
    expect(errs({ cronSpec: "* * * * *", port: 80 })).toEqual([]);
  });

  it("reports types, required, enum, bounds, pattern, lengths and items with upstream's messages", () => {
    expect(errs({ image: 5 })).toEqual(["spec.cronSpec: Required value", 'spec.image: Invalid value: "integer": spec.image in body must be of type string: "integer"']);
    expect(errs({ cronSpec: "nope" })).toEqual([`spec.cronSpec: Invalid value: "nope": spec.cronSpec in body should match '${(schema.properties!.spec!.properties!.cronSpec!.pattern)}'`]);
    expect(errs({ cronSpec: "* * * * *", replicas: 0 })).toEqual(["spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"]);
    expect(errs({ cronSpec: "* * * * *", replicas: 11 })).toEqual(["spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"]);
    expect(errs({ cronSpec: "* * * * *", replicas: 1.5 })).toEqual(['spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"']);
    expect(errs({ cronSpec: "* * * * *", mode: "c" })).toEqual(['spec.mode: Unsupported value: "c": supported values: "a", "b"']);
    expect(errs({ cronSpec: "* * * * *", image: "12345678901" })).toEqual(["spec.image: Too long: may not be more than 10 bytes"]);
    expect(errs({ cronSpec: "* * * * *", image: "" })).toEqual(['spec.image: Invalid value: "": spec.image in body should be at least 1 chars long']);
    expect(errs({ cronSpec: "* * * * *", tags: ["a", "b", "c"] })).toEqual(["spec.tags: Too many: 3: must have at most 2 items"]);
    expect(errs({ cronSpec: "* * * * *", tags: ["a", 1] })).toEqual(['spec.tags[1]: Invalid value: "integer": spec.tags[1] in body must be of type string: "integer"']);
    expect(errs({ cronSpec: "* * * * *", labels: { a: 1 } })).toEqual(['spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"']);
    expect(errs({ cronSpec: "* * * * *", port: true })).toEqual(['spec.port: Invalid value: "boolean": spec.port in body must be of type integer or string: "boolean"']);
    expect(errs("str")).toEqual(['spec: Invalid value: "string": spec in body must be of type object: "string"']);
  });

  it("never throws on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const obj = cr(v);
        prune(schema, obj);
        applyDefaults(schema, obj);
        expect(Array.isArray(validateAgainstSchema(schema, obj))).toBe(true);
      }),
      { numRuns: 300 },
    );
  }, 30_000); // property runs are CPU-bound: give them room on a loaded machine
});

describe("printer-column JSONPath", () => {
  const obj = { metadata: { name: "n", labels: { "app.kubernetes.io/name": "web" } }, spec: { list: [{ n: 1 }, { n: 2 }] }, status: { conditions: [{ type: "Ready", status: "True" }, { type: "Synced", status: "False" }] } };

  it("fields, indices, wildcards, quoted keys and equality filters", () => {
    expect(parseJsonPath(".metadata.name").find(obj)).toEqual(["n"]);
    expect(parseJsonPath(".spec.list[1].n").find(obj)).toEqual([2]);
    expect(parseJsonPath(".spec.list[-1].n").find(obj)).toEqual([2]);
    expect(parseJsonPath(".spec.list[*].n").find(obj)).toEqual([1, 2]);
    expect(parseJsonPath(".metadata.labels['app.kubernetes.io/name']").find(obj)).toEqual(["web"]);
    expect(parseJsonPath('.status.conditions[?(@.type=="Ready")].status').find(obj)).toEqual(["True"]);
    expect(parseJsonPath("{.spec.missing.deeper}").find(obj)).toEqual([]);
  });

  it("rejects what it does not support with a JsonPathError", () => {
    for (const bad of ["spec.x", ".spec[", ".spec[?(@.a>1)]", ".a..b!"]) expect(() => parseJsonPath(bad)).toThrow(JsonPathError);
  });
});

const crd = (over: Record<string, unknown> = {}, name = "crontabs.stable.example.com"): KubeObject => {
  const obj = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name },
    spec: {
      group: "stable.example.com",
      scope: "Namespaced",
      names: { plural: "crontabs", kind: "CronTab", shortNames: ["ct"] },
      versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: schema } }],
      ...over,
    },
  } as KubeObject;
  defaultCrd(obj);
  return obj;
};
const crdErrs = (o: KubeObject, old?: KubeObject) => validateCrd(o, old).map((e) => `${e.field}: ${e.message}`);

describe("CRD validation", () => {
  it("accepts the CronTab CRD and defaults singular, listKind, conversion and storedVersions", () => {
    const o = crd();
    expect(crdErrs(o)).toEqual([]);
    expect((o.spec as { names: unknown }).names).toEqual({ plural: "crontabs", kind: "CronTab", shortNames: ["ct"], singular: "crontab", listKind: "CronTabList" });
    expect((o.spec as { conversion: unknown }).conversion).toEqual({ strategy: "None" });
    expect((o.status as { storedVersions: unknown }).storedVersions).toEqual(["v1"]);
  });

  it("name, group, scope, names and versions rules as 422 field errors", () => {
    expect(crdErrs(crd({}, "crontab.stable.example.com"))).toEqual(['metadata.name: Invalid value: "crontab.stable.example.com": must be spec.names.plural+"."+spec.group']);
    expect(crdErrs(crd({ group: "example", names: { plural: "crontabs", kind: "CronTab" } }, "crontabs.example"))).toEqual(['spec.group: Invalid value: "example": should be a domain with at least one dot']);
    expect(crdErrs(crd({ scope: "Global" }))).toEqual(['spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"']);
    expect(crdErrs(crd({ names: { plural: "crontabs" } }))).toEqual(["spec.names.singular: Required value", "spec.names.kind: Required value", "spec.names.listKind: Required value"]);
    const two = [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: schema } }, { name: "v2", served: true, storage: true, schema: { openAPIV3Schema: schema } }];
    expect(crdErrs(crd({ versions: two }))).toEqual(['spec.versions: Invalid value: ["v1","v2"]: must have exactly one version marked as storage version']);
    expect(crdErrs(crd({ versions: [{ name: "v1", served: false, storage: true, schema: { openAPIV3Schema: schema } }] }))).toEqual(['spec.versions: Invalid value: ["v1"]: must have at least one version marked as served']);
  });

  it("requires a structural schema: present, object at the root, typed properties", () => {
    expect(crdErrs(crd({ versions: [{ name: "v1", served: true, storage: true }] }))).toEqual(["spec.versions[0].schema.openAPIV3Schema: Required value"]);
    expect(crdErrs(crd({ versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "string" } } }] }))).toEqual(['spec.versions[0].schema.openAPIV3Schema.type: Invalid value: "string": must be object at the root']);
    expect(crdErrs(crd({ versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", properties: { spec: { properties: {} } } } } }] }))).toEqual([
      "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
    ]);
  });

  it("a default must satisfy its own schema", () => {
    const bad = { type: "object", properties: { spec: { type: "object", properties: { replicas: { type: "integer", maximum: 10, default: 20 } } } } };
    expect(crdErrs(crd({ versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: bad } }] }))).toEqual([
      "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[replicas].default: Invalid value: 20: spec.replicas in body should be less than or equal to 10",
    ]);
  });

  it("group and plural are immutable; scope and kind once established", () => {
    const old = crd();
    old.status = { ...(old.status as object), conditions: [{ type: "Established", status: "True" }] };
    expect(crdErrs(crd({ scope: "Cluster" }), old)).toEqual(['spec.scope: Invalid value: "Cluster": field is immutable']);
  });
});

describe("custom resource declarations", () => {
  it("one per served version, with storage under /registry/<group>/<plural>/, subresources and printer columns", () => {
    const o = crd({
      versions: [
        { name: "v1", served: true, storage: true, schema: { openAPIV3Schema: schema }, subresources: { status: {}, scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas" } }, additionalPrinterColumns: [{ name: "Spec", type: "string", jsonPath: ".spec.cronSpec" }, { name: "Replicas", type: "integer", jsonPath: ".spec.replicas" }] },
        { name: "v1beta1", served: false, storage: false, schema: { openAPIV3Schema: schema } },
      ],
    });
    const defs = customResourceDefs(o);
    expect(defs.map((d) => d.version)).toEqual(["v1"]);
    const d = defs[0]!;
    expect(d).toMatchObject({ group: "stable.example.com", kind: "CronTab", plural: "crontabs", singular: "crontab", namespaced: true, hasStatus: true, storagePrefix: "/registry/stable.example.com/crontabs/", subresources: ["status", "scale"], shortNames: ["ct"] });
    expect(d.columns!.map((c) => c.name)).toEqual(["Name", "Spec", "Replicas"]);
    expect(d.row!(cr({ cronSpec: "* * * * *", replicas: 2 }), { now: new Date() })).toEqual(["x", "* * * * *", 2]);
    expect(d.unknownFields!(cr({ cronSpec: "* * * * *", nope: 1 }))).toEqual(["spec.nope"]);
    expect(d.openapi!.definition).toBe("com.example.stable.v1.CronTab");
  });

  it("without printer columns shows NAME AGE; a terminating CRD refuses creates", () => {
    const o = crd();
    o.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    const d = customResourceDefs(o)[0]!;
    expect(d.columns!.map((c) => c.name)).toEqual(["Name", "Age"]);
    expect(d.verbs).not.toContain("create");
  });
});

describe("robustness", () => {
  it("a shortName that is an object whose toString is not callable is Invalid, not a crash (fast-check's counterexample)", () => {
    const obj = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "x.y.z" }, spec: { names: { plural: "", kind: "", shortNames: [{ toString: 0 }] }, conversion: { strategy: "None" } } } as unknown as KubeObject;
    defaultCrd(obj);
    expect(validateCrd(obj, obj).some((e) => e.field === "spec.names.shortNames[0]" && e.message.endsWith("must be a string"))).toBe(true);
    for (const d of customResourceDefs(obj)) d.row?.({ apiVersion: "a/v1", kind: "K", metadata: { name: "n" } } as KubeObject, { now: new Date() });
  });

  it("CRD defaulting, validation and declaration building never throw on arbitrary specs", () => {
    const specArb = fc.oneof(
      fc.jsonValue(),
      fc.record({
        group: fc.oneof(fc.constant("stable.example.com"), fc.string()),
        scope: fc.oneof(fc.constant("Namespaced"), fc.jsonValue()),
        names: fc.oneof(fc.record({ plural: fc.string(), kind: fc.string(), shortNames: fc.jsonValue() }), fc.jsonValue()),
        versions: fc.array(fc.record({ name: fc.jsonValue(), served: fc.boolean(), storage: fc.boolean(), schema: fc.oneof(fc.jsonValue(), fc.record({ openAPIV3Schema: fc.jsonValue() })), subresources: fc.jsonValue(), additionalPrinterColumns: fc.jsonValue() }, { requiredKeys: [] })),
      }, { requiredKeys: [] }),
    );
    fc.assert(
      fc.property(specArb, (spec) => {
        const obj = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "x.y.z" }, spec } as KubeObject;
        defaultCrd(obj);
        expect(Array.isArray(validateCrd(obj, obj))).toBe(true);
        for (const d of customResourceDefs(obj)) {
          const cr = { apiVersion: "a/v1", kind: "K", metadata: { name: "n" }, spec: { a: 1 } } as KubeObject;
          d.defaults?.(cr);
          d.validate?.(cr);
          d.unknownFields?.(cr);
          d.row?.(cr, { now: new Date() });
        }
      }),
      { numRuns: 400 },
    );
  }, 30_000);
});
