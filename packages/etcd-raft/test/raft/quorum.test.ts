import { VoteResult, committedIndex, voteResult } from "@kubemu/etcd-raft";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/** The naive definition: the largest index that at least a majority of voters have acknowledged. */
function naiveCommitted(voters: number[], acked: Map<number, number>): number {
  const q = Math.floor(voters.length / 2) + 1;
  const candidates = [0, ...voters.map((id) => acked.get(id) ?? 0)];
  let best = 0;
  for (const idx of candidates) {
    const count = voters.filter((id) => (acked.get(id) ?? 0) >= idx).length;
    if (count >= q && idx > best) best = idx;
  }
  return best;
}

function naiveVote(voters: number[], votes: Map<number, boolean>): VoteResult {
  const q = Math.floor(voters.length / 2) + 1;
  const yes = voters.filter((id) => votes.get(id) === true).length;
  const no = voters.filter((id) => votes.get(id) === false).length;
  if (yes >= q) return VoteResult.Won;
  if (voters.length - no >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}

const votersArb = fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 7 });

describe("quorum", () => {
  it("committedIndex agrees with the naive majority definition", () => {
    fc.assert(
      fc.property(votersArb, fc.array(fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 20 }))), (voters, acks) => {
        const acked = new Map(acks);
        expect(committedIndex(voters, (id) => acked.get(id))).toBe(naiveCommitted(voters, acked));
      }),
      { numRuns: 2000 },
    );
  });

  it("voteResult agrees with the naive count", () => {
    fc.assert(
      fc.property(votersArb, fc.array(fc.tuple(fc.integer({ min: 1, max: 9 }), fc.boolean())), (voters, vs) => {
        const votes = new Map(vs);
        expect(voteResult(voters, votes)).toBe(naiveVote(voters, votes));
      }),
      { numRuns: 2000 },
    );
  });

  it("examples: 3 voters commit the median, 4 voters need 3 acks", () => {
    expect(committedIndex([1, 2, 3], (id) => ({ 1: 5, 2: 3, 3: 1 })[id])).toBe(3);
    expect(committedIndex([1, 2, 3, 4], (id) => ({ 1: 5, 2: 5, 3: 1, 4: 1 })[id])).toBe(1);
    expect(voteResult([1, 2, 3], new Map([[1, true]]))).toBe(VoteResult.Pending);
    expect(voteResult([1, 2, 3], new Map([[1, true], [2, true]]))).toBe(VoteResult.Won);
    expect(voteResult([1, 2, 3], new Map([[1, false], [2, false]]))).toBe(VoteResult.Lost);
  });
});
