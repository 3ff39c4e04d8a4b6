import { describe, expect, it } from "vitest";
import { computePodResourceRequest, newPodInfo, NodeInfo, HostPortInfo, nextGeneration } from "@kubemu/scheduler";
import { makeNode, makePod } from "./algo-fixtures.js";

const GI = 1024 ** 3;
const c = (name: string, requests: Record<string, string>, restartPolicy?: string) => ({ name, image: "x", resources: { requests }, ...(restartPolicy ? { restartPolicy } : {}) });

describe("computePodResourceRequest", () => {
  it("takes the largest init container per resource, against the containers' sum (upstream's doc example)", () => {
    const pod = makePod("p", {
      initContainers: [c("ic1", { cpu: "2", memory: "1G" }), c("ic2", { cpu: "2", memory: "3G" })],
      containers: [c("c1", { cpu: "2", memory: "1G" }), c("c2", { cpu: "1", memory: "1G" })],
    });
    const r = computePodResourceRequest(pod);
    expect(r.milliCPU).toBe(3000);
    expect(r.memory).toBe(3e9);
  });

  it("adds restartable init containers (sidecars) to the sum and to every later init container", () => {
    const sidecarsWin = makePod("p", {
      initContainers: [c("s1", { cpu: "1" }, "Always"), c("i2", { cpu: "2" }), c("s3", { cpu: "3" }, "Always")],
      containers: [c("c", { cpu: "1" })],
    });
    // containers 1 + sidecars 1 + 3 = 5; init phase: max(1, 2 + 1, 1 + 3) = 4.
    expect(computePodResourceRequest(sidecarsWin).milliCPU).toBe(5000);
    const initWins = makePod("p", {
      initContainers: [c("s1", { cpu: "1" }, "Always"), c("i2", { cpu: "10" })],
      containers: [c("c", { cpu: "1" })],
    });
    // init phase: i2 runs with s1 = 11 > 1 + 1.
    expect(computePodResourceRequest(initWins).milliCPU).toBe(11000);
  });

  it("adds spec.overhead and keeps extended resources and hugepages as scalars", () => {
    const pod = makePod("p", { requests: { cpu: "500m", "example.com/gpu": "2", "hugepages-2Mi": "4Mi", storage: "1Gi" } });
    pod.spec!.overhead = { cpu: "250m", memory: "120Mi" };
    const r = computePodResourceRequest(pod);
    expect(r.milliCPU).toBe(750);
    expect(r.memory).toBe(120 * 1024 * 1024);
    expect(r.scalar.get("example.com/gpu")).toBe(2);
    expect(r.scalar.get("hugepages-2Mi")).toBe(4 * 1024 * 1024);
    // "storage" is neither a compute resource nor a scalar name: ignored, as upstream.
    expect(r.scalar.has("storage")).toBe(false);
  });

  it("rounds fractional values up, as Quantity.Value()/MilliValue()", () => {
    const r = computePodResourceRequest(makePod("p", { cpu: "0.0001", memory: "1.5" }));
    expect(r.milliCPU).toBe(1);
    expect(r.memory).toBe(2);
  });
});

describe("PodInfo", () => {
  it("counts a missing cpu/memory request as 100m/200Mi for scoring, an explicit zero as zero", () => {
    const none = newPodInfo(makePod("a"));
    expect([none.nonZeroMilliCPU, none.nonZeroMemory]).toEqual([100, 200 * 1024 * 1024]);
    expect([none.requests.milliCPU, none.requests.memory]).toEqual([0, 0]);
    const zero = newPodInfo(makePod("b", { cpu: "0", memory: "0" }));
    expect([zero.nonZeroMilliCPU, zero.nonZeroMemory]).toEqual([0, 0]);
    const two = newPodInfo(makePod("c", { containers: [c("x", { cpu: "1" }), c("y", { memory: "1Gi" })] }));
    expect([two.nonZeroMilliCPU, two.nonZeroMemory]).toEqual([1100, GI + 200 * 1024 * 1024]);
  });

  it("compiles affinity terms: the pod's namespace by default, nil selectors select nothing", () => {
    const pod = makePod("p", {
      namespace: "ns1",
      spec: {
        affinity: {
          podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "zone", labelSelector: { matchLabels: { app: "x" } } }] },
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname" }],
            preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, podAffinityTerm: { topologyKey: "zone", namespaces: ["a", "b"], labelSelector: {} } }],
          },
        },
      },
    });
    const pi = newPodInfo(pod);
    expect([...pi.requiredAffinityTerms[0]!.namespaces]).toEqual(["ns1"]);
    expect(pi.requiredAffinityTerms[0]!.selector.matches({ app: "x" })).toBe(true);
    expect(pi.requiredAntiAffinityTerms[0]!.selector.matches({ app: "x" })).toBe(false);
    expect(pi.preferredAntiAffinityTerms[0]!.weight).toBe(5);
    expect([...pi.preferredAntiAffinityTerms[0]!.namespaces]).toEqual(["a", "b"]);
    expect(pi.preferredAntiAffinityTerms[0]!.selector.matches({})).toBe(true);
    expect(pi.hasAffinity && pi.hasRequiredAntiAffinity).toBe(true);
  });
});

