/**
 * The replicated state machine of a member: the MVCC store plus the member registry. Applying
 * the same entries in the same order gives the same state on every member; a command the store
 * rejects (MvccError) changes nothing anywhere, and the error is handed back to the proposer.
 */
import { MvccStore, type ApplyResult, type MvccStoreOptions } from "../mvcc/index.js";
import type { ConfState } from "../raft/index.js";
import { encodeEnvelope, type LogCommand, type SnapshotEnvelope } from "./codec.js";
import { MemberRegistry } from "./members.js";

export class StateMachine {
  store: MvccStore;
  readonly members = new MemberRegistry();
  /** Called after the store object is replaced by a snapshot (watchers on the old one are dead). */
  onStoreReplaced: (() => void) | undefined;

  constructor(private readonly storeOptions: MvccStoreOptions) {
    this.store = new MvccStore(storeOptions);
  }

  /** Applies one decoded log command; throws the store's MvccError for a rejected command. */
  apply(c: LogCommand): ApplyResult | undefined {
    switch (c.op) {
      case "kv":
        return this.store.apply(c.cmd);
      case "publish":
        this.members.publish(c.id, c.clientUrl);
        return undefined;
    }
  }

  /** Serializes the state for a Raft snapshot. */
  snapshot(confState: ConfState): Uint8Array {
    return encodeEnvelope({ version: 1, confState, members: this.members.list(), mvcc: this.store.toSnapshot() });
  }

  /** Replaces the state with a snapshot's. */
  restore(env: SnapshotEnvelope): void {
    this.store = MvccStore.fromSnapshot(env.mvcc, this.storeOptions);
    this.members.replace(env.members);
    this.onStoreReplaced?.();
  }
}
