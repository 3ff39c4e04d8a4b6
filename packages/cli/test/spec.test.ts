import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { mergeRules } from "../src/commands/faults.js";
import type { ProcessRecord } from "../src/cluster-state.js";
import { CliError } from "../src/errors.js";
import { selectProcesses } from "../src/select.js";
import { loadSpecFile, parseHostPort, validateProcessList } from "../src/spec.js";
import { resolveStateDir } from "../src/state-dir.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const base = { name: "p", bin: "/bin/x.js", addresses: { control: "127.0.199.1:4000" }, controlUrl: "http://127.0.199.1:4000" };

describe("spec files", () => {
  it("loads YAML with relative bins resolved against the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "kubemu-spec-"));
    dirs.push(dir);
    const file = join(dir, "spec.yaml");
    writeFileSync(file, "processes:\n  - name: one\n    bin: bin/one.js\n    args: [--x]\n    addresses: { control: 127.0.199.1:4000 }\n    controlUrl: http://127.0.199.1:4000/\n");
    expect(loadSpecFile(file)).toEqual([
      { name: "one", component: "one", bin: join(dir, "bin/one.js"), nodeArgs: [], args: ["--x"], addresses: { control: "127.0.199.1:4000" }, controlUrl: "http://127.0.199.1:4000", env: {} },
    ]);
  });

  it.each([
    [[], /non-empty list/],
    [[{ ...base, addresses: { control: "10.0.0.1:4000" } }], /not a loopback address/],
    [[{ ...base, controlUrl: "http://192.168.1.1:80" }], /not a loopback address/],
    [[{ ...base, controlUrl: "ws://127.0.0.1:80" }], /must be http:\/\/ or https:\/\//],
    [[{ ...base, addresses: { control: "127.0.0.1:70000" } }], /out of range/],
    [[base, base], /appears twice/],
    [[{ ...base, colour: "red" }], /unknown field "colour"/],
    [[{ ...base, name: "Bad Name" }], /not a valid name/],
    [[{ ...base, args: "--x" }], /list of strings/],
    [[{ ...base, node: "p" }], /same name as a process/],
    [[base, { ...base, name: "q" }], /p and q both listen on 127.0.199.1:4000/],
  ])("rejects %j", (list, message) => {
    expect(() => validateProcessList(list, "/", "spec")).toThrow(message);
  });

  it("parses loopback host:port only", () => {
    expect(parseHostPort("127.0.10.1:2379", "x")).toEqual({ host: "127.0.10.1", port: 2379 });
    expect(() => parseHostPort("localhost:1", "x")).toThrow(CliError);
    expect(() => parseHostPort("127.0.0.300:1", "x")).toThrow(/not an IPv4/);
  });
});

describe("name selection", () => {
  const recs = [{ name: "etcd-0" }, { name: "kubelet-kubemu", node: "kubemu" }, { name: "kube-proxy-kubemu", node: "kubemu" }] as ProcessRecord[];
  it("takes process names and node names, in cluster order, once each", () => {
    expect(selectProcesses(recs, ["kube-proxy-kubemu", "kubemu", "etcd-0"]).map((r) => r.name)).toEqual(["etcd-0", "kubelet-kubemu", "kube-proxy-kubemu"]);
  });
  it("lists the valid names for an unknown one", () => {
    expect(() => selectProcesses(recs, ["etcd-9"])).toThrow('unknown process "etcd-9" (valid: etcd-0, kubelet-kubemu, kube-proxy-kubemu; nodes: kubemu)');
  });
});

describe("fault rule merging", () => {
  it("keeps existing rules and skips rules that match after defaults", () => {
    const existing = [
      { peer: "b", direction: "both" as const, action: "drop" as const, probability: 1 },
      { peer: "c", direction: "out" as const, action: "delay" as const, delayMs: 50, probability: 1 },
    ];
    const merged = mergeRules(existing, [
      { peer: "b", direction: "both", action: "drop" },
      { peer: "c", direction: "both", action: "drop" },
    ]);
    expect(merged).toEqual([...existing, { peer: "c", direction: "both", action: "drop" }]);
  });
});

describe("state dir", () => {
  it("prefers --state-dir, then $KUBEMU_HOME, then ~/.kubemu/<cluster>", () => {
    expect(resolveStateDir({ stateDir: "/tmp/x", cluster: "c", env: { KUBEMU_HOME: "/tmp/h" } })).toBe("/tmp/x");
    expect(resolveStateDir({ cluster: "c", env: { KUBEMU_HOME: "/tmp/h" } })).toBe("/tmp/h");
    expect(resolveStateDir({ cluster: "c", env: {} })).toMatch(/\/\.kubemu\/c$/);
  });
});
