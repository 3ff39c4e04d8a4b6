import { describe, expect, it } from "vitest";
import { encodeObject, rawListResult } from "../../src/storage/codec.js";
import { encodeRawList, mapListItems, type KubeObject, type ListResult, type RawObject } from "../../src/storage/index.js";

const pod = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default", labels: { app: "x" } },
  spec: { containers: [{ name: "c", image: "i" }] },
  ...extra,
});

const raw = (key: string, obj: KubeObject, rev: number): RawObject => ({ key, value: encodeObject(obj), rev });

/** What the list response was before raw lists: every item decoded, typed, serialized. */
function expected(items: KubeObject[], meta: Record<string, unknown>): unknown {
  return { kind: "PodList", apiVersion: "v1", metadata: meta, items };
}

describe("raw list results", () => {
  const objs: [string, KubeObject, number][] = [
    ["/registry/pods/default/a", pod("a"), 5],
    // Stored without apiVersion/kind: not spliceable, decoded and typed instead.
    ["/registry/pods/default/b", { metadata: { name: "b" }, spec: {} }, 6],
    // Metadata empty: the splice must not leave a trailing comma.
    ["/registry/pods/default/c", { apiVersion: "v1", kind: "Pod", metadata: {} }, 7],
    // A "resourceVersion" key elsewhere (an involvedObject-like field): decoded instead.
    ["/registry/pods/default/d", pod("d", { status: { ref: { resourceVersion: "1" } } }), 8],
    // Metadata key not right after apiVersion/kind.
    ["/registry/pods/default/e", { spec: { template: { metadata: { name: "t" } } }, apiVersion: "v1", kind: "Pod", metadata: { name: "e" } }, 9],
  ];
  const typed = (o: KubeObject) => Object.assign(o, { apiVersion: "v1", kind: "Pod" });

  it("writes the same list as decoding and serializing every item", () => {
    const res = mapListItems(
      rawListResult(
        objs.map(([k, o, rev]) => raw(k, o, rev)),
        { resourceVersion: "9", continue: "tok" },
      ),
      typed,
    );
    const body = encodeRawList(res, "PodList", "v1", { resourceVersion: "9", continue: "tok" });
    expect(body).toBeDefined();
    const want = objs.map(([, o, rev]) => typed({ ...structuredClone(o), metadata: { ...o.metadata, resourceVersion: String(rev) } }));
    expect(JSON.parse(body!.toString("utf8"))).toEqual(expected(want, { resourceVersion: "9", continue: "tok" }));
    // The items, when read, are the same objects.
    expect(res.items).toEqual(want);
    expect(res.continue).toBe("tok");
  });

  it("an empty list is valid JSON", () => {
    const body = encodeRawList(rawListResult([], { resourceVersion: "3" }), "PodList", "v1", { resourceVersion: "3" });
    expect(JSON.parse(body!.toString())).toEqual(expected([], { resourceVersion: "3" }));
  });

  it("gives no bytes once the items were read (they may have been changed)", () => {
    const res = rawListResult([raw("/registry/pods/default/a", pod("a"), 5)], { resourceVersion: "5" });
    res.items[0]!.metadata.labels = { changed: "yes" };
    expect(encodeRawList(res, "PodList", "v1", {})).toBeUndefined();
  });

  it("gives no bytes for a copy of the result or a plain list", () => {
    const res = rawListResult([raw("/registry/pods/default/a", pod("a"), 5)], { resourceVersion: "5" });
    const copy: ListResult = { ...res, items: res.items.map((o) => ({ ...o, kind: "Other" })) };
    expect(encodeRawList(copy, "PodList", "v1", {})).toBeUndefined();
    expect(encodeRawList({ items: [], resourceVersion: "1" }, "PodList", "v1", {})).toBeUndefined();
  });

  it("mapListItems on a list already read applies the function in place", () => {
    const res = rawListResult([raw("/registry/pods/default/b", { metadata: { name: "b" } }, 5)], { resourceVersion: "5" });
    void res.items;
    const out = mapListItems(res, typed);
    expect(out).toBe(res);
    expect(out.items[0]!.kind).toBe("Pod");
  });
});
