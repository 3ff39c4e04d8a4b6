import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { canonicalQuantity, compareQuantities, formatQuantity, parseQuantity, QuantityError, type Quantity, type QuantityFormat } from "@kubemu/common";
import { normalizeQuantities, validateQuantities } from "../../src/quantity/index.js";
import { newStore, failure } from "./helpers.js";
import { base64ErrorOffset } from "../../src/defaults/base64.js";

const FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** value = mantissa × 10^exponent, compared exactly. */
const sameValue = (a: Quantity, b: Quantity) => compareQuantities(a, b) === 0;

describe("quantity parsing and canonical form (upstream's tables)", () => {
  it.each([
    ["0.5", "500m"],
    ["1000m", "1"],
    ["1024Mi", "1Gi"],
    ["1.5Gi", "1536Mi"],
    ["100M", "100M"],
    ["1000M", "1G"],
    ["1e3", "1e3"],
    ["0.1Mi", "104857600m"],
    ["1Ki", "1Ki"],
    [".001Ki", "1024m"],
    [".000001Ki", "1024u"],
    [".000000001Ki", "1024n"],
    [".000000000001Ki", "2n"],
    ["3.001n", "4n"],
    ["0.9n", "1n"],
    ["0.00000012345", "124n"],
    ["9Ei", "9223372036854775807"],
    ["9223372036854775807Ki", "9223372036854775807"],
    ["12E", "12E"],
    ["100.035k", "100035"],
    ["0.0005k", "500m"],
    ["1.3E+6", "1300e3"],
    ["0.5e-2", "5e-3"],
    ["1E-3", "1e-3"],
    ["1.", "1"],
    ["1.G", "1G"],
    [".", "0"],
    ["0Ki", "0"],
    ["-1.5Gi", "-1536Mi"],
    ["-100m", "-100m"],
    ["1000E", "1e21"],
  ])("%s → %s", (input, canonical) => {
    expect(canonicalQuantity(input)).toBe(canonical);
  });

  it("keeps the input's format and value", () => {
    expect(parseQuantity("1Ki")).toEqual({ mantissa: 1024n, exponent: 0, format: "BinarySI" });
    expect(parseQuantity("50k")).toMatchObject({ format: "DecimalSI" });
    expect(compareQuantities(parseQuantity("50k"), parseQuantity("50000"))).toBe(0);
    expect(parseQuantity("1e3").format).toBe("DecimalExponent");
    // Below one, a binary quantity has no binary form.
    expect(parseQuantity("0.5Ki").format).toBe("BinarySI");
    expect(parseQuantity(".000000000001Ki").format).toBe("DecimalSI");
  });

  it.each(["1.1.M", "1+1.0M", "0.1am", "aoeu", " 1", "1 ", "", "1x"])("refuses %j with the format error", (input) => {
    expect(() => parseQuantity(input)).toThrow(new QuantityError(FORMAT_ERROR));
  });

  it.each(["0.1mi", ".5i", "1i", "-3.01i", "-3.01e-", "32MMi", "1e", "1Kii"])("refuses %j with the suffix error", (input) => {
    expect(() => parseQuantity(input)).toThrow("unable to parse quantity's suffix");
  });

  it("decodes JSON numbers and trims strings as upstream's UnmarshalJSON", () => {
    expect(canonicalQuantity(0.5)).toBe("500m");
    expect(canonicalQuantity(2)).toBe("2");
    expect(canonicalQuantity(-1)).toBe("-1");
    expect(canonicalQuantity(" 1 ")).toBe("1");
  });

  it("compares exactly, across formats and far-apart exponents", () => {
    const q = parseQuantity;
    expect(compareQuantities(q("100m"), q("50m"))).toBe(1);
    expect(compareQuantities(q("50m"), q("100m"))).toBe(-1);
    expect(compareQuantities(q("10000T"), q("100Gi"))).toBe(1);
    expect(compareQuantities(q("1Gi"), q("1073741824"))).toBe(0);
    expect(compareQuantities(q("1e999999999"), q("1"))).toBe(1);
    expect(compareQuantities(q("-1e999999999"), q("-1"))).toBe(-1);
    expect(compareQuantities(q("1e-999999999"), q("1n"))).toBe(0); // rounded up to one nano
  });
});

