import { describe, expect, it } from "vitest";
import { StatusError } from "@kubemu/common";
import { applyJsonPatch } from "../../src/patch/json-patch.js";
import { applyMergePatch } from "../../src/patch/merge-patch.js";
import { applyStrategicMergePatch } from "../../src/patch/strategic.js";
import { serverSideApply } from "../../src/patch/managed-fields.js";

const deploy = () => ({
  metadata: { name: "d", labels: { app: "d" }, finalizers: ["a"] },
  spec: {
    replicas: 1,
    template: {
      spec: {
        containers: [
          { name: "c", image: "img:v1", env: [{ name: "A", value: "1" }], ports: [{ containerPort: 80 }] },
          { name: "side", image: "side:v1" },
        ],
        volumes: [{ name: "v", emptyDir: {} }],
      },
    },
  },
});

describe("JSON patch (RFC 6902)", () => {
  it("applies add/replace/remove/move/copy/test", () => {
    const out = applyJsonPatch({ a: 1, b: [1, 2], c: { d: 1 } }, [
      { op: "replace", path: "/a", value: 2 },
      { op: "add", path: "/b/-", value: 3 },
      { op: "add", path: "/b/0", value: 0 },
      { op: "remove", path: "/c/d" },
      { op: "copy", from: "/a", path: "/e" },
      { op: "move", from: "/e", path: "/f" },
      { op: "test", path: "/f", value: 2 },
    ]);
    expect(out).toEqual({ a: 2, b: [0, 1, 2, 3], c: {}, f: 2 });
  });

  it("does not modify its input", () => {
    const doc = { a: { b: 1 } };
    applyJsonPatch(doc, [{ op: "replace", path: "/a/b", value: 2 }]);
    expect(doc.a.b).toBe(1);
  });

  it("fails a test op or a missing path with a Status", () => {
    expect(() => applyJsonPatch({ a: 1 }, [{ op: "test", path: "/a", value: 2 }])).toThrow(StatusError);
    expect(() => applyJsonPatch({ a: 1 }, [{ op: "replace", path: "/x/y", value: 2 }])).toThrow(StatusError);
    expect(() => applyJsonPatch({ a: 1 }, { op: "add" })).toThrow(StatusError);
    expect(() => applyJsonPatch({ a: [] }, [{ op: "add", path: "/a/5", value: 1 }])).toThrow(StatusError);
  });
});

describe("merge patch (RFC 7386)", () => {
  it("merges maps, deletes on null, replaces lists", () => {
    expect(applyMergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [9] })).toEqual({ a: { c: 2, d: 3 }, l: [9] });
  });
});

describe("strategic merge patch", () => {
  it("merges containers by name and keeps the others", () => {
    const out = applyStrategicMergePatch(deploy(), { spec: { template: { spec: { containers: [{ name: "c", image: "img:v2" }] } } } }) as any;
    expect(out.spec.template.spec.containers).toHaveLength(2);
    expect(out.spec.template.spec.containers[0]).toMatchObject({ name: "c", image: "img:v2", env: [{ name: "A", value: "1" }] });
    expect(out.spec.template.spec.containers[1].image).toBe("side:v1");
  });

  it("merges env by name and container ports by containerPort", () => {
    const out = applyStrategicMergePatch(deploy(), {
      spec: { template: { spec: { containers: [{ name: "c", env: [{ name: "B", value: "2" }], ports: [{ containerPort: 443 }] }] } } },
    }) as any;
    const c = out.spec.template.spec.containers[0];
    expect(c.env.map((e: any) => e.name)).toEqual(["A", "B"]);
    expect(c.ports.map((p: any) => p.containerPort)).toEqual([80, 443]);
  });

  it("honours $patch: delete, null, and $setElementOrder", () => {
    const out = applyStrategicMergePatch(deploy(), {
      metadata: { labels: { app: null } },
      spec: {
        template: {
          spec: {
            $setElementOrder_containers: undefined,
            "$setElementOrder/containers": [{ name: "side" }, { name: "c" }],
            containers: [{ name: "c", image: "img:v3" }],
            volumes: [{ name: "v", $patch: "delete" }],
          },
        },
      },
    }) as any;
    expect(out.metadata.labels).toEqual({});
    expect(out.spec.template.spec.containers.map((c: any) => c.name)).toEqual(["side", "c"]);
    expect(out.spec.template.spec.volumes).toEqual([]);
  });

  it("unions merge-strategy primitive lists (finalizers) and replaces atomic ones", () => {
    const out = applyStrategicMergePatch(deploy(), { metadata: { finalizers: ["b"] } }) as any;
    expect(out.metadata.finalizers).toEqual(["a", "b"]);
    const out2 = applyStrategicMergePatch({ spec: { tolerations: [{ key: "a" }] } }, { spec: { tolerations: [{ key: "b" }] } }) as any;
    expect(out2.spec.tolerations).toEqual([{ key: "b" }]);
  });

  it("$patch: replace replaces a map", () => {
    const out = applyStrategicMergePatch({ spec: { selector: { a: "1", b: "2" } } }, { spec: { selector: { $patch: "replace", c: "3" } } }) as any;
    expect(out.spec.selector).toEqual({ c: "3" });
  });

  it("a non-object patch is a BadRequest", () => {
    expect(() => applyStrategicMergePatch({}, [1])).toThrow(StatusError);
  });
});

describe("server-side apply", () => {
  const t = "2026-01-01T00:00:00Z";
  it("records the applier's fields, detects conflicts, and forces", () => {
    const first = serverSideApply(undefined, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" }, spec: { replicas: 1 } }, "a", false, t, "d");
    expect(first.metadata.managedFields).toHaveLength(1);
    const second = serverSideApply(first, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" }, spec: { paused: true } }, "b", false, t, "d");
    expect((second.spec as any).replicas).toBe(1);
    expect((second.spec as any).paused).toBe(true);
    let err: StatusError | undefined;
    try {
      serverSideApply(second, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" }, spec: { replicas: 3 } }, "b", false, t, "d");
    } catch (e) {
      err = e as StatusError;
    }
    expect(err?.status.code).toBe(409);
    expect(err?.status.details?.causes?.[0]).toMatchObject({ reason: "FieldManagerConflict", field: ".spec.replicas" });
    const forced = serverSideApply(second, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" }, spec: { replicas: 3 } }, "b", true, t, "d");
    expect((forced.spec as any).replicas).toBe(3);
  });

  it("removes fields the applier stops applying", () => {
    const first = serverSideApply(undefined, { metadata: { name: "c", labels: { a: "1", b: "2" } } }, "m", false, t, "c");
    const second = serverSideApply(first, { metadata: { name: "c", labels: { a: "1" } } }, "m", false, t, "c");
    expect(second.metadata.labels).toEqual({ a: "1" });
  });
});
