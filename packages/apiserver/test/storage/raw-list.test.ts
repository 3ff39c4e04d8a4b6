import { describe, expect, it } from "vitest";
import { encodeObject, rawListResult } from "../../src/storage/codec.js";
import { encodeRawList, mapListItems, type KubeObject, type ListResult, type RawObject } from "../../src/storage/index.js";

const pod = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default", uid: `uid-${name}`, labels: { app: "x" } },
  spec: { containers: [{ name: "c", image: "i" }] },
  ...extra,
});

const T = { listKind: "PodList", kind: "Pod", apiVersion: "v1" };
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
    // Metadata without uid: decoded instead.
    ["/registry/pods/default/c", { apiVersion: "v1", kind: "Pod", metadata: {} }, 7],
    // A "resourceVersion" key elsewhere (an involvedObject-like field): decoded instead.
    ["/registry/pods/default/d", pod("d", { status: { ref: { resourceVersion: "1" } } }), 8],
    // Only a uid, and fields after it.
    ["/registry/pods/default/e", { spec: { template: { metadata: { name: "t", uid: "x" } } }, apiVersion: "v1", kind: "Pod", metadata: { uid: "u", generation: 2 } }, 9],
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
    const body = encodeRawList(res, T, { resourceVersion: "9", continue: "tok" });
    expect(body).toBeDefined();
    const want = objs.map(([, o, rev]) => typed({ ...structuredClone(o), metadata: { ...o.metadata, resourceVersion: String(rev) } }));
    expect(JSON.parse(body!.toString("utf8"))).toEqual(expected(want, { resourceVersion: "9", continue: "tok" }));
    // Spliced from the stored bytes where kube-apiserver puts resourceVersion (after uid).
    expect(body!.toString()).toContain('"metadata":{"name":"a","namespace":"default","uid":"uid-a","resourceVersion":"5","labels"');
    expect(body!.toString()).toContain('"metadata":{"uid":"u","resourceVersion":"9","generation":2}');
    // The items, when read, are the same objects.
    expect(res.items).toEqual(want);
    expect(res.continue).toBe("tok");
  });

  it("an empty list is valid JSON", () => {
    const body = encodeRawList(rawListResult([], { resourceVersion: "3" }), T, { resourceVersion: "3" });
    expect(JSON.parse(body!.toString())).toEqual(expected([], { resourceVersion: "3" }));
  });

  it("gives no bytes once the items were read (they may have been changed)", () => {
    const res = rawListResult([raw("/registry/pods/default/a", pod("a"), 5)], { resourceVersion: "5" });
    res.items[0]!.metadata.labels = { changed: "yes" };
    expect(encodeRawList(res, T, {})).toBeUndefined();
  });

  it("gives no bytes for a copy of the result or a plain list", () => {
    const res = rawListResult([raw("/registry/pods/default/a", pod("a"), 5)], { resourceVersion: "5" });
    const copy: ListResult = { ...res, items: res.items.map((o) => ({ ...o, kind: "Other" })) };
    expect(encodeRawList(copy, T, {})).toBeUndefined();
    expect(encodeRawList({ items: [], resourceVersion: "1" }, T, {})).toBeUndefined();
  });

  it("mapListItems on a list already read applies the function in place", () => {
    const res = rawListResult([raw("/registry/pods/default/b", { metadata: { name: "b" } }, 5)], { resourceVersion: "5" });
    void res.items;
    const out = mapListItems(res, typed);
    expect(out).toBe(res);
    expect(out.items[0]!.kind).toBe("Pod");
  });
});