/** Quantities as upstream's fuzzer builds them: any sign, scales from nano upward, all three formats. */
const quantities: fc.Arbitrary<Quantity> = fc.oneof(
  fc
    .tuple(fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }), fc.integer({ min: -9, max: 24 }), fc.constantFrom<QuantityFormat>("DecimalSI", "DecimalExponent"))
    .map(([mantissa, exponent, format]) => ({ mantissa, exponent, format })),
  fc.tuple(fc.bigInt({ min: -1023n, max: 1023n }), fc.integer({ min: 0, max: 5 })).map(([m, power]) => ({ mantissa: m << BigInt(10 * power), exponent: 0, format: "BinarySI" as const })),
  fc.bigInt({ min: -(2n ** 63n) + 1n, max: 2n ** 63n - 1n }).map((mantissa) => ({ mantissa, exponent: 0, format: "BinarySI" as const })),
);

describe("quantity properties", () => {
  it("parse(format(q)) has q's value, and the canonical form is a fixed point", () => {
    fc.assert(
      fc.property(quantities, (q) => {
        const text = formatQuantity(q);
        const back = parseQuantity(text);
        expect(sameValue(back, q)).toBe(true);
        // A binary quantity that is no multiple of 1024 prints bare digits, which read back as
        // decimal and may then take a decimal suffix (upstream behaves the same); after that the
        // form is stable.
        const again = formatQuantity(back);
        if (q.format !== "BinarySI" || /[KMGTPE]i$/.test(text)) expect(again).toBe(text);
        expect(formatQuantity(parseQuantity(again))).toBe(again);
      }),
      { numRuns: 20000 },
    );
  });

  it("a binary quantity with no binary suffix reads back as decimal, as upstream's does", () => {
    const q = { mantissa: 36485448995425000n, exponent: 0, format: "BinarySI" as const };
    expect(formatQuantity(q)).toBe("36485448995425000");
    expect(canonicalQuantity(formatQuantity(q))).toBe("36485448995425k");
  });

  it("canonical strings never carry a fraction or a redundant suffix", () => {
    fc.assert(
      fc.property(quantities, (q) => {
        const text = formatQuantity(q);
        expect(text).toMatch(/^-?[0-9]+([numkMGTPE]|[KMGTPE]i|e-?[0-9]+)?$/);
        if (q.format === "BinarySI" && /[KMGTPE]i$/.test(text)) expect(BigInt(text.replace(/^-/, "").replace(/[KMGTPE]i$/, "")) % 1024n).not.toBe(0n);
        if (/[numkMGTPE]$/.test(text)) expect(BigInt(text.replace(/^-/, "").slice(0, -1)) % 1000n).not.toBe(0n);
      }),
      { numRuns: 2000 },
    );
  });

  it("any string over the quantity alphabet either parses to an idempotent canonical form or fails with a QuantityError", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[+-]?[0-9.]{0,6}[eEinumkKMGTP]{0,2}[-+]?[0-9]{0,3}$/), (s) => {
        let canonical: string;
        try {
          canonical = canonicalQuantity(s);
        } catch (e) {
          expect(e).toBeInstanceOf(QuantityError);
          return;
        }
        expect(canonicalQuantity(canonical)).toBe(canonical);
        expect(compareQuantities(parseQuantity(canonical), parseQuantity(s.trim()))).toBe(0);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("quantity passes over arbitrary bodies", () => {
  it("never fail but with a QuantityError, whatever shape the fields have", () => {
    const anyQuantity = fc.oneof(fc.jsonValue(), fc.constantFrom("1", "0.5", "-1Gi", "1Ki", "x"));
    const resources = fc.oneof(fc.jsonValue(), fc.record({ limits: fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), anyQuantity)), requests: fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), anyQuantity)) }));
    const pod = fc.record({
      metadata: fc.constant({ name: "p" }),
      spec: fc.oneof(fc.jsonValue(), fc.record({ containers: fc.oneof(fc.jsonValue(), fc.array(fc.oneof(fc.jsonValue(), fc.record({ name: fc.string(), resources })))), overhead: fc.jsonValue() })),
    });
    fc.assert(
      fc.property(pod, (body) => {
        try {
          normalizeQuantities("", "v1", "Pod", body);
        } catch (e) {
          expect(e).toBeInstanceOf(QuantityError);
          return;
        }
        expect(Array.isArray(validateQuantities("", "v1", "Pod", body))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});


const pod = (resources: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p" },
  spec: { containers: [{ name: "c", image: "nginx", resources }], ...extra },
});

describe("quantities in stored objects", () => {
  it("stores pod, template, PVC and PV quantities in canonical form", async () => {
    const { store, def } = await newStore();
    const p = (await store.create(
      def("", "pods"),
      "default",
      pod({ requests: { cpu: 0.5, memory: "1024Mi" }, limits: { cpu: "1000m", memory: "1.5Gi" } }, { volumes: [{ name: "v", emptyDir: { sizeLimit: "1000Mi" } }], overhead: { cpu: "0.1" } }),
    )) as any;
    expect(p.spec.containers[0].resources).toEqual({ requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "1", memory: "1536Mi" } });
    expect(p.spec.volumes[0].emptyDir.sizeLimit).toBe("1000Mi");
    expect(p.spec.overhead.cpu).toBe("100m");
    // QoS compares values, not spellings.
    expect(p.status.qosClass).toBe("Burstable");

    const d = (await store.create(def("apps", "deployments"), "default", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: {
        selector: { matchLabels: { app: "d" } },
        template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ name: "c", image: "nginx", resources: { limits: { memory: "2048Mi" } } }] } },
      },
    })) as any;
    expect(d.spec.template.spec.containers[0].resources.limits.memory).toBe("2Gi");

    const pvc = (await store.create(def("", "persistentvolumeclaims"), "default", {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "c" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1024Mi" } } },
    })) as any;
    expect(pvc.spec.resources.requests.storage).toBe("1Gi");

    const pv = (await store.create(def("", "persistentvolumes"), undefined, {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: "v" },
      spec: { capacity: { storage: "0.5Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/tmp/x" } },
    })) as any;
    expect(pv.spec.capacity.storage).toBe("512Mi");
  });

  it("computes QoS from values, however they are spelled", async () => {
    const { store, def } = await newStore();
    const p = (await store.create(def("", "pods"), "default", pod({ requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1000m", memory: "1073741824" } }))) as any;
    expect(p.status.qosClass).toBe("Guaranteed");
  });

  it("normalises quantities a patch brings in", async () => {
    const { store, def } = await newStore();
    await store.create(def("", "pods"), "default", pod({}));
    const d = def("apps", "deployments");
    await store.create(d, "default", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: { selector: { matchLabels: { app: "d" } }, template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ name: "c", image: "nginx" }] } } },
    });
    const { object } = await store.patch(d, "default", "d", "strategic", { spec: { template: { spec: { containers: [{ name: "c", resources: { requests: { cpu: "0.25" } } }] } } } });
    expect((object as any).spec.template.spec.containers[0].resources.requests.cpu).toBe("250m");
  });

  it("an update that re-sends a quantity in another spelling is no spec change (generation stays)", async () => {
    const { store, def } = await newStore();
    const d = def("apps", "deployments");
    const body = (cpu: string) => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: { selector: { matchLabels: { app: "d" } }, template: { metadata: { labels: { app: "d" } }, spec: { containers: [{ name: "c", image: "nginx", resources: { requests: { cpu } } }] } } },
    });
    await store.create(d, "default", body("0.1"));
    const same = (await store.update(d, "default", "d", body("100m"))) as any;
    expect(same.metadata.generation).toBe(1);
    const changed = (await store.update(d, "default", "d", body("0.2"))) as any;
    expect(changed.metadata.generation).toBe(2);
  });

  it("refuses a malformed quantity as upstream's decoder does (400)", async () => {
    const { store, def } = await newStore();
    const e = await failure(store.create(def("", "pods"), "default", pod({ limits: { cpu: "one" } })));
    expect(e.status.code).toBe(400);
    expect(e.status.message).toBe(`Pod in version "v1" cannot be handled as a Pod: ${FORMAT_ERROR}`);
    const s = await failure(store.create(def("", "pods"), "default", pod({ requests: { memory: "32MMi" } })));
    expect(s.status.message).toBe(`Pod in version "v1" cannot be handled as a Pod: unable to parse quantity's suffix`);
  });

  it("refuses negative quantities and requests above limits with field paths (422)", async () => {
    const { store, def } = await newStore();
    const e = await failure(store.create(def("", "pods"), "default", pod({ requests: { cpu: "2" }, limits: { cpu: "1", memory: "-1Gi" } })));
    expect(e.status.code).toBe(422);
    expect(e.status.details?.causes).toEqual(
      expect.arrayContaining([
        { reason: "FieldValueInvalid", field: "spec.containers[0].resources.limits[memory]", message: 'Invalid value: "-1Gi": must be greater than or equal to 0' },
        { reason: "FieldValueInvalid", field: "spec.containers[0].resources.requests[cpu]", message: 'Invalid value: "2": must be less than or equal to cpu limit of 1' },
      ]),
    );
    const typo = await failure(store.create(def("", "pods"), "default", pod({ limits: { cpus: "1", "example.com/gpu": "1" } })));
    expect(typo.status.details?.causes).toEqual([
      { reason: "FieldValueInvalid", field: "spec.containers[0].resources.limits[cpus]", message: 'Invalid value: "cpus": must be a standard resource type or fully qualified' },
      { reason: "FieldValueInvalid", field: "spec.containers[0].resources.limits[cpus]", message: 'Invalid value: "cpus": must be a standard resource for containers' },
      { reason: "FieldValueInvalid", field: "spec.containers[0].resources.requests[cpus]", message: 'Invalid value: "cpus": must be a standard resource type or fully qualified' },
      { reason: "FieldValueInvalid", field: "spec.containers[0].resources.requests[cpus]", message: 'Invalid value: "cpus": must be a standard resource for containers' },
    ]);
    const v = await failure(store.create(def("", "pods"), "default", pod({}, { volumes: [{ name: "v", emptyDir: { sizeLimit: "-1" } }] })));
    expect(v.status.details?.causes).toContainEqual({ reason: "FieldValueForbidden", field: "spec.volumes[0].emptyDir.sizeLimit", message: "Forbidden: SizeLimit field must be a valid resource quantity" });
  });
});

