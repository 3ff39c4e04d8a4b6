import { InvalidConfigError } from "./errors.js";
import { ConfChangeType, type ConfState, type Entry, EntryType, type HardState, encodeConfChange } from "./types.js";

/** The initial durable state of a member of a brand-new cluster. */
export interface BootstrapState {
  /** ConfChange entries adding each voter, at term 1, indexes 1..n. */
  entries: Entry[];
  /** term 1, no vote, commit n: the bootstrap entries are committed by definition. */
  hardState: HardState;
  /** The membership after those entries. */
  confState: ConfState;
}

/**
 * The state every founding member of a new cluster persists before starting (identically on
 * each). The initial membership is written as committed ConfChange entries rather than only as
 * a ConfState, so that a member added later, which starts with an empty log, learns the founding
 * membership by replaying the log from index 1 (or from a snapshot, once compacted).
 *
 * Start the RawNode with applied = 0: the application applies these entries through
 * applyConfChange like any others (re-adding a voter is a no-op).
 */
export function bootstrapState(voters: readonly number[]): BootstrapState {
  if (voters.length === 0) throw new InvalidConfigError("a new cluster needs at least one voter");
  const seen = new Set<number>();
  for (const id of voters) {
    if (!Number.isInteger(id) || id <= 0) throw new InvalidConfigError(`voter ids must be positive integers, got ${id}`);
    if (seen.has(id)) throw new InvalidConfigError(`voter ${id} is listed twice`);
    seen.add(id);
  }
  const entries = voters.map((id, i) => ({
    term: 1,
    index: i + 1,
    type: EntryType.ConfChange,
    data: encodeConfChange({ type: ConfChangeType.AddNode, nodeId: id }),
  }));
  return {
    entries,
    hardState: { term: 1, vote: 0, commit: entries.length },
    confState: { voters: [...voters].sort((a, b) => a - b), learners: [] },
  };
}
