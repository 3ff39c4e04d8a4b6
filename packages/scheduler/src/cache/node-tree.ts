/**
 * The node tree (upstream's backend/cache/node_tree.go): node names grouped by zone, listed
 * round-robin across zones, so the snapshot's node order interleaves zones and a scheduler that
 * stops after finding enough feasible nodes does not keep looking in one zone only.
 */
import type { Node } from "kubernetes-types/core/v1.js";

const ZONE_LABEL = "topology.kubernetes.io/zone";
const REGION_LABEL = "topology.kubernetes.io/region";
const BETA_ZONE_LABEL = "failure-domain.beta.kubernetes.io/zone";
const BETA_REGION_LABEL = "failure-domain.beta.kubernetes.io/region";

/**
 * The node's zone key (component-helpers' GetZoneKey): region and zone joined by ":\0:", from
 * the GA topology labels or else the beta failure-domain ones; "" when the node has neither.
 */
export function zoneKeyOf(node: Node): string {
  const labels = node.metadata?.labels ?? {};
  const region = labels[REGION_LABEL] ?? labels[BETA_REGION_LABEL] ?? "";
  const zone = labels[ZONE_LABEL] ?? labels[BETA_ZONE_LABEL] ?? "";
  if (region === "" && zone === "") return "";
  return `${region}:\x00:${zone}`;
}

/** Node names per zone, zones in the order they first appeared. Not exported from the package. */
export class NodeTree {
  private readonly tree = new Map<string, string[]>();
  private zones: string[] = [];
  private count = 0;

  /** The number of nodes in the tree. */
  get numNodes(): number {
    return this.count;
  }

  /** Adds the node to its zone; a node already there is left alone. */
  addNode(node: Node): void {
    const zone = zoneKeyOf(node);
    const name = node.metadata?.name ?? "";
    const names = this.tree.get(zone);
    if (names !== undefined) {
      if (names.includes(name)) return;
      names.push(name);
    } else {
      this.zones.push(zone);
      this.tree.set(zone, [name]);
    }
    this.count++;
  }

  /** Removes the node from its zone (a zone left empty goes); false if it was not there. */
  removeNode(node: Node): boolean {
    const zone = zoneKeyOf(node);
    const name = node.metadata?.name ?? "";
    const names = this.tree.get(zone);
    const i = names?.indexOf(name) ?? -1;
    if (names === undefined || i < 0) return false;
    names.splice(i, 1);
    if (names.length === 0) {
      this.tree.delete(zone);
      this.zones = this.zones.filter((z) => z !== zone);
    }
    this.count--;
    return true;
  }

  /** Moves the node if its zone changed (a node's name never changes). */
  updateNode(oldNode: Node | undefined, newNode: Node): void {
    const oldZone = oldNode === undefined ? "" : zoneKeyOf(oldNode);
    if (oldNode !== undefined && oldZone === zoneKeyOf(newNode)) return;
    if (oldNode !== undefined) this.removeNode(oldNode);
    this.addNode(newNode);
  }

  /** The node names: the first node of each zone, then the second of each, and so on. */
  list(): string[] {
    const out: string[] = [];
    const lists = this.zones.map((z) => this.tree.get(z)!);
    for (let i = 0; out.length < this.count; i++) {
      for (const names of lists) if (i < names.length) out.push(names[i]!);
    }
    return out;
  }
}
