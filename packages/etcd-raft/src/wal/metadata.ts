/** Metadata record payload: UTF-8 JSON, rarely written, so clarity beats compactness. */
import { encodeRecord, RecordType } from "./record.js";
import type { WalMetadata } from "./types.js";

export function encodeMetadata(m: WalMetadata): Buffer {
  return encodeRecord(RecordType.metadata, Buffer.from(JSON.stringify({ memberId: m.memberId, clusterId: m.clusterId }), "utf8"));
}

export function decodeMetadata(payload: Buffer): WalMetadata {
  const obj: unknown = JSON.parse(payload.toString("utf8"));
  if (typeof obj !== "object" || obj === null) throw new RangeError("metadata is not an object");
  const { memberId, clusterId } = obj as Record<string, unknown>;
  if (typeof memberId !== "string" || typeof clusterId !== "string") {
    throw new RangeError("metadata needs string memberId and clusterId");
  }
  return { memberId, clusterId };
}

/** Validates caller-supplied metadata before it is written. */
export function checkMetadata(m: WalMetadata): void {
  if (typeof m?.memberId !== "string" || m.memberId === "" || typeof m.clusterId !== "string" || m.clusterId === "") {
    throw new TypeError("WAL metadata needs non-empty string memberId and clusterId");
  }
}

export function sameMetadata(a: WalMetadata, b: WalMetadata): boolean {
  return a.memberId === b.memberId && a.clusterId === b.clusterId;
}
