/** The admission chain: upstream's plugin order, mutating before validating, plugins turned off by name. */
import { describe, expect, it } from "vitest";
import { AdmissionChain, type AdmissionPlugin, type AdmissionRequest } from "../../src/admission/chain.js";
import { newStore } from "./helpers.js";

describe("admission chain", () => {
  it("runs kubemu's plugins in upstream's order", async () => {
    const { store } = await newStore({ serviceAccountAdmission: true });
    expect(store.admission.enabledNames()).toEqual([
      "NamespaceLifecycle",
      "LimitRanger",
      "ServiceAccount",
      "NodeRestriction",
      "Priority",
      "DefaultTolerationSeconds",
      "DefaultStorageClass",
      "StorageObjectInUseProtection",
      "ResourceQuota",
    ]);
  });

  it("--disable-admission-plugins takes a plugin out", async () => {
    const { store } = await newStore();
    expect(store.admission.enabledNames()).not.toContain("ServiceAccount");
  });

  it("every mutating step runs before any validating step, each in chain order; disabled plugins run neither", async () => {
    const seen: string[] = [];
    const plugin = (name: string): AdmissionPlugin => ({
      name,
      admit: () => void seen.push(`admit ${name}`),
      validate: () => void seen.push(`validate ${name}`),
    });
    const chain = new AdmissionChain([plugin("A"), plugin("B"), plugin("C")], new Set(["B"]));
    const r = {} as AdmissionRequest;
    await chain.admit(r);
    await chain.validate(r);
    expect(seen).toEqual(["admit A", "admit C", "validate A", "validate C"]);
  });

  it("a plugin's refusal stops the chain", async () => {
    const seen: string[] = [];
    const chain = new AdmissionChain([
      { name: "Refuses", admit: () => Promise.reject(new Error("no")) },
      { name: "Later", admit: () => void seen.push("later") },
    ]);
    await expect(chain.admit({} as AdmissionRequest)).rejects.toThrow("no");
    expect(seen).toEqual([]);
  });
});
