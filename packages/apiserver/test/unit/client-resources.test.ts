/**
 * The components' Resources table (common) names every built-in resource the API server serves
 * with list, watch and delete — the garbage collector and the namespace controller walk it — with
 * the same kind and scope. events.k8s.io is a second view of the core Events and is left out.
 */
import { describe, expect, it } from "vitest";
import { Resources } from "@kubemu/common";
import { builtinRegistry } from "../../src/registry/registry.js";
import { ALL_VERBS } from "../../src/registry/types.js";
import { crdResource } from "../../src/crd/crd-resource.js";

describe("common's Resources covers the served built-ins", () => {
  it("has every deletable built-in resource with its kind and scope", () => {
    const served = [...builtinRegistry().resources, crdResource]
      .filter((d) => ["list", "watch", "delete"].every((v) => (d.verbs ?? ALL_VERBS).includes(v as never)) && d.group !== "events.k8s.io")
      .map((d) => `${d.group}/${d.version}/${d.plural} ${d.kind} ${d.namespaced ? "namespaced" : "cluster"}`)
      .sort();
    const listed = Object.values(Resources)
      .map((r) => `${r.group}/${r.version}/${r.resource} ${r.kind} ${r.namespaced ? "namespaced" : "cluster"}`)
      .sort();
    expect(listed).toEqual(served);
  });
});