describe("NodeInfo", () => {
  const portPod = (name: string, hostPort: number, extra: Partial<{ hostIP: string; protocol: string }> = {}) =>
    makePod(name, { containers: [{ name: "c", image: "x", ports: [{ containerPort: 80, hostPort, ...extra }] }] });

  it("sums requests and non-zero requests, and takes allocatable from the node", () => {
    const ni = new NodeInfo(makeNode("n", { cpu: "2", memory: "4Gi", pods: 10 }));
    ni.addPod(makePod("a", { cpu: "500m", memory: "1Gi" }));
    ni.addPod(makePod("b"));
    expect(ni.allocatable).toMatchObject({ milliCPU: 2000, memory: 4 * GI, allowedPodNumber: 10 });
    expect(ni.requested).toMatchObject({ milliCPU: 500, memory: GI });
    expect(ni.nonZeroRequested).toMatchObject({ milliCPU: 600, memory: GI + 200 * 1024 * 1024 });
  });

  it("removes pods by uid and gives every piece back", () => {
    const ni = new NodeInfo(makeNode("n"));
    const a = makePod("a", { cpu: "1", spec: { volumes: [{ name: "v", persistentVolumeClaim: { claimName: "data" } }] } });
    const withAffinity = makePod("b", { spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "h" }] } } } });
    ni.addPod(a);
    ni.addPod(withAffinity);
    ni.addPod(portPod("c", 8080));
    expect(ni.pvcRefCounts.get("default/data")).toBe(1);
    expect(ni.podsWithAffinity).toHaveLength(1);
    expect(ni.removePod({ metadata: { uid: "nope" } })).toBe(false);
    expect(ni.removePod({ metadata: {} })).toBe(false);
    expect(ni.removePod(a)).toBe(true);
    expect(ni.removePod(withAffinity)).toBe(true);
    expect(ni.pvcRefCounts.size).toBe(0);
    expect(ni.podsWithAffinity).toHaveLength(0);
    expect(ni.podsWithRequiredAntiAffinity).toHaveLength(0);
    expect(ni.requested.milliCPU).toBe(0);
    expect(ni.pods.map((p) => p.pod.metadata?.name)).toEqual(["c"]);
    expect(ni.usedPorts.size).toBe(1);
  });

  it("records host ports of containers and of sidecars only, with 0.0.0.0/TCP defaults", () => {
    const pod = makePod("p", {
      initContainers: [
        { name: "s", image: "x", restartPolicy: "Always", ports: [{ containerPort: 1, hostPort: 9000, protocol: "UDP" }] },
        { name: "i", image: "x", ports: [{ containerPort: 1, hostPort: 9001 }] },
      ],
      containers: [{ name: "c", image: "x", ports: [{ containerPort: 1, hostPort: 80, hostIP: "127.0.0.1" }, { containerPort: 2 }] }],
    });
    const ni = new NodeInfo(makeNode("n"));
    ni.addPod(pod);
    expect(ni.usedPorts.entries()).toEqual(
      expect.arrayContaining([
        { hostIP: "0.0.0.0", protocol: "UDP", hostPort: 9000 },
        { hostIP: "127.0.0.1", protocol: "TCP", hostPort: 80 },
      ]),
    );
    expect(ni.usedPorts.size).toBe(2);
  });

  it("clone() is independent and keeps the generation; every change bumps it", () => {
    const ni = new NodeInfo(makeNode("n"));
    const g0 = ni.generation;
    ni.addPod(makePod("a", { cpu: "1" }));
    expect(ni.generation).toBeGreaterThan(g0);
    const copy = ni.clone();
    expect(copy.generation).toBe(ni.generation);
    copy.addPod(makePod("b", { cpu: "1" }));
    expect(ni.pods).toHaveLength(1);
    expect(ni.requested.milliCPU).toBe(1000);
    expect(copy.requested.milliCPU).toBe(2000);
    const before = nextGeneration();
    ni.removeNode();
    expect(ni.node).toBeUndefined();
    expect(ni.generation).toBeGreaterThan(before);
  });
});

describe("HostPortInfo.checkConflict", () => {
  // Upstream's host_ports_test cases, condensed.
  const info = new HostPortInfo();
  info.add("127.0.0.1", "TCP", 80);
  info.add("0.0.0.0", "UDP", 53);
  it.each([
    ["127.0.0.1", "TCP", 80, true],
    ["127.0.0.2", "TCP", 80, false],
    ["0.0.0.0", "TCP", 80, true],
    ["", "", 80, true],
    ["127.0.0.1", "UDP", 80, false],
    ["10.0.0.1", "UDP", 53, true],
    ["10.0.0.1", "TCP", 53, false],
    ["127.0.0.1", "TCP", 0, false],
  ] as const)("%s/%s/%d conflicts: %s", (ip, proto, port, want) => {
    expect(info.checkConflict(ip, proto, port)).toBe(want);
  });
});
