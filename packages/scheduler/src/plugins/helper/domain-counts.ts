/**
 * DomainCounts: the number of pods a selector matches per topology domain (the values of one
 * node label), over a snapshot's nodes, kept up to date across scheduling cycles by looking only
 * at nodes whose NodeInfo changed. A NodeInfo's generation moves on every pod or node change, so
 * comparing (NodeInfo, generation) per list position finds the changed nodes in a tight loop
 * instead of recounting every node's pods each cycle — upstream recounts in parallel on many
 * cores; one core needs the bookkeeping.
 */
import type { NodeInfo } from "../../framework/node-info.js";

export class DomainCounts {
  private nodes: (NodeInfo | undefined)[] = [];
  private gens: number[] = [];
  private values: (string | undefined)[] = [];
  private counts: number[] = [];
  /** Domain value → matching pods in it. */
  readonly totals = new Map<string, number>();
  /** Domain value → eligible nodes in it (a domain exists while this is > 0). */
  readonly domainNodes = new Map<string, number>();

  /**
   * @param topologyKey the label whose values are the domains.
   * @param requiredKeys with `requireAll`, a node counts only if it has every one of these labels;
   *   without it a node missing the label counts under the "" domain (upstream's system-default path).
   */
  constructor(
    private readonly topologyKey: string,
    private readonly requiredKeys: readonly string[],
    private readonly requireAll: boolean,
  ) {}

  /** Brings the counts up to date with `list`; `count(ni)` counts a node's matching pods. */
  sync(list: readonly NodeInfo[], count: (ni: NodeInfo) => number): void {
    const n = list.length;
    for (let i = 0; i < n; i++) {
      const ni = list[i]!;
      if (this.nodes[i] === ni && this.gens[i] === ni.generation) continue;
      this.replace(i, ni, count);
    }
    for (let i = n; i < this.nodes.length; i++) this.replace(i, undefined, count);
    this.nodes.length = n;
    this.gens.length = n;
    this.values.length = n;
    this.counts.length = n;
  }

  private valueOf(ni: NodeInfo | undefined): string | undefined {
    const labels = ni?.node?.metadata?.labels;
    if (ni?.node === undefined) return undefined;
    if (this.requireAll) {
      if (labels === undefined) return undefined;
      for (const k of this.requiredKeys) if (labels[k] === undefined) return undefined;
      return labels[this.topologyKey];
    }
    return labels?.[this.topologyKey] ?? "";
  }

  private replace(i: number, ni: NodeInfo | undefined, count: (ni: NodeInfo) => number): void {
    const oldValue = this.values[i];
    if (oldValue !== undefined) {
      this.totals.set(oldValue, this.totals.get(oldValue)! - this.counts[i]!);
      const left = this.domainNodes.get(oldValue)! - 1;
      if (left === 0) {
        this.domainNodes.delete(oldValue);
        this.totals.delete(oldValue);
      } else this.domainNodes.set(oldValue, left);
    }
    const value = this.valueOf(ni);
    const c = value === undefined ? 0 : count(ni!);
    if (value !== undefined) {
      this.totals.set(value, (this.totals.get(value) ?? 0) + c);
      this.domainNodes.set(value, (this.domainNodes.get(value) ?? 0) + 1);
    }
    this.nodes[i] = ni;
    this.gens[i] = ni?.generation ?? -1;
    this.values[i] = value;
    this.counts[i] = c;
  }
}
