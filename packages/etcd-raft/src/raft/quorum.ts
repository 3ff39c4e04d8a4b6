/**
 * Majority-quorum arithmetic over a set of voter ids. Pure functions, property-tested against
 * naive versions in test/raft/quorum.test.ts.
 */

/** The outcome of counting votes. */
export enum VoteResult {
  /** Not decided yet: more votes could still win or lose. */
  Pending = 0,
  Lost = 1,
  Won = 2,
}

/**
 * The largest index that a majority of voters have acknowledged (each voter's acked index comes
 * from `acked`; a voter with no entry counts as 0). An empty voter set commits everything
 * (Infinity), which lets joint-style callers ignore an absent half; callers with one config
 * never pass an empty set.
 */
export function committedIndex(voters: readonly number[], acked: (id: number) => number | undefined): number {
  const n = voters.length;
  if (n === 0) return Number.MAX_SAFE_INTEGER;
  const idx = voters.map((id) => acked(id) ?? 0);
  idx.sort((a, b) => a - b);
  // With idx ascending, the entry at position n - (n/2 + 1) is acknowledged by at least a majority.
  return idx[n - (Math.floor(n / 2) + 1)]!;
}

/** Tallies votes (true = granted) of a majority config. Missing votes are pending. */
export function voteResult(voters: readonly number[], votes: ReadonlyMap<number, boolean>): VoteResult {
  if (voters.length === 0) return VoteResult.Won;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = Math.floor(voters.length / 2) + 1;
  if (granted >= q) return VoteResult.Won;
  if (granted + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}
