/** The shared ControllerRevision helpers (pkg/controller/history): hashing, naming, ordering, equality. */
import { describe, expect, it } from "vitest";
import { controllerRevisionName, equalRevision, fnv32, goJson, hashControllerRevision, revisionHolds, sortControllerRevisions, templatePatch, type RevisionObject } from "../../src/controller/history.js";

const rev = (name: string, revision: number, data: unknown, extra: Partial<RevisionObject["metadata"]> = {}): RevisionObject => ({ metadata: { name, namespace: "default", ...extra }, revision, data });

describe("history helpers", () => {
  it("fnv32 is FNV-1 (Go's fnv.New32), not FNV-1a", () => {
    const b = (s: string) => Buffer.from(s, "utf8");
    expect(fnv32(b(""))).toBe(0x811c9dc5);
    expect(fnv32(b("a"))).toBe(0x050c5d7e);
    expect(fnv32(b("foobar"))).toBe(0x31f0b262);
  });

  it("goJson writes what Go's json.Marshal writes for a decoded map", () => {
    expect(goJson({ b: 1, a: { d: [1, "x"], c: null }, $patch: "replace" })).toBe('{"$patch":"replace","a":{"c":null,"d":[1,"x"]},"b":1}');
    expect(goJson({ s: "<a&b>\n\u2028" })).toBe('{"s":"\\u003ca\\u0026b\\u003e\\n\\u2028"}');
  });

  it("hashes the data bytes plus the collision count, safe-encoded; equal data, equal hash", () => {
    const a = rev("x", 1, { spec: { template: { b: 1, a: 2 } } });
    const b = rev("y", 1, { spec: { template: { a: 2, b: 1 } } });
    expect(hashControllerRevision(a, 0)).toBe(hashControllerRevision(b, 0));
    expect(hashControllerRevision(a, 0)).not.toBe(hashControllerRevision(a, 1));
    expect(hashControllerRevision(a, 0)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(equalRevision(a, b)).toBe(true);
    expect(equalRevision(a, rev("z", 1, { spec: { template: { a: 3 } } }))).toBe(false);
  });

  it("names revisions <prefix>-<hash>, cutting a long prefix to 223 characters", () => {
    expect(controllerRevisionName("web", "abc")).toBe("web-abc");
    expect(controllerRevisionName("p".repeat(300), "h")).toBe(`${"p".repeat(223)}-h`);
  });

  it("sorts by revision, then creation time, then name", () => {
    const sorted = sortControllerRevisions([rev("c", 2, 1), rev("b", 1, 1, { creationTimestamp: "2026-01-02T00:00:00Z" }), rev("a", 1, 1, { creationTimestamp: "2026-01-02T00:00:00Z" }), rev("d", 1, 1, { creationTimestamp: "2026-01-01T00:00:00Z" })]);
    expect(sorted.map((r) => r.metadata.name)).toEqual(["d", "a", "b", "c"]);
  });

  it("templatePatch is upstream's getPatch: the template with Go's zero creationTimestamp and $patch replace, in Go's key order", () => {
    const template = { spec: { containers: [{ name: "c", image: "nginx" }] }, metadata: { labels: { app: "web" } } };
    const data = templatePatch(template);
    expect(JSON.stringify(data)).toBe('{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"web"}},"spec":{"containers":[{"image":"nginx","name":"c"}]}}}}');
    expect(template).toEqual({ spec: { containers: [{ name: "c", image: "nginx" }] }, metadata: { labels: { app: "web" } } });
    expect(templatePatch(undefined)).toEqual({ spec: { template: { $patch: "replace", metadata: { creationTimestamp: null } } } });
    expect(revisionHolds(rev("x", 1, JSON.parse(JSON.stringify(data))), templatePatch({ metadata: { labels: { app: "web" } }, spec: template.spec }))).toBe(true);
    expect(revisionHolds(rev("x", 1, data), templatePatch({ ...template, metadata: { labels: { app: "db" } } }))).toBe(false);
  });
});
