import { describe, expect, it } from "vitest";
import { NodeInfo } from "@kubemu/scheduler";
import { NodeName } from "../src/plugins/node-name.js";
import { CycleState, makeNode, makePod, newPodInfo } from "./algo-fixtures.js";

describe("NodeName", () => {
  const pl = new NodeName();
  it.each([
    ["no host name on the pod", undefined, "foo", null],
    ["the pod's node", "foo", "foo", null],
    ["another node", "bar", "foo", "node(s) didn't match the requested node name"],
  ])("%s", (_n, nodeName, node, want) => {
    const s = pl.filter(new CycleState(), newPodInfo(makePod("p", nodeName ? { nodeName } : {})), new NodeInfo(makeNode(node)));
    expect(s?.message() ?? null).toBe(want);
    if (s) expect(s.code).toBe("UnschedulableAndUnresolvable");
  });
});
