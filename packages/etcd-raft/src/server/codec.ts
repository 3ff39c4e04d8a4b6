/**
 * Encodings of what this server puts into the Raft log and into snapshots.
 *
 * - A normal entry holds one LogCommand (msgpack).
 * - A conf-change entry's context holds the new member's {name, peerUrl} (msgpack).
 * - Snapshot data is a SnapshotEnvelope (msgpack): the membership (which the snapshot file
 *   format does not store) plus the MVCC store's own snapshot bytes.
 *
 * Decoders never trust their input: they throw CodecError naming what is wrong.
 */
import { Packr } from "msgpackr";
import type { Member } from "../api/index.js";
import type { Command } from "../mvcc/index.js";
import type { ConfState } from "../raft/index.js";

export class CodecError extends Error {
  override readonly name = "CodecError";
}

const packr = new Packr({ useRecords: false, int64AsType: "auto" } as unknown as ConstructorParameters<typeof Packr>[0]);

/** What a normal log entry carries. */
export type LogCommand =
  /** A key-value command for the MVCC store. */
  | { op: "kv"; cmd: Command }
  /** A member announcing the URL it serves clients on. */
  | { op: "publish"; id: number; clientUrl: string };

export function encodeCommand(c: LogCommand): Uint8Array {
  return packr.pack(c);
}

export function decodeCommand(data: Uint8Array): LogCommand {
  let v: unknown;
  try {
    v = packr.unpack(data);
  } catch (e) {
    throw new CodecError(`log entry is not valid msgpack: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof v !== "object" || v === null) throw new CodecError("log entry is not an object");
  const o = v as Record<string, unknown>;
  if (o["op"] === "kv" && typeof o["cmd"] === "object" && o["cmd"] !== null) return { op: "kv", cmd: o["cmd"] as Command };
  if (o["op"] === "publish" && typeof o["id"] === "number" && typeof o["clientUrl"] === "string") {
    return { op: "publish", id: o["id"], clientUrl: o["clientUrl"] };
  }
  throw new CodecError(`log entry has unknown op ${JSON.stringify(o["op"])}`);
}

export interface MemberContext {
  name: string;
  peerUrl: string;
}

export function encodeMemberContext(m: MemberContext): Uint8Array {
  return packr.pack({ name: m.name, peerUrl: m.peerUrl });
}

export function decodeMemberContext(data: Uint8Array | undefined): MemberContext | undefined {
  if (data === undefined || data.length === 0) return undefined;
  try {
    const v = packr.unpack(data) as Record<string, unknown>;
    if (typeof v?.["name"] === "string" && typeof v["peerUrl"] === "string") return { name: v["name"], peerUrl: v["peerUrl"] };
  } catch {
    // fall through
  }
  throw new CodecError("conf change context is not a {name, peerUrl} object");
}

/** Snapshot data: membership plus the MVCC snapshot. */
export interface SnapshotEnvelope {
  version: 1;
  confState: ConfState;
  members: Member[];
  mvcc: Uint8Array;
}

export function encodeEnvelope(e: SnapshotEnvelope): Uint8Array {
  return packr.pack(e);
}

export function decodeEnvelope(data: Uint8Array): SnapshotEnvelope {
  let v: unknown;
  try {
    v = packr.unpack(data);
  } catch (e) {
    throw new CodecError(`snapshot data is not valid msgpack: ${e instanceof Error ? e.message : String(e)}`);
  }
  const o = v as Record<string, unknown> | null;
  if (typeof o !== "object" || o === null || o["version"] !== 1) throw new CodecError("snapshot data has no version-1 envelope");
  const cs = o["confState"] as Record<string, unknown> | undefined;
  const members = o["members"];
  const mvcc = o["mvcc"];
  if (!cs || !isIdList(cs["voters"]) || !isIdList(cs["learners"])) throw new CodecError("snapshot envelope has a malformed confState");
  if (!Array.isArray(members) || !members.every(isMember)) throw new CodecError("snapshot envelope has malformed members");
  if (!(mvcc instanceof Uint8Array)) throw new CodecError("snapshot envelope has no mvcc bytes");
  return { version: 1, confState: { voters: cs["voters"], learners: cs["learners"] }, members, mvcc };
}

function isIdList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isSafeInteger(x) && x > 0);
}

function isMember(v: unknown): v is Member {
  if (typeof v !== "object" || v === null) return false;
  const m = v as Record<string, unknown>;
  const strings = (a: unknown) => Array.isArray(a) && a.every((x) => typeof x === "string");
  return typeof m["id"] === "number" && typeof m["name"] === "string" && strings(m["peerUrls"]) && strings(m["clientUrls"]);
}
