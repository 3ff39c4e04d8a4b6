/** Pods' streaming subresources (log, exec, attach, portforward) in discovery with upstream's kinds and verbs. */
import { describe, expect, it } from "vitest";
import { builtinRegistry } from "../../src/registry/registry.js";
import { aggregatedDiscovery, apiResourceList } from "../../src/http/discovery.js";

describe("discovery of pods' connect subresources", () => {
  it("lists them in /api/v1 beside the store's subresources, sorted by name", () => {
    const list = apiResourceList(builtinRegistry(), "", "v1") as { resources: { name: string; kind: string; verbs: string[] }[] };
    const pods = list.resources.filter((r) => r.name.startsWith("pods/")).map((r) => [r.name, r.kind, r.verbs.join(",")]);
    expect(pods).toEqual([
      ["pods/attach", "PodAttachOptions", "create,get"],
      ["pods/binding", "Binding", "create"],
      ["pods/eviction", "Eviction", "create"],
      ["pods/exec", "PodExecOptions", "create,get"],
      ["pods/log", "Pod", "get"],
      ["pods/portforward", "PodPortForwardOptions", "create,get"],
      ["pods/status", "Pod", "get,patch,update"],
    ]);
  });

  it("and in aggregated discovery", () => {
    const core = aggregatedDiscovery(builtinRegistry(), true) as { items: { versions: { resources: { resource: string; subresources?: { subresource: string; responseKind: { kind: string } }[] }[] }[] }[] };
    const pods = core.items[0]!.versions[0]!.resources.find((r) => r.resource === "pods")!;
    expect(pods.subresources!.map((s) => s.subresource)).toEqual(["attach", "binding", "eviction", "exec", "log", "portforward", "status"]);
    expect(pods.subresources!.find((s) => s.subresource === "portforward")!.responseKind.kind).toBe("PodPortForwardOptions");
  });
});
