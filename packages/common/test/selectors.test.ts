import { describe, expect, it } from "vitest";
import { isStatus, StatusError } from "../src/index.js";
import { parseLabelSelector, selectorFromObject } from "../src/selectors/labels.js";
import { parseFieldSelector } from "../src/selectors/fields.js";

describe("label selectors", () => {
  const m = (sel: string, labels: Record<string, string>) => parseLabelSelector(sel).matches(labels);

  it("matches equality and inequality", () => {
    expect(m("app=web", { app: "web" })).toBe(true);
    expect(m("app==web", { app: "web" })).toBe(true);
    expect(m("app=web", { app: "db" })).toBe(false);
    expect(m("app!=web", { app: "db" })).toBe(true);
    expect(m("app!=web", {})).toBe(true);
    expect(m("app=web,tier=fe", { app: "web" })).toBe(false);
  });

  it("matches set-based requirements", () => {
    expect(m("env in (prod, qa)", { env: "qa" })).toBe(true);
    expect(m("env in (prod,qa)", { env: "dev" })).toBe(false);
    expect(m("env notin (prod)", { env: "dev" })).toBe(true);
    expect(m("env notin (prod)", {})).toBe(true);
    expect(m("env", { env: "" })).toBe(true);
    expect(m("!env", { env: "x" })).toBe(false);
    expect(m("env in (a,b),!gpu,app=x", { env: "a", app: "x" })).toBe(true);
  });

  it("an empty selector matches everything", () => {
    expect(m("", {})).toBe(true);
    expect(parseLabelSelector(undefined).matches(undefined)).toBe(true);
  });

  it.each(["app in (x", "app=web,", "=x", "a b=c", "app=in valid!", "env in ()"])("rejects %j with a BadRequest", (sel) => {
    let err: unknown;
    try {
      parseLabelSelector(sel);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).status.code).toBe(400);
  });

  it("builds from a metav1.LabelSelector object", () => {
    const s = selectorFromObject({ matchLabels: { app: "a" }, matchExpressions: [{ key: "tier", operator: "In", values: ["x"] }] });
    expect(s.matches({ app: "a", tier: "x" })).toBe(true);
    expect(s.matches({ app: "a", tier: "y" })).toBe(false);
  });
});

describe("field selectors", () => {
  it("matches = and != over given fields", () => {
    const s = parseFieldSelector("metadata.name=p,spec.nodeName!=n1");
    expect(s.matches({ "metadata.name": "p", "spec.nodeName": "n2" })).toBe(true);
    expect(s.matches({ "metadata.name": "p", "spec.nodeName": "n1" })).toBe(false);
    expect(parseFieldSelector("status.phase==Running").matches({ "status.phase": "Running" })).toBe(true);
  });

  it("rejects malformed terms", () => {
    expect(() => parseFieldSelector("metadata.name")).toThrow(StatusError);
    try {
      parseFieldSelector("nonsense");
    } catch (e) {
      expect(isStatus((e as StatusError).status)).toBe(true);
    }
  });
});
