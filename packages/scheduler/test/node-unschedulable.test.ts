import { describe, expect, it } from "vitest";
import { NodeInfo } from "@kubemu/scheduler";
import { NodeUnschedulable } from "../src/plugins/node-unschedulable.js";
import { CycleState, makeNode, makePod, newPodInfo } from "./algo-fixtures.js";

describe("NodeUnschedulable", () => {
  const pl = new NodeUnschedulable();
  const run = (unschedulable: boolean, tolerations?: NonNullable<Parameters<typeof makePod>[1]>["tolerations"]) =>
    pl.filter(new CycleState(), newPodInfo(makePod("p", tolerations ? { tolerations } : {})), new NodeInfo(makeNode("n", { unschedulable })));
  it.each([
    ["a schedulable node admits any pod", false, undefined, null],
    ["a cordoned node rejects a pod without the toleration", true, undefined, ["UnschedulableAndUnresolvable", "node(s) were unschedulable"]],
    ["a matching toleration lets the pod in", true, [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }], null],
    ["a toleration for another effect does not", true, [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoExecute" }], ["UnschedulableAndUnresolvable", "node(s) were unschedulable"]],
    ["an all-tolerating toleration does", true, [{ operator: "Exists" }], null],
  ] as const)("%s", (_n, unschedulable, tolerations, want) => {
    const s = run(unschedulable, tolerations as never);
    expect(s === null ? null : [s.code, s.message()]).toEqual(want);
  });

  it("reports unknown conditions for a NodeInfo without a node", () => {
    const s = pl.filter(new CycleState(), newPodInfo(makePod("p")), new NodeInfo());
    expect(s?.message()).toBe("node(s) had unknown conditions");
  });
});
