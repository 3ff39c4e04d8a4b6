import { describe, expect, it } from "vitest";
import { nodeConditions } from "../src/node/conditions.js";
import { initialNode, reconcileExisting } from "../src/node/node-object.js";
import { parseLabels } from "../src/config.js";
import { osImage } from "../src/node/host-info.js";

const ok = { memoryPressure: false, diskPressure: false, pidPressure: false, notReady: undefined };

describe("node conditions", () => {
  it("first post: upstream's four conditions, events for the pressure ones only", () => {
    const { conditions, changes } = nodeConditions(undefined, ok, "T1");
    expect(conditions.map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      ["MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"],
      ["DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"],
      ["PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"],
      ["Ready", "True", "KubeletReady", "kubelet is posting ready status"],
    ]);
    expect(changes.map((c) => c.event)).toEqual(["NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID"]);
  });
  it("heartbeat moves, transition stays; a flip (Unknown from the node controller) is an event", () => {
    const first = nodeConditions(undefined, ok, "T1").conditions;
    const again = nodeConditions(first, ok, "T2");
    expect(again.changes).toEqual([]);
    expect(again.conditions[3]!.lastHeartbeatTime).toBe("T2");
    expect(again.conditions[3]!.lastTransitionTime).toBe("T1");
    const unknown = first.map((c) => ({ ...c, status: "Unknown" as const }));
    expect(nodeConditions(unknown, ok, "T3").changes.map((c) => c.event)).toContain("NodeReady");
  });
});

describe("node object", () => {
  const host = { machineID: "m", systemUUID: "s", bootID: "b", kernelVersion: "6.1", osImage: "Debian GNU/Linux 12 (bookworm)", architecture: "amd64" };
  const id = { nodeName: "kubemu-m02", nodeIp: "127.1.70.2", podCidr: "127.246.2.0/24", extraLabels: {}, kubeletPort: 10250 };
  it("the kubelet's labels (not minikube's or kubeadm's: NodeRestriction forbids them), addresses, podCIDR, nodeInfo", () => {
    const n = initialNode(id, host, { cpu: "2", memory: "4Gi", ephemeralStorage: "100Gi", pods: "110" }) as { metadata: { labels: Record<string, string> }; spec: unknown; status: { addresses: unknown; nodeInfo: Record<string, string>; capacity: Record<string, string> } };
    expect(n.metadata.labels).toEqual({ "kubernetes.io/hostname": "kubemu-m02", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64" });
    expect(n.metadata.labels["node-role.kubernetes.io/control-plane"]).toBeUndefined();
    expect(n.spec).toEqual({ podCIDR: "127.246.2.0/24", podCIDRs: ["127.246.2.0/24"] });
    expect(n.status.addresses).toEqual([{ type: "InternalIP", address: "127.1.70.2" }, { type: "Hostname", address: "kubemu-m02" }]);
    expect(n.status.nodeInfo.kubeletVersion).toMatch(/^v1\.32\.\d+$/);
    expect(n.status.nodeInfo.containerRuntimeVersion).toMatch(/^kubemu:\/\//);
    expect(n.status.capacity).toMatchObject({ cpu: "2", memory: "4Gi", pods: "110", "ephemeral-storage": "100Gi" });
  });
  it("re-registration reconciles labels and a missing pod CIDR only", () => {
    const wanted = initialNode({ ...id, extraLabels: { "node-role.kubernetes.io/control-plane": "" } }, host, { cpu: "2", memory: "4Gi", ephemeralStorage: "1Gi", pods: "110" });
    const have = { metadata: { labels: { ...(wanted.metadata as { labels: Record<string, string> }).labels, "minikube.k8s.io/updated_at": "old" } }, spec: { podCIDR: "127.246.2.0/24" } };
    // Labels others set (the launcher's minikube.k8s.io/*) are left alone.
    expect(reconcileExisting(have, wanted)).toBeUndefined();
    expect(reconcileExisting({ metadata: { labels: {} }, spec: {} }, wanted)).toMatchObject({ spec: { podCIDR: "127.246.2.0/24" } });
  });
  it("flag helpers", () => {
    expect(parseLabels("node-role.kubernetes.io/control-plane=,zone=a")).toEqual({ "node-role.kubernetes.io/control-plane": "", zone: "a" });
    expect(() => parseLabels("bad key=x")).toThrow();
    expect(osImage('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')).toBe("Debian GNU/Linux 12 (bookworm)");
  });
});
