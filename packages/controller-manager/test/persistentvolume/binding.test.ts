/**
 * Which PV a claim is bound to and how the binding is written (upstream's binder_test.go and
 * index_test.go cases): class, size (the smallest fit), access modes (the fewest that include the
 * claim's first), volume mode, selector, pre-binding by spec.volumeName and by claimRef.
 */
import { describe, expect, it } from "vitest";
import { Resources } from "@kubemu/common";
import { Fixture, NS, claim, pv } from "./fixture.js";
import { findBestMatchForClaim } from "../../src/controllers/persistentvolume/matching.js";

const boundTo = (f: Fixture, claimName: string) => f.claim(claimName).spec.volumeName;

describe("PV controller: matching a claim to a PV", () => {
  it("binds the smallest PV that fits and writes both halves, annotations and status", async () => {
    const f = new Fixture({ volumes: [pv("pv-1g", { size: "1Gi" }), pv("pv-10g", { size: "10Gi" }), pv("pv-5g", { size: "5Gi" })], claims: [claim("data", { size: "3Gi" })] });
    await f.settle();
    const c = f.claim("data");
    expect(c.spec.volumeName).toBe("pv-5g");
    expect(c.metadata.annotations).toEqual({ "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes" });
    expect(c.status).toEqual({ phase: "Bound", accessModes: ["ReadWriteOnce"], capacity: { storage: "5Gi" } });
    const v = f.volume("pv-5g");
    expect(v.spec.claimRef).toEqual({ kind: "PersistentVolumeClaim", namespace: NS, name: "data", uid: "uid-data", apiVersion: "v1", resourceVersion: expect.any(String) });
    expect(v.metadata.annotations).toEqual({ "pv.kubernetes.io/bound-by-controller": "yes" });
    expect(v.status?.phase).toBe("Bound");
    expect(f.volume("pv-1g").status?.phase).toBe("Available");
    // PV first, then its phase, then the claim, then the claim's status (upstream's bind order).
    const order = f.fake.writes().map((a) => `${a.verb} ${a.resource}`);
    expect(order.slice(0, 4)).toEqual(["update persistentvolumes", "update-status persistentvolumes", "update persistentvolumeclaims", "update-status persistentvolumeclaims"]);
    expect(f.events()).toEqual([]);
  });

  it.each([
    ["a PV of another class", pv("slow-pv", { cls: "slow" }), claim("c", { cls: "fast" }), undefined],
    ["a PV of the same class", pv("fast-pv", { cls: "fast" }), claim("c", { cls: "fast" }), "fast-pv"],
    ["a class-less PV for a \"\" claim", pv("plain"), claim("c", { cls: "" }), "plain"],
    ["a classed PV for a \"\" claim", pv("classed", { cls: "fast" }), claim("c", { cls: "" }), undefined],
    ["a smaller PV", pv("small", { size: "500Mi" }), claim("c", { size: "1Gi" }), undefined],
    ["an equal size in other units", pv("mi", { size: "1024Mi" }), claim("c", { size: "1Gi" }), "mi"],
    ["a RWO PV for a RWX claim", pv("rwo"), claim("c", { modes: ["ReadWriteMany"] }), undefined],
    ["a RWO+ROX PV for a ROX claim", pv("both", { modes: ["ReadWriteOnce", "ReadOnlyMany"] }), claim("c", { modes: ["ReadOnlyMany"] }), "both"],
    ["a Filesystem PV for a Block claim", pv("fs"), claim("c", { mode: "Block" }), undefined],
    ["a Block PV for a Block claim", pv("blk", { mode: "Block" }), claim("c", { mode: "Block" }), "blk"],
    ["a labelled PV matching the selector", pv("lab", { labels: { release: "stable" } }), claim("c", { selector: { matchLabels: { release: "stable" } } }), "lab"],
    ["a PV the selector does not match", pv("lab", { labels: { release: "canary" } }), claim("c", { selector: { matchExpressions: [{ key: "release", operator: "In", values: ["stable"] }] } }), undefined],
    ["a Released PV (still pointing at its deleted claim)", pv("old", { phase: "Released", claimRef: { namespace: NS, name: "gone", uid: "uid-gone" } }), claim("c"), undefined],
    ["a PV pre-bound to another claim", pv("taken", { claimRef: { namespace: NS, name: "other" } }), claim("c"), undefined],
  ])("%s", async (_what, volume, c, expected) => {
    const f = new Fixture({ volumes: [volume], claims: [c] });
    await f.settle();
    expect(boundTo(f, "c")).toBe(expected);
    expect(f.claim("c").status?.phase).toBe(expected ? "Bound" : "Pending");
  });

  it("searches PVs with the fewest access modes first (a bigger RWO PV before a smaller RWO+ROX one)", () => {
    const volumes = [pv("rwo-rox-1g", { size: "1Gi", modes: ["ReadWriteOnce", "ReadOnlyMany"] }), pv("rwo-10g", { size: "10Gi" })];
    expect(findBestMatchForClaim(claim("c"), volumes, false)?.metadata.name).toBe("rwo-10g");
    // With no fit among the fewer modes, the wider PVs are next.
    expect(findBestMatchForClaim(claim("c", { size: "20Gi" }), [...volumes, pv("both-20g", { size: "20Gi", modes: ["ReadOnlyMany", "ReadWriteOnce"] })], false)?.metadata.name).toBe("both-20g");
  });

  it("says why nothing was bound to a claim without a class", async () => {
    const f = new Fixture({ claims: [claim("c", { cls: "" })] });
    await f.settle();
    expect(f.claim("c").status?.phase).toBe("Pending");
    expect(f.events()).toEqual(["Normal FailedBinding no persistent volumes available for this claim and no storage class is set"]);
  });

  it("binds two claims to two PVs, never both to one", async () => {
    const f = new Fixture({ volumes: [pv("a"), pv("b")], claims: [claim("c1"), claim("c2")] });
    await f.settle();
    expect(new Set([boundTo(f, "c1"), boundTo(f, "c2")])).toEqual(new Set(["a", "b"]));
  });
});

