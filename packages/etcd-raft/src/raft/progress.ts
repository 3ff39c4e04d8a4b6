import { InvariantError } from "./errors.js";

/** How the leader is currently replicating to a follower. */
export enum ProgressState {
  /**
   * Probe: the leader does not know the follower's last matching index; it sends at most one
   * MsgApp per heartbeat interval until a response tells it where the logs match.
   */
  Probe = 0,
  /** Replicate: logs match; the leader streams entries optimistically, bounded by Inflights. */
  Replicate = 1,
  /** Snapshot: the follower needs a snapshot; no entries are sent until it is installed. */
  Snapshot = 2,
}

/**
 * Inflights bounds the MsgApp messages in flight to one follower (pipelining window): each
 * entry is the last log index carried by one message; acknowledged ones are freed in order.
 */
export class Inflights {
  private readonly buf: number[] = [];
  private bytesList: number[] = [];
  private bytes = 0;

  constructor(
    readonly size: number,
    readonly maxBytes: number,
  ) {}

  /** Records a sent message whose last entry index is `index` carrying `bytes` bytes. */
  add(index: number, bytes: number): void {
    if (this.full()) throw new InvariantError("cannot add into a full inflights");
    this.buf.push(index);
    this.bytesList.push(bytes);
    this.bytes += bytes;
  }

  /** Frees every message whose last index is ≤ to. */
  freeLE(to: number): void {
    let n = 0;
    while (n < this.buf.length && this.buf[n]! <= to) {
      this.bytes -= this.bytesList[n]!;
      n++;
    }
    if (n > 0) {
      this.buf.splice(0, n);
      this.bytesList.splice(0, n);
    }
  }

  /** Frees the oldest in-flight message (used when a heartbeat shows the follower is alive but acks stalled). */
  freeFirstOne(): void {
    const first = this.buf[0];
    if (first !== undefined) this.freeLE(first);
  }

  full(): boolean {
    return this.buf.length >= this.size || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }

  count(): number {
    return this.buf.length;
  }

  reset(): void {
    this.buf.length = 0;
    this.bytesList = [];
    this.bytes = 0;
  }
}

/**
 * Progress is the leader's view of one follower: match is the highest index known replicated
 * there, next the next index to send. Invariant: match < next.
 */
export class Progress {
  match = 0;
  next: number;
  state = ProgressState.Probe;
  /** In Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heartbeat ticks since the snapshot was sent (to retry a snapshot lost on the way). */
  snapshotElapsed = 0;
  /** Set whenever a message arrives from the follower; reset by each CheckQuorum round. */
  recentActive = false;
  /** In Probe state: a MsgApp was sent and no answer has arrived yet (pauses further appends). */
  msgAppProbesPaused = false;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(next: number, inflights: Inflights, isLearner: boolean) {
    this.next = next;
    this.inflights = inflights;
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressState): void {
    this.msgAppProbesPaused = false;
    this.pendingSnapshot = 0;
    this.snapshotElapsed = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot the follower is known to have at least the snapshot's index.
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** Records an acknowledgement up to n. Returns false if it was stale (match already ≥ n). */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppProbesPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** Optimistically assumes entries up to n will be accepted (Replicate state pipelining). */
  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * Handles a rejection of the MsgApp whose previous index was `rejected`; `matchHint` is the
   * highest index that may still match (from the follower's hint). Returns false if the rejection
   * is stale (it answers an older message).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.msgAppProbesPaused = false;
    return true;
  }

  /** Whether sending appends to this follower is currently paused. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.msgAppProbesPaused;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }

  toString(): string {
    let s = `${ProgressState[this.state]} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += " learner";
    if (this.state === ProgressState.Snapshot) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += " inactive";
    if (this.inflights.count() > 0) s += ` inflight=${this.inflights.count()}`;
    if (this.msgAppProbesPaused) s += " paused";
    return s;
  }
}
