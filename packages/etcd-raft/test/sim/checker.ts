import { type Entry, type Raft, StateType } from "../../src/raft/index.js";

/** Identifies an entry by term, type and a hash of its data (cheaper than decoding it). */
export function entryKey(e: Entry): string {
  let h = 0x811c9dc5;
  const d = e.data;
  for (let i = 0; i < d.length; i++) h = Math.imul(h ^ d[i]!, 0x01000193);
  return `${e.term}|${e.type}|${d.length}|${(h >>> 0).toString(16)}`;
}

interface CommitRecord {
  /** Term of the committed entry. */
  entryTerm: number;
  /** Term of the leader that first committed it. */
  commitTerm: number;
}

/**
 * SafetyChecker watches the cluster after every simulator event and records violations of the
 * Raft safety properties (Figure 3 of the paper):
 * - election safety: at most one leader per term, ever;
 * - log matching: two logs with an entry of the same index and term are identical up to it;
 * - leader completeness: a leader has every entry committed in earlier terms;
 * - state machine safety: no two nodes apply different entries at one index.
 */
export class SafetyChecker {
  readonly violations: string[] = [];
  private readonly leaderOfTerm = new Map<number, number>();
  private readonly commits = new Map<number, CommitRecord>();
  private commitMax = 0;
  private readonly applied = new Map<number, string>();
  /** (node, term) pairs already checked for leader completeness. */
  private readonly leaderChecked = new Set<string>();

  private fail(msg: string): void {
    if (this.violations.length < 20) this.violations.push(msg);
  }

  /** Checks one live node after it processed an event. */
  observe(now: number, r: Raft): void {
    if (r.state !== StateType.Leader) return;
    const prev = this.leaderOfTerm.get(r.term);
    if (prev === undefined) this.leaderOfTerm.set(r.term, r.id);
    else if (prev !== r.id) this.fail(`t=${now} election safety: nodes ${prev} and ${r.id} are both leader of term ${r.term}`);

    const key = `${r.id}/${r.term}`;
    if (!this.leaderChecked.has(key)) {
      this.leaderChecked.add(key);
      this.checkLeaderCompleteness(now, r);
    }
    // Record newly committed indexes with the term of the leader that committed them.
    const committed = r.log.committed;
    for (let i = this.commitMax + 1; i <= committed; i++) {
      const t = r.log.termOrUndefined(i);
      if (t === undefined) continue;
      this.commits.set(i, { entryTerm: t, commitTerm: r.term });
    }
    if (committed > this.commitMax) this.commitMax = committed;
  }

  private checkLeaderCompleteness(now: number, r: Raft): void {
    const first = r.log.firstIndex();
    for (const [i, c] of this.commits) {
      if (c.commitTerm >= r.term || i < first) continue;
      const t = r.log.termOrUndefined(i);
      if (t !== c.entryTerm) {
        this.fail(`t=${now} leader completeness: leader ${r.id} of term ${r.term} has term ${t ?? "none"} at index ${i}, committed with term ${c.entryTerm} in term ${c.commitTerm}`);
        return;
      }
    }
  }

  /** Called for every entry a node applies (including re-application after a restart). */
  onApply(now: number, node: number, e: Entry): void {
    const k = entryKey(e);
    const prev = this.applied.get(e.index);
    if (prev === undefined) this.applied.set(e.index, k);
    else if (prev !== k) this.fail(`t=${now} state machine safety: node ${node} applied ${JSON.stringify(k)} at index ${e.index}, another node applied ${JSON.stringify(prev)}`);
  }

  /** The entry key applied at index (for acknowledgement checks). */
  appliedAt(index: number): string | undefined {
    return this.applied.get(index);
  }

  /** Log matching over every pair of the given nodes' logs (storage + unstable). */
  checkLogMatching(now: number, rafts: Raft[]): void {
    const logs = rafts.map((r) => ({ id: r.id, first: r.log.firstIndex(), ents: r.log.slice(r.log.firstIndex(), r.log.lastIndex() + 1, Number.MAX_SAFE_INTEGER) }));
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const A = logs[a]!;
        const B = logs[b]!;
        const lo = Math.max(A.first, B.first);
        const hi = Math.min(A.first + A.ents.length - 1, B.first + B.ents.length - 1);
        let matched = false;
        for (let i = hi; i >= lo; i--) {
          const ea = A.ents[i - A.first]!;
          const eb = B.ents[i - B.first]!;
          if (!matched && ea.term === eb.term) matched = true;
          if (matched && (ea.term !== eb.term || (ea.data !== eb.data && entryKey(ea) !== entryKey(eb)))) {
            this.fail(`t=${now} log matching: nodes ${A.id} and ${B.id} agree on a later entry but differ at index ${i} (${entryKey(ea)} vs ${entryKey(eb)})`);
            return;
          }
        }
      }
    }
  }
}
