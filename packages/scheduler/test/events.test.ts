import { describe, expect, it } from "vitest";
import { clusterEventLabel, matchAnyClusterEvent, matchClusterEvent, WILDCARD_EVENT, type ClusterEvent } from "@kubemu/scheduler";

describe("matchClusterEvent (upstream's MatchClusterEvents)", () => {
  const ev = (resource: ClusterEvent["resource"], actionType: ClusterEvent["actionType"]): ClusterEvent => ({ resource, actionType });
  it.each([
    ["a registered Update matches a more specific update", ev("Node", "Update"), ev("Node", "UpdateNodeLabel"), true],
    ["a specific registration does not match the general Update", ev("Node", "UpdateNodeLabel"), ev("Node", "Update"), false],
    ["different specific updates do not match", ev("Node", "UpdateNodeLabel"), ev("Node", "UpdateNodeTaint"), false],
    ["All matches Add", ev("Node", "All"), ev("Node", "Add"), true],
    ["Add does not match Delete", ev("Pod", "Add"), ev("Pod", "Delete"), false],
    ["Pod matches AssignedPod", ev("Pod", "Delete"), ev("AssignedPod", "Delete"), true],
    ["AssignedPod does not match Pod", ev("AssignedPod", "Delete"), ev("Pod", "Delete"), false],
    ["resources must agree", ev("Node", "Add"), ev("PersistentVolume", "Add"), false],
    ["the wildcard registration matches anything", WILDCARD_EVENT, ev("StorageClass", "Update"), true],
    ["an incoming wildcard matches only the wildcard", ev("Node", "All"), WILDCARD_EVENT, false],
  ])("%s", (_name, registered, incoming, want) => {
    expect(matchClusterEvent(registered, incoming)).toBe(want);
  });

  it("matchAnyClusterEvent and labels", () => {
    expect(matchAnyClusterEvent([ev("Pod", "Delete"), ev("Node", "Add")], ev("Node", "Add"))).toBe(true);
    expect(matchAnyClusterEvent([ev("Pod", "Delete")], ev("Node", "Add"))).toBe(false);
    expect(clusterEventLabel(ev("Node", "UpdateNodeTaint"))).toBe("NodeUpdateNodeTaint");
    expect(clusterEventLabel(WILDCARD_EVENT)).toBe("WildCard");
  });
});
