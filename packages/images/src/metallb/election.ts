/**
 * MetalLB 0.9's layer2 leader choice (speaker/layer2_controller.go): of the nodes that have a
 * ready endpoint of the Service, the one whose sha256(node + "#" + "namespace/name") is smallest
 * announces it. Every speaker computes the same order, so exactly one of them wins without talking
 * to the others. Without memberlist (minikube's manifest runs none) a node counts as long as its
 * endpoints are ready; a dead node drops out once its pods are marked not ready. Pure.
 */
import { createHash } from "node:crypto";
import type { Endpoints } from "./types.js";

/** usableNodes: the nodes with at least one ready endpoint (speakers: the live ones, when known). */
export function usableNodes(eps: Endpoints | undefined, speakers?: ReadonlySet<string>): string[] {
  const nodes = new Set<string>();
  for (const subset of eps?.subsets ?? []) {
    for (const a of subset.addresses ?? []) {
      if (a.nodeName === undefined) continue;
      if (speakers !== undefined && !speakers.has(a.nodeName)) continue;
      nodes.add(a.nodeName);
    }
  }
  return [...nodes];
}

const hash = (node: string, service: string) => createHash("sha256").update(`${node}#${service}`).digest();

/** The usable nodes in announcing order for this Service; the first one announces. */
export function announceOrder(service: string, nodes: readonly string[]): string[] {
  return [...nodes].sort((a, b) => Buffer.compare(hash(a, service), hash(b, service)));
}

/** ShouldAnnounce: "" when myNode wins, else upstream's reason "notOwner". */
export function shouldAnnounce(myNode: string, service: string, eps: Endpoints | undefined, speakers?: ReadonlySet<string>): "" | "notOwner" {
  const order = announceOrder(service, usableNodes(eps, speakers));
  return order[0] === myNode ? "" : "notOwner";
}
