import { type Message, MessageType } from "./message.js";
import type { Ready } from "./rawnode.js";
import { type ConfState, type Entry, EntryType, type HardState, type Snapshot, StateType, decodeConfChange, ConfChangeType } from "./types.js";

const textDecoder = new TextDecoder("utf-8", { fatal: false });

function describeData(data: Uint8Array): string {
  if (data.byteLength === 0) return "";
  const s = textDecoder.decode(data);
  // Printable ASCII only; otherwise a short hex summary.
  return /^[\x20-\x7e]*$/.test(s) ? JSON.stringify(s) : `0x${[...data.subarray(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("")}${data.byteLength > 16 ? "…" : ""}`;
}

/** "2/5 EntryNormal \"data\"" (term/index type data). */
export function describeEntry(e: Entry): string {
  if (e.type === EntryType.ConfChange) {
    try {
      const cc = decodeConfChange(e.data);
      return `${e.term}/${e.index} EntryConfChange ${ConfChangeType[cc.type]} ${cc.nodeId}`;
    } catch {
      return `${e.term}/${e.index} EntryConfChange <malformed>`;
    }
  }
  return `${e.term}/${e.index} EntryNormal ${describeData(e.data)}`.trimEnd();
}

export function describeEntries(ents: readonly Entry[]): string {
  return ents.map(describeEntry).join("\n");
}

export function describeHardState(hs: HardState): string {
  return `Term:${hs.term} Vote:${hs.vote} Commit:${hs.commit}`;
}

export function describeConfState(cs: ConfState): string {
  return `Voters:[${cs.voters.join(" ")}] Learners:[${cs.learners.join(" ")}]`;
}

export function describeSnapshot(s: Snapshot): string {
  const m = s.metadata;
  return `Index:${m.index} Term:${m.term} ConfState:${describeConfState(m.confState)} (${s.data.byteLength} bytes)`;
}

/** "1->2 MsgApp Term:1 Log:1/3 Commit:3 Entries:[1/4 EntryNormal \"x\"]" */
export function describeMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${MessageType[m.type]} Term:${m.term} Log:${m.logTerm}/${m.index}`;
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.commit !== 0) s += ` Commit:${m.commit}`;
  if (m.entries.length > 0) s += ` Entries:[${m.entries.map(describeEntry).join(", ")}]`;
  if (m.context && m.context.byteLength > 0) s += ` Context:${describeData(m.context)}`;
  if (m.snapshot && m.chunk) {
    s += ` Snapshot:{Index:${m.snapshot.index} Term:${m.snapshot.term} ${describeConfState(m.snapshot.confState)} chunk ${m.chunk.index + 1}/${m.chunk.count}}`;
  }
  return s;
}

/** A multi-line description of a Ready, for test output and debugging. */
export function describeReady(rd: Ready): string {
  const lines: string[] = [];
  if (rd.softState) lines.push(`Lead:${rd.softState.lead} State:${StateType[rd.softState.raftState]}`);
  if (rd.hardState) lines.push(`HardState ${describeHardState(rd.hardState)}`);
  if (rd.readStates.length > 0) lines.push(`ReadStates: ${rd.readStates.map((r) => `{Index:${r.index} Ctx:${describeData(r.requestCtx)}}`).join(" ")}`);
  if (rd.entries.length > 0) lines.push("Entries:", ...rd.entries.map(describeEntry));
  if (rd.snapshot) lines.push(`Snapshot ${describeSnapshot(rd.snapshot)}`);
  if (rd.committedEntries.length > 0) lines.push("CommittedEntries:", ...rd.committedEntries.map(describeEntry));
  if (rd.messages.length > 0) lines.push("Messages:", ...rd.messages.map(describeMessage));
  return lines.length > 0 ? lines.join("\n") : "<empty Ready>";
}
