/**
 * persistentVolumeClaimRetentionPolicy: owner references on the claims as upstream sets them, so
 * the garbage collector deletes them with the set (whenDeleted: Delete) or with a scaled-down pod
 * (whenScaled: Delete); Retain leaves them unowned. Plus the claim edge cases: a claim being
 * deleted blocks its pod, a claim still owned by an earlier pod of the same name is stale.
 */
import { describe, expect, it } from "vitest";
import { Resources } from "@kubemu/common";
import type { ClaimObject } from "../../src/controllers/statefulset/types.js";
import { Fixture, NS, newSet } from "./fixture.js";

const setRef = { apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "uid-web", controller: true, blockOwnerDeletion: true };
const podRef = (name: string, uid: string) => ({ apiVersion: "v1", kind: "Pod", name, uid, controller: true, blockOwnerDeletion: true });
const policy = (whenDeleted: string, whenScaled: string) => ({ spec: { persistentVolumeClaimRetentionPolicy: { whenDeleted, whenScaled } } });
const refsOf = (f: Fixture, name: string) => f.claims().find((c) => c.metadata.name === name)!.metadata.ownerReferences;

describe("StatefulSet claim retention", () => {
  it("Retain/Retain leaves claims without owners, through scale-down", async () => {
    const f = Fixture.of(newSet({ replicas: 2, ...policy("Retain", "Retain") }));
    await f.syncUntilStable();
    await f.editSpec((s) => (s.replicas = 1));
    await f.syncUntilStable();
    expect(f.podNames()).toEqual(["web-0"]);
    expect(f.claims().map((c) => [c.metadata.name, c.metadata.ownerReferences])).toEqual([
      ["www-web-0", undefined],
      ["www-web-1", undefined],
    ]);
  });

  it("whenDeleted Delete makes the set own every claim", async () => {
    const f = Fixture.of(newSet({ replicas: 2, ...policy("Delete", "Retain") }));
    await f.syncUntilStable();
    expect(refsOf(f, "www-web-0")).toEqual([setRef]);
    expect(refsOf(f, "www-web-1")).toEqual([setRef]);
  });

  it("whenScaled Delete hands a scaled-down pod's claim to the pod before deleting the pod", async () => {
    const f = Fixture.of(newSet({ replicas: 2, ...policy("Retain", "Delete") }));
    await f.syncUntilStable();
    expect(refsOf(f, "www-web-1")).toBeUndefined();
    const uid = f.pod("web-1").metadata.uid!;
    await f.editSpec((s) => (s.replicas = 1));
    f.fake.clearActions();
    await f.sync();
    expect(refsOf(f, "www-web-1")).toEqual([podRef("web-1", uid)]);
    const writes = f.writes().map((a) => `${a.verb} ${a.resource}/${a.name}`);
    expect(writes.indexOf("update persistentvolumeclaims/www-web-1")).toBeLessThan(writes.indexOf("delete pods/web-1"));
    expect(refsOf(f, "www-web-0")).toBeUndefined();
  });

  it("Delete/Delete: the set owns in-range claims, the pod owns a scaled-down one", async () => {
    const f = Fixture.of(newSet({ replicas: 2, ...policy("Delete", "Delete") }));
    await f.syncUntilStable();
    expect(refsOf(f, "www-web-1")).toEqual([setRef]);
    const uid = f.pod("web-1").metadata.uid!;
    await f.editSpec((s) => (s.replicas = 1));
    await f.sync();
    expect(refsOf(f, "www-web-1")).toEqual([podRef("web-1", uid)]);
    expect(refsOf(f, "www-web-0")).toEqual([setRef]);
  });

  it("a claim owned by an earlier pod of the same name is stale: the new pod waits for the garbage collector", async () => {
    const stale: ClaimObject = { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "www-web-0", namespace: NS, uid: "uid-claim", ownerReferences: [podRef("web-0", "uid-old-web-0")] }, spec: {} };
    const f = Fixture.of(newSet({ replicas: 1, ...policy("Retain", "Delete") }), { claims: [stale] });
    await f.sync();
    expect(f.podNames()).toEqual([]);
    await f.fake.delete(Resources.persistentVolumeClaims, NS, "www-web-0");
    await f.sync();
    expect(f.podNames()).toEqual(["web-0"]);
  });

  it("a claim being deleted blocks its pod with FailedCreate", async () => {
    const dying: ClaimObject = { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "www-web-0", namespace: NS, uid: "uid-claim", deletionTimestamp: "2026-01-01T00:00:00Z" }, spec: {} };
    const f = Fixture.of(newSet({ replicas: 1 }), { claims: [dying] });
    await expect(f.sync()).rejects.toThrow("pvc www-web-0 is being deleted");
    expect(f.podNames()).toEqual([]);
    expect(f.events()).toEqual(["Warning FailedCreate create Pod web-0 in StatefulSet web failed error: pvc www-web-0 is being deleted"]);
  });

  it("reuses an existing claim without an event", async () => {
    const kept: ClaimObject = { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "www-web-0", namespace: NS, uid: "uid-claim", labels: { app: "nginx" } }, spec: {} };
    const f = Fixture.of(newSet({ replicas: 1 }), { claims: [kept] });
    await f.sync();
    expect(f.podNames()).toEqual(["web-0"]);
    expect(f.writes("create", "persistentvolumeclaims")).toEqual([]);
    expect(f.events()).toEqual(["Normal SuccessfulCreate create Pod web-0 in StatefulSet web successful"]);
  });
});
