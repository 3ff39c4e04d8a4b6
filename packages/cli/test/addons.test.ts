import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { realClock } from "@kubemu/common";
import type { Addon } from "../src/addons/local-path-storage.js";
import { metallb } from "../src/addons/metallb.js";
import { addonsConfigure, addonsDisable, addonsEnable, addonsList, type AddonsApi } from "../src/commands/addons.js";
import { makeContext } from "../src/context.js";
import { runCli } from "../src/cli.js";
import { CliError } from "../src/errors.js";

const dirs: string[] = [];
afterAll(async () => {
  await new Promise((r) => setTimeout(r, 300)); // the CLI log is opened and written asynchronously
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stateDir(up: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), "kubemu-addons-unit-"));
  dirs.push(dir);
  mkdirSync(join(dir, "logs"));
  if (up) writeFileSync(join(dir, "cluster.json"), JSON.stringify({ version: 1, cluster: "kubemu", phase: "up", processes: [] }));
  return dir;
}

function context(dir: string, isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx = makeContext({ cluster: "kubemu", stateDir: dir, profile: "fast", profileExplicit: false, logLevel: "silent", clock: realClock, io: { out: (l) => out.push(l), err: (l) => err.push(l), isTTY } });
  return { ctx, out, err };
}

/** Records what would be created and deleted; objects "exist" once created. */
function fakeApi(): AddonsApi & { created: Addon[]; replaced: Addon[]; deleted: Addon[] } {
  const api = {
    created: [] as Addon[],
    replaced: [] as Addon[],
    deleted: [] as Addon[],
    create: async (objects: Addon[]) => (api.created.push(...objects), []),
    replace: async (objects: Addon[]) => (api.replaced.push(...objects), []),
    delete: async (objects: Addon[]) => (api.deleted.push(...objects), []),
  };
  return api;
}

const kindName = (a: Addon) => `${a.object.kind}/${a.object.metadata.name}`;

describe("kubemu addons list", () => {
  it("prints minikube's table: name, profile, status, maintainer, sorted by name", () => {
    const { ctx, out } = context(stateDir(true));
    expect(addonsList(ctx, "list")).toBe(0);
    expect(out).toEqual([
      "|--------------------|---------|--------------|---------------------|",
      "|     ADDON NAME     | PROFILE |    STATUS    |     MAINTAINER      |",
      "|--------------------|---------|--------------|---------------------|",
      "| ingress            | kubemu  | disabled     | Kubernetes          |",
      "| local-path-storage | kubemu  | enabled ✅   | 3rd party (Rancher) |",
      "| metallb            | kubemu  | disabled     | 3rd party (MetalLB) |",
      "|--------------------|---------|--------------|---------------------|",
    ]);
  });

  it("without a cluster shows only names and maintainers; -o json as minikube", () => {
    const { ctx, out } = context(stateDir(false));
    addonsList(ctx, "list");
    expect(out[1]).toBe("|     ADDON NAME     |     MAINTAINER      |");
    const up = context(stateDir(true));
    addonsList(up.ctx, "json");
    expect(JSON.parse(up.out[0]!)).toEqual({ ingress: { Status: "disabled", Profile: "kubemu" }, "local-path-storage": { Status: "enabled", Profile: "kubemu" }, metallb: { Status: "disabled", Profile: "kubemu" } });
    expect(() => addonsList(up.ctx, "yaml")).toThrow("Exiting due to MK_USAGE: invalid output format: yaml. Valid values: 'list', 'json'");
  });
});

