import { describe, expect, it } from "vitest";
import type { ContainerPort } from "kubernetes-types/core/v1.js";
import { NodeInfo } from "@kubemu/scheduler";
import { NodePorts } from "../src/plugins/node-ports.js";
import { CycleState, makeNode, makePod, newPodInfo } from "./algo-fixtures.js";

const pl = new NodePorts();
const portsPod = (name: string, ports: ContainerPort[]) => makePod(name, { containers: [{ name: "c", image: "x", ports }] });
const p = (hostPort: number, protocol = "TCP", hostIP = "") => ({ containerPort: hostPort, hostPort, protocol, ...(hostIP ? { hostIP } : {}) });

describe("NodePorts (upstream's cases)", () => {
  it.each([
    ["nothing running", [p(8080)], [], null],
    ["other port", [p(8080, "UDP", "127.0.0.1")], [p(9090, "UDP", "127.0.0.1")], null],
    ["same udp port", [p(8080, "UDP", "127.0.0.1")], [p(8080, "UDP", "127.0.0.1")], "node(s) didn't have free ports for the requested pod ports"],
    ["same tcp port", [p(8080, "TCP", "127.0.0.1")], [p(8080, "TCP", "127.0.0.1")], "node(s) didn't have free ports for the requested pod ports"],
    ["different host ip", [p(8080, "TCP", "127.0.0.1")], [p(8080, "TCP", "127.0.0.2")], null],
    ["different protocol", [p(8080, "UDP", "127.0.0.1")], [p(8080, "TCP", "127.0.0.1")], null],
    ["second udp port conflict", [p(8000, "UDP", "127.0.0.1"), p(8080, "UDP", "127.0.0.1")], [p(8080, "UDP", "127.0.0.1")], "node(s) didn't have free ports for the requested pod ports"],
    ["first tcp port conflict due to 0.0.0.0 hostIP", [p(8001, "TCP", "0.0.0.0")], [p(8001, "TCP", "127.0.0.1")], "node(s) didn't have free ports for the requested pod ports"],
    ["first tcp port conflict due to an existing 0.0.0.0", [p(8001, "TCP", "127.0.0.1")], [p(8001, "TCP", "0.0.0.0")], "node(s) didn't have free ports for the requested pod ports"],
    ["UDP on 0.0.0.0 does not conflict with TCP", [p(8001, "UDP", "0.0.0.0")], [p(8001, "TCP", "127.0.0.1")], null],
  ] as const)("%s", (_n, want, existing, reason) => {
    const ni = new NodeInfo(makeNode("n"));
    if (existing.length > 0) ni.addPod(portsPod("existing", [...existing]));
    const pi = newPodInfo(portsPod("p", [...want]));
    const state = new CycleState();
    expect(pl.preFilter(state, pi).status).toBeNull();
    const s = pl.filter(state, pi, ni);
    expect(s?.message() ?? null).toBe(reason);
    if (s) expect(s.code).toBe("Unschedulable");
  });

  it("PreFilter skips pods without host ports", () => {
    expect(pl.preFilter(new CycleState(), newPodInfo(portsPod("p", [{ containerPort: 80 }]))).status?.code).toBe("Skip");
  });
});