describe("PV controller: pre-bound claims and PVs", () => {
  it("binds the PV a claim names in spec.volumeName, even when a smaller one would fit; only the PV gets bound-by-controller", async () => {
    const f = new Fixture({ volumes: [pv("small", { size: "1Gi" }), pv("wanted", { size: "10Gi" })], claims: [claim("c", { volumeName: "wanted" })] });
    await f.settle();
    expect(boundTo(f, "c")).toBe("wanted");
    expect(f.claim("c").metadata.annotations).toEqual({ "pv.kubernetes.io/bind-completed": "yes" });
    expect(f.volume("wanted").metadata.annotations).toEqual({ "pv.kubernetes.io/bound-by-controller": "yes" });
    expect(f.claim("c").status?.capacity).toEqual({ storage: "10Gi" });
  });

  it("refuses a named PV that does not satisfy the claim, with VolumeMismatch, and waits for one that does not exist yet", async () => {
    const f = new Fixture({ volumes: [pv("tiny", { size: "100Mi" }), pv("other-class", { cls: "slow" })], claims: [claim("c1", { volumeName: "tiny" }), claim("c2", { volumeName: "other-class" }), claim("c3", { volumeName: "later" })] });
    await f.settle();
    expect(f.eventsFor(`${NS}/c1`)).toEqual(['Warning VolumeMismatch Cannot bind to requested volume "tiny": requested PV is too small']);
    expect(f.eventsFor(`${NS}/c2`)).toEqual(['Warning VolumeMismatch Cannot bind to requested volume "other-class": storageClassName does not match']);
    expect(f.eventsFor(`${NS}/c3`)).toEqual([]);
    expect(["c1", "c2", "c3"].map((n) => f.claim(n).status?.phase)).toEqual(["Pending", "Pending", "Pending"]);
    await f.fake.create(Resources.persistentVolumes, pv("later"));
    await f.settle();
    expect(boundTo(f, "c3")).toBe("later");
  });

  it("tells a claim whose named PV is bound elsewhere, and keeps it Pending", async () => {
    const f = new Fixture({ volumes: [pv("shared")], claims: [claim("first")] });
    await f.settle();
    await f.fake.create(Resources.persistentVolumeClaims, claim("second", { volumeName: "shared" }));
    await f.settle();
    expect(f.eventsFor(`${NS}/second`)).toEqual(['Warning FailedBinding volume "shared" already bound to a different claim.']);
    expect(f.claim("second").status?.phase).toBe("Pending");
  });

  it("binds a PV pre-bound by claimRef to its claim rather than a better fit; the claim gets bound-by-controller, the PV not", async () => {
    const f = new Fixture({ volumes: [pv("fit", { size: "1Gi" }), pv("reserved", { size: "50Gi", claimRef: { namespace: NS, name: "c" } })], claims: [claim("c")] });
    await f.settle();
    expect(boundTo(f, "c")).toBe("reserved");
    expect(f.volume("reserved").spec.claimRef?.uid).toBe("uid-c");
    expect(f.volume("reserved").metadata.annotations).toBeUndefined();
    expect(f.claim("c").metadata.annotations).toEqual({ "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes" });
    expect(f.volume("fit").status?.phase).toBe("Available");
  });

  it("keeps a PV pre-bound to a claim that does not exist yet Available for it", async () => {
    const f = new Fixture({ volumes: [pv("reserved", { phase: "Pending", claimRef: { namespace: NS, name: "later" } })], claims: [claim("other")] });
    await f.settle();
    expect(f.volume("reserved").status?.phase).toBe("Available");
    expect(boundTo(f, "other")).toBeUndefined();
  });

  it("a stale write (Conflict) is retried by the next sync and the binding completes", async () => {
    const f = new Fixture({ volumes: [pv("a")], claims: [claim("c")] });
    let failed = false;
    f.fake.react((a) => {
      if (!failed && a.verb === "update" && a.resource === "persistentvolumeclaims") {
        failed = true;
        return new Error("Operation cannot be fulfilled: the object has been modified");
      }
      return undefined;
    });
    await expect(f.round()).rejects.toThrow("has been modified");
    // Half done: the PV points at the claim, the claim not yet at the PV.
    expect(f.volume("a").spec.claimRef?.name).toBe("c");
    expect(boundTo(f, "c")).toBeUndefined();
    await f.settle();
    expect(boundTo(f, "c")).toBe("a");
    expect(f.claim("c").status?.phase).toBe("Bound");
  });
});