describe("kubemu addons enable / disable", () => {
  it("enable metallb without a terminal uses the default pool, creates the objects and remembers it", async () => {
    const dir = stateDir(true);
    const { ctx, out } = context(dir);
    const api = fakeApi();
    expect(await addonsEnable(ctx, "metallb", { api })).toBe(0);
    expect(out).toEqual([
      "❗  metallb is a 3rd party addon and is not maintained or verified by kubemu maintainers, enable at your own risk.",
      "❗  metallb does not currently have an associated maintainer.",
      "    ▪ Using image metallb/speaker:v0.9.6",
      "    ▪ Using image metallb/controller:v0.9.6",
      "🌟  The 'metallb' addon is enabled",
    ]);
    expect(api.created.map(kindName)).toEqual(metallb({ startIP: "127.240.0.100", endIP: "127.240.0.200" }).map(kindName));
    const cm = api.created.find((a) => a.object.kind === "ConfigMap")!.object as unknown as { data: { config: string } };
    expect(cm.data.config).toBe("address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - 127.240.0.100-127.240.0.200\n");
    expect(JSON.parse(readFileSync(join(dir, "addons.json"), "utf8"))).toEqual({ metallb: { enabled: true, config: { startIP: "127.240.0.100", endIP: "127.240.0.200" } } });
    const listed = context(dir);
    addonsList(listed.ctx, "list");
    expect(listed.out[5]).toBe("| metallb            | kubemu  | enabled ✅   | 3rd party (MetalLB) |");
  });

  it("asks minikube's questions on a terminal, again after a bad answer; flags answer without asking", async () => {
    const { ctx } = context(stateDir(true));
    const asked: string[] = [];
    const replies = ["not-an-ip", "127.240.3.10", ""];
    const api = fakeApi();
    await addonsEnable(ctx, "metallb", { api, ask: async (p) => (asked.push(p), replies.shift()!) });
    expect(asked).toEqual(["-- Enter Load Balancer Start IP [127.240.0.100]: ", "-- Enter Load Balancer Start IP [127.240.0.100]: ", "-- Enter Load Balancer End IP [127.240.0.200]: "]);
    expect((api.created.find((a) => a.object.kind === "ConfigMap")!.object as unknown as { data: { config: string } }).data.config).toContain("- 127.240.3.10-127.240.0.200\n");

    const flagged = fakeApi();
    await addonsEnable(context(stateDir(true)).ctx, "metallb", { api: flagged, answers: { startIP: "127.240.4.1", endIP: "127.240.4.9" }, ask: () => Promise.reject(new Error("must not ask")) });
    expect((flagged.created.find((a) => a.object.kind === "ConfigMap")!.object as unknown as { data: { config: string } }).data.config).toContain("- 127.240.4.1-127.240.4.9\n");
    await expect(addonsEnable(context(stateDir(true)).ctx, "metallb", { api: fakeApi(), answers: { startIP: "x" } })).rejects.toThrow('Exiting due to MK_USAGE: --start-ip: "x" is not an IPv4 address');
  });

  it("disable deletes what enable created (with the remembered pool) and says disabled; disabled again deletes nothing", async () => {
    const dir = stateDir(true);
    const api = fakeApi();
    await addonsEnable(context(dir).ctx, "metallb", { api, answers: { startIP: "127.240.5.1", endIP: "127.240.5.2" } });
    const { ctx, out } = context(dir);
    expect(await addonsDisable(ctx, "metallb", { api })).toBe(0);
    expect(out).toEqual(["🌑  The 'metallb' addon is disabled"]);
    expect(api.deleted).toEqual(api.created);
    const again = context(dir);
    await addonsDisable(again.ctx, "metallb", { api });
    expect(api.deleted).toHaveLength(api.created.length);
    expect(again.out).toEqual(["🌑  The 'metallb' addon is disabled"]);
    // The storage addon `up` creates counts as enabled until disabled.
    await addonsDisable(context(dir).ctx, "local-path-storage", { api });
    expect(api.deleted.map(kindName)).toContain("StorageClass/standard");
  });

  it("configure asks again with the current pool as default and replaces only the ConfigMap of an enabled metallb", async () => {
    const dir = stateDir(true);
    const api = fakeApi();
    await addonsEnable(context(dir).ctx, "metallb", { api, answers: { startIP: "127.240.6.1", endIP: "127.240.6.5" } });
    const { ctx, out } = context(dir);
    const asked: string[] = [];
    expect(await addonsConfigure(ctx, "metallb", { api, ask: async (p) => (asked.push(p), p.includes("Start") ? "127.240.7.1" : "") })).toBe(0);
    expect(asked).toEqual(["-- Enter Load Balancer Start IP [127.240.6.1]: ", "-- Enter Load Balancer End IP [127.240.6.5]: "]);
    expect(out).toEqual(["✅  metallb was successfully configured"]);
    expect(api.replaced.map(kindName)).toEqual(["ConfigMap/config"]);
    expect((api.replaced[0]!.object as unknown as { data: { config: string } }).data.config).toContain("- 127.240.7.1-127.240.6.5\n");
    expect(JSON.parse(readFileSync(join(dir, "addons.json"), "utf8")).metallb).toEqual({ enabled: true, config: { startIP: "127.240.7.1", endIP: "127.240.6.5" } });
    await expect(addonsConfigure(ctx, "local-path-storage", { api })).rejects.toThrow("local-path-storage has no available configuration options");
    // On a cluster where metallb is not enabled, configure enables it with the answers.
    const fresh = fakeApi();
    await addonsConfigure(context(stateDir(true)).ctx, "metallb", { api: fresh, answers: { startIP: "127.240.8.1", endIP: "127.240.8.2" } });
    expect(fresh.created.map(kindName)).toContain("DaemonSet/speaker");
  });

  it("refuses names that are not addons in minikube's words, and a cluster that is not up", async () => {
    const { ctx } = context(stateDir(true));
    await expect(addonsEnable(ctx, "foo", { api: fakeApi() })).rejects.toThrow(new CliError("Exiting due to MK_ADDON_ENABLE: enable failed: run callbacks: foo is not a valid addon"));
    await expect(addonsDisable(ctx, "foo", { api: fakeApi() })).rejects.toThrow("Exiting due to SVC_ADDON_UNSUPPORTED: 'foo' is not a valid kubemu addon");
    await expect(addonsEnable(context(stateDir(false)).ctx, "metallb", { api: fakeApi() })).rejects.toThrow(/cluster "kubemu" is not up/);
  });

  it("reports objects the API refused and does not mark the addon enabled", async () => {
    const dir = stateDir(true);
    const api = { ...fakeApi(), create: async () => ["deployment/controller: 422 invalid"] };
    await expect(addonsEnable(context(dir).ctx, "metallb", { api })).rejects.toThrow("Exiting due to MK_ADDON_ENABLE: enable failed: deployment/controller: 422 invalid");
    const listed = context(dir);
    addonsList(listed.ctx, "list");
    expect(listed.out[5]).toContain("disabled");
  });

  it("runs through the CLI: one kubemu: line and exit code 1 for an unknown addon", async () => {
    const err: string[] = [];
    const code = await runCli(["--state-dir", stateDir(true), "addons", "enable", "nope"], { io: { out: () => undefined, err: (l) => err.push(l), isTTY: false }, env: {} });
    expect(code).toBe(1);
    expect(err).toEqual(["kubemu: Exiting due to MK_ADDON_ENABLE: enable failed: run callbacks: nope is not a valid addon"]);
  });
});