// Decode-time checks share this file with quantities: both are what upstream's typed decoder refuses.
describe("[]byte fields decode as Go's base64.StdEncoding", () => {
  it("accepts padded base64 with line breaks anywhere, and names the offset Go names otherwise", () => {
    for (const ok of ["", "YQ==", "YWI=", "YWJj", "YW\nJj", "YWJj\r\nZGVm", Buffer.from("hello world").toString("base64")]) expect(base64ErrorOffset(ok)).toBeUndefined();
    expect(base64ErrorOffset("MIIEpQIBAAKCAQEAulqb/Y ...\n")).toBe(22);
    expect(base64ErrorOffset("YWJ")).toBe(0);
    expect(base64ErrorOffset("YWJjZ")).toBe(4);
    expect(base64ErrorOffset("Y===")).toBe(1);
    expect(base64ErrorOffset("YQ==YQ==")).toBe(4);
    expect(base64ErrorOffset("a-b_")).toBe(1);
  });

  it("refuses a Secret whose data is not base64 with the decoder's 400", async () => {
    const { store, def } = await newStore();
    const e = await failure(store.create(def("", "secrets"), "default", { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { k: "MIIEpQIBAAKCAQEAulqb/Y ...\n" } }));
    expect(e.status.code).toBe(400);
    expect(e.status.message).toBe('Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 22');
    const c = await failure(store.create(def("", "configmaps"), "default", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, binaryData: { k: "%%" } }));
    expect(c.status.message).toBe('ConfigMap in version "v1" cannot be handled as a ConfigMap: illegal base64 data at input byte 0');
  });
});
