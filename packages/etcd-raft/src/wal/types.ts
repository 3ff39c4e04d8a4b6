/**
 * Shapes the WAL persists. They are structural copies of the Raft core's types so this module
 * does not depend on `src/raft`; the core exports identical interfaces.
 */

/** One Raft log entry. `data` is opaque to the WAL. */
export interface Entry {
  term: number;
  index: number;
  type: number;
  data: Uint8Array;
}

/** The Raft state that must be durable before a node answers votes or appends. */
export interface HardState {
  term: number;
  vote: number;
  commit: number;
}

/** Records that a snapshot at (index, term) exists, so entries up to `index` may be dropped. */
export interface SnapshotMarker {
  index: number;
  term: number;
}

/** Identity written once at WAL creation and repeated at the start of every segment. */
export interface WalMetadata {
  memberId: string;
  clusterId: string;
}

/** The empty HardState a fresh node starts from. */
export const EMPTY_HARD_STATE: Readonly<HardState> = Object.freeze({ term: 0, vote: 0, commit: 0 });
