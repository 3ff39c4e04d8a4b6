import { type ConfChange, ConfChangeType, type ConfState } from "./types.js";

/** ConfChangeError: a membership change that cannot be applied; the message says why. */
export class ConfChangeError extends Error {
  override readonly name = "ConfChangeError";
}

/**
 * The membership after applying one single-server change. Pure. Throws ConfChangeError if the
 * change is invalid: demoting a voter to learner, removing the last voter, or a bad node id.
 *
 * Single-server changes keep every old majority and every new majority overlapping (Raft thesis
 * §4.1), provided only one change is in progress at a time; the leader enforces that.
 */
export function changeConfState(cs: ConfState, cc: ConfChange): ConfState {
  if (!Number.isInteger(cc.nodeId) || cc.nodeId <= 0) throw new ConfChangeError(`node id must be a positive integer, got ${cc.nodeId}`);
  const voters = new Set(cs.voters);
  const learners = new Set(cs.learners);
  const id = cc.nodeId;
  switch (cc.type) {
    case ConfChangeType.AddNode:
      learners.delete(id);
      voters.add(id);
      break;
    case ConfChangeType.AddLearnerNode:
      if (voters.has(id)) throw new ConfChangeError(`node ${id} is a voter; demoting a voter to learner is not supported`);
      learners.add(id);
      break;
    case ConfChangeType.RemoveNode:
      if (voters.has(id) && voters.size === 1) throw new ConfChangeError(`removing node ${id} would leave no voters`);
      voters.delete(id);
      learners.delete(id);
      break;
    default:
      throw new ConfChangeError(`unknown conf change type ${String(cc.type)}`);
  }
  const asc = (a: number, b: number) => a - b;
  return { voters: [...voters].sort(asc), learners: [...learners].sort(asc) };
}

/** Whether two ConfStates list the same members. */
export function confStateEqual(a: ConfState, b: ConfState): boolean {
  const eq = (x: number[], y: number[]) => {
    const xs = [...x].sort((p, q) => p - q);
    const ys = [...y].sort((p, q) => p - q);
    return xs.length === ys.length && xs.every((v, i) => v === ys[i]);
  };
  return eq(a.voters, b.voters) && eq(a.learners, b.learners);
}
