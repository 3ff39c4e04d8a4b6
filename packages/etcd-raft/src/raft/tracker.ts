import { Inflights, Progress } from "./progress.js";
import { VoteResult, committedIndex, voteResult } from "./quorum.js";
import type { ConfState } from "./types.js";

/**
 * ProgressTracker holds the current membership (voters and learners), the leader's Progress for
 * every member, and the votes of the current election.
 */
export class ProgressTracker {
  voters: number[] = [];
  learners: number[] = [];
  readonly progress = new Map<number, Progress>();
  readonly votes = new Map<number, boolean>();

  constructor(
    readonly maxInflight: number,
    readonly maxInflightBytes: number,
  ) {}

  newProgress(next: number, isLearner: boolean): Progress {
    const pr = new Progress(next, new Inflights(this.maxInflight, this.maxInflightBytes), isLearner);
    // A new member counts as active so that CheckQuorum does not immediately depose the leader.
    pr.recentActive = true;
    return pr;
  }

  confState(): ConfState {
    return { voters: [...this.voters].sort((a, b) => a - b), learners: [...this.learners].sort((a, b) => a - b) };
  }

  isVoter(id: number): boolean {
    return this.voters.includes(id);
  }

  /** The largest index replicated on a majority of voters. */
  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match);
  }

  /** Ids of voters and learners, ascending. */
  members(): number[] {
    return [...this.voters, ...this.learners].sort((a, b) => a - b);
  }

  /** Whether a majority of voters were recently active. */
  quorumActive(): boolean {
    const votes = new Map<number, boolean>();
    for (const id of this.voters) votes.set(id, this.progress.get(id)?.recentActive ?? false);
    return voteResult(this.voters, votes) === VoteResult.Won;
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a vote (the first one from a node counts). */
  recordVote(id: number, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** Counts votes of voters: granted, rejected, and the result so far. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.voters, this.votes) };
  }
}
