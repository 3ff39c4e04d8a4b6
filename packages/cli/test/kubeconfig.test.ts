import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { mergeKubeconfig, userKubeconfigPath } from "../src/kubeconfig.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "kubemu-kubeconfig-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("kubeconfig", () => {
  it("uses the first $KUBECONFIG entry, else ~/.kube/config", () => {
    expect(userKubeconfigPath({ KUBECONFIG: "/a/one:/b/two", HOME: "/h" })).toBe("/a/one");
    expect(userKubeconfigPath({ HOME: "/h" })).toBe("/h/.kube/config");
    expect(userKubeconfigPath({ KUBECONFIG: "", HOME: "/h" })).toBe("/h/.kube/config");
  });

  it("creates a missing kubeconfig (and its directory) with the kubemu context current", () => {
    const path = join(tmp(), "nested", ".kube", "config");
    mergeKubeconfig(path, "kubemu", "http://127.0.0.1:40000");
    const cfg = parse(readFileSync(path, "utf8"));
    expect(cfg["current-context"]).toBe("kubemu");
    expect(cfg.clusters).toEqual([{ name: "kubemu", cluster: { server: "http://127.0.0.1:40000" } }]);
    expect(cfg.contexts[0].context).toMatchObject({ cluster: "kubemu", user: "kubemu" });
  });

  it("keeps other clusters and replaces only its own entries on a second up", () => {
    const path = join(tmp(), "config");
    writeFileSync(
      path,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: prod, cluster: {server: 'https://prod:6443'}}, {name: kubemu, cluster: {server: 'http://old'}}]",
        "users: [{name: prod, user: {token: secret}}]",
        "contexts: [{name: prod, context: {cluster: prod, user: prod}}]",
        "current-context: prod",
      ].join("\n"),
    );
    mergeKubeconfig(path, "kubemu", "http://127.0.0.1:40001");
    const cfg = parse(readFileSync(path, "utf8"));
    expect(cfg.clusters.map((c: { name: string }) => c.name)).toEqual(["prod", "kubemu"]);
    expect(cfg.clusters[1].cluster.server).toBe("http://127.0.0.1:40001");
    expect(cfg.users).toContainEqual({ name: "prod", user: { token: "secret" } });
    expect(cfg.contexts.map((c: { name: string }) => c.name)).toEqual(["prod", "kubemu"]);
    expect(cfg["current-context"]).toBe("kubemu");
  });

  it("refuses to touch a file that is not a kubeconfig", () => {
    const path = join(tmp(), "config");
    writeFileSync(path, "- just\n- a list\n");
    expect(() => mergeKubeconfig(path, "kubemu", "http://x")).toThrow(/not a kubeconfig/);
    writeFileSync(path, "a: [unclosed\n");
    expect(() => mergeKubeconfig(path, "kubemu", "http://x")).toThrow(/not valid YAML/);
    expect(readFileSync(path, "utf8")).toBe("a: [unclosed\n");
  });
});
