/** FakeClient's opt-in API-server deletion semantics: finalizers hold an object, the last one's removal deletes it. */
import { describe, expect, it } from "vitest";
import { Resources, type KubeObject } from "@kubemu/common";
import { FakeClient } from "../fake-client.js";

const cm = (name: string, finalizers?: string[]): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default", uid: `u-${name}`, ...(finalizers ? { finalizers } : {}) } });

describe("FakeClient with lifecycle", () => {
  it("Foreground and Orphan mark the object; removing the finalizer deletes it; Background with no finalizers deletes at once", async () => {
    const fake = new FakeClient([{ resource: Resources.configMaps, objects: [cm("f"), cm("o"), cm("b")] }], { lifecycle: true });
    const f = await fake.delete(Resources.configMaps, "default", "f", { propagationPolicy: "Foreground" });
    expect([f.metadata.deletionTimestamp, f.metadata.finalizers]).toEqual(["2026-01-01T00:00:00Z", ["foregroundDeletion"]]);
    expect((await fake.delete(Resources.configMaps, "default", "o", { propagationPolicy: "Orphan" })).metadata.finalizers).toEqual(["orphan"]);
    await fake.delete(Resources.configMaps, "default", "b", { propagationPolicy: "Background" });
    expect(fake.objects(Resources.configMaps).map((o) => o.metadata.name).sort()).toEqual(["f", "o"]);
    await fake.patch(Resources.configMaps, "default", "f", "merge", { metadata: { finalizers: null } });
    expect(fake.objects(Resources.configMaps).map((o) => o.metadata.name)).toEqual(["o"]);
  });

  it("a namespace waits for its spec.finalizers and goes once finalize empties them", async () => {
    const ns: KubeObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: "team", uid: "u-team" }, spec: { finalizers: ["kubernetes"] } } as KubeObject;
    const fake = new FakeClient([{ resource: Resources.namespaces, objects: [ns] }], { lifecycle: true });
    const marked = await fake.delete<any>(Resources.namespaces, undefined, "team");
    expect(marked.status.phase).toBe("Terminating");
    await fake.update(Resources.namespaces, { ...marked, spec: { finalizers: [] } }, { subresource: "finalize" });
    expect(fake.objects(Resources.namespaces)).toEqual([]);
    expect(fake.writes().map((a) => `${a.verb}${a.subresource ? `/${a.subresource}` : ""}`)).toEqual(["delete", "update/finalize"]);
  });

  it("deleteCollection deletes one namespace's objects as one recorded action", async () => {
    const other = { ...cm("x"), metadata: { ...cm("x").metadata, namespace: "other" } };
    const fake = new FakeClient([{ resource: Resources.configMaps, objects: [cm("a"), cm("b", ["keep"]), other] }], { lifecycle: true });
    const list = await fake.deleteCollection(Resources.configMaps, { namespace: "default", propagationPolicy: "Background" });
    expect(list.items.map((o) => o.metadata.name).sort()).toEqual(["a", "b"]);
    expect(fake.objects(Resources.configMaps).map((o) => `${o.metadata.name}:${o.metadata.deletionTimestamp ? "terminating" : "live"}`).sort()).toEqual(["b:terminating", "x:live"]);
    expect(fake.writes().map((a) => a.verb)).toEqual(["deletecollection"]);
  });
});
