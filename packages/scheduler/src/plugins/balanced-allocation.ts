/**
 * NodeResourcesBalancedAllocation: favours nodes whose cpu and memory would be used in equal
 * shares after placing the pod: score = (1 - std of the used fractions) × 100. Best-effort pods
 * (no cpu or memory request) are not scored, as upstream does since 1.33 (issue 129138).
 */
import type { CycleState } from "../framework/cycle-state.js";
import { MAX_NODE_SCORE, type PreScorePlugin, type ScorePlugin } from "../framework/interface.js";
import type { NodeInfo, PodInfo } from "../framework/node-info.js";
import { Status } from "../framework/status.js";
import { NODE_RESOURCES_BALANCED_ALLOCATION } from "./names.js";

/** Upstream's balancedResourceScorer for the two-resource case (and the general std otherwise). */
export function balancedResourceScore(requested: readonly number[], allocatable: readonly number[]): number {
  const fractions: number[] = [];
  let total = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    const f = Math.min(requested[i]! / allocatable[i]!, 1);
    total += f;
    fractions.push(f);
  }
  let std = 0;
  if (fractions.length === 2) std = Math.abs((fractions[0]! - fractions[1]!) / 2);
  else if (fractions.length > 2) {
    const mean = total / fractions.length;
    let sum = 0;
    for (const f of fractions) sum += (f - mean) * (f - mean);
    std = Math.sqrt(sum / fractions.length);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}

export class BalancedAllocation implements PreScorePlugin, ScorePlugin {
  readonly name = NODE_RESOURCES_BALANCED_ALLOCATION;
  private readonly req = [0, 0];
  private readonly alloc = [0, 0];

  preScore(_state: CycleState, pi: PodInfo): Status | null {
    if (pi.requests.milliCPU === 0 && pi.requests.memory === 0) return new Status("Skip");
    return null;
  }

  score(_state: CycleState, pi: PodInfo, nodeInfo: NodeInfo): number {
    const a = nodeInfo.allocatable;
    const r = nodeInfo.requested;
    // Scratch arrays: score() runs for one node at a time.
    this.alloc[0] = a.milliCPU;
    this.alloc[1] = a.memory;
    this.req[0] = a.milliCPU === 0 ? 0 : r.milliCPU + pi.requests.milliCPU;
    this.req[1] = a.memory === 0 ? 0 : r.memory + pi.requests.memory;
    return balancedResourceScore(this.req, this.alloc);
  }
}
