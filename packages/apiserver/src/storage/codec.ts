/**
 * How objects are stored: JSON bytes without metadata.resourceVersion, which is re-injected
 * from the key's modRevision on every read. Also the list continue token.
 */
import { newBadRequest, newInternalError } from "@kubemu/common";
import type { KubeObject } from "./interface.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The stored form of obj (resourceVersion stripped; obj itself is not modified). */
export function encodeObject(obj: KubeObject): Uint8Array {
  const { resourceVersion: _rv, ...meta } = obj.metadata ?? {};
  return encoder.encode(JSON.stringify({ ...obj, metadata: meta }));
}

/** Decodes a stored value and sets its resourceVersion. A damaged value is an InternalError naming the key. */
export function decodeObject(value: Uint8Array, revision: number, key: string): KubeObject {
  let obj: unknown;
  try {
    obj = JSON.parse(decoder.decode(value));
  } catch (e) {
    throw newInternalError(`stored value of ${key} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw newInternalError(`stored value of ${key} is not an object`);
  const o = obj as KubeObject;
  if (typeof o.metadata !== "object" || o.metadata === null) o.metadata = {};
  o.metadata.resourceVersion = String(revision);
  return o;
}

/** A deep copy of a JSON object. */
export function cloneObject<T>(obj: T): T {
  return structuredClone(obj);
}

/** The continue token: where the next page starts (relative to the list prefix) and the revision of the first page. */
export interface ContinueToken {
  rv: number;
  start: string;
}

/** Encodes a continue token (base64url JSON, shaped like upstream's). */
export function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv, start }), "utf8").toString("base64url");
}

/** Decodes a continue token; a malformed one is BadRequest. */
export function decodeContinue(token: string): ContinueToken {
  const bad = (why: string) => newBadRequest(`invalid continue token: ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw bad("not base64-encoded JSON");
  }
  if (typeof parsed !== "object" || parsed === null) throw bad("not an object");
  const t = parsed as Record<string, unknown>;
  if (t.v !== "meta.k8s.io/v1") throw bad("unknown version");
  if (typeof t.rv !== "number" || !Number.isSafeInteger(t.rv) || t.rv <= 0) throw bad("bad resourceVersion");
  if (typeof t.start !== "string" || t.start.length === 0) throw bad("bad start key");
  // The start key is relative to the prefix: it must not climb out of it.
  if (t.start.startsWith("/") || t.start.split("/").includes("..")) throw bad("start key escapes the prefix");
  return { rv: t.rv, start: t.start };
}
