/**
 * How objects are stored: JSON bytes without metadata.resourceVersion, which is re-injected
 * from the key's modRevision on every read. Also the list continue token.
 */
import { newBadRequest, newInternalError } from "@kubemu/common";
import type { KubeObject, ListResult } from "./interface.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** ObjectMeta's fields in the order kube-apiserver writes them (its Go struct order). */
const META_ORDER = ["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers", "managedFields"];

/**
 * The stored form of obj (resourceVersion stripped; obj itself is not modified), with fields in
 * kube-apiserver's order: kind, apiVersion, metadata, the rest, status last. Reads hand out
 * these bytes' order, so `curl` and `kubectl get --raw` see what a real cluster sends.
 */
export function encodeObject(obj: KubeObject): Uint8Array {
  const source = (obj.metadata ?? {}) as Record<string, unknown>;
  const meta: Record<string, unknown> = {};
  for (const k of META_ORDER) if (source[k] !== undefined && k !== "resourceVersion") meta[k] = source[k];
  for (const k of Object.keys(source)) if (!(k in meta) && k !== "resourceVersion") meta[k] = source[k];
  const { kind, apiVersion, metadata: _m, status, ...rest } = obj;
  return encoder.encode(JSON.stringify({ kind, apiVersion, metadata: meta, ...rest, status }));
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

/** A stored object as the store holds it: its key, stored bytes and modRevision. */
export interface RawObject {
  readonly key: string;
  readonly value: Uint8Array;
  readonly rev: number;
}

/** The raw items behind a ListResult, and how one of them becomes its item. */
interface RawList {
  raw: readonly RawObject[];
  decode: (r: RawObject) => KubeObject;
  /** Set once `items` was read: the caller may have changed them, so the bytes no longer stand for them. */
  materialized: boolean;
}

const rawLists = new WeakMap<ListResult, RawList>();

const plainDecode = (r: RawObject) => decodeObject(r.value, r.rev, r.key);

/**
 * A ListResult over stored objects whose `items` are decoded on first access. Until then
 * encodeRawList can write the list response straight from the stored bytes (no JSON.parse and
 * JSON.stringify of every object). A copy of the result (`{ ...res }`) reads `items`, so
 * wrappers that transform items never send stale bytes.
 */
export function rawListResult(raw: readonly RawObject[], meta: Omit<ListResult, "items">, decode: (r: RawObject) => KubeObject = plainDecode): ListResult {
  let items: KubeObject[] | undefined;
  const entry: RawList = { raw, decode, materialized: false };
  const result: ListResult = {
    ...meta,
    get items(): KubeObject[] {
      entry.materialized = true;
      return (items ??= raw.map(decode));
    },
    set items(v: KubeObject[]) {
      entry.materialized = true;
      items = v;
    },
  };
  rawLists.set(result, entry);
  return result;
}

/**
 * `fn` applied to every item of res: for a raw list not yet read, lazily (a new raw list whose
 * items get fn as they are decoded); otherwise now, in place.
 */
export function mapListItems(res: ListResult, fn: (o: KubeObject) => KubeObject): ListResult {
  const entry = rawLists.get(res);
  if (entry && !entry.materialized) {
    const meta: Omit<ListResult, "items"> = { resourceVersion: res.resourceVersion };
    if (res.continue !== undefined) meta.continue = res.continue;
    if (res.remainingItemCount !== undefined) meta.remainingItemCount = res.remainingItemCount;
    return rawListResult(entry.raw, meta, (r) => fn(entry.decode(r)));
  }
  res.items = res.items.map(fn);
  return res;
}

const utf8 = (s: string) => Buffer.from(s, "utf8");
const RV_KEY = utf8('"resourceVersion":');
/** After the stored prefix up to `"metadata":{`: the ObjectMeta fields before uid, then uid (see META_ORDER). */
const UPTO_UID = /(?:"(?:name|generateName|namespace|selfLink)":"(?:[^"\\]|\\.)*",)*"uid":"(?:[^"\\]|\\.)*"/y;
/** Longer than the fields before uid can be (names ≤ 253, namespace ≤ 63, uid 36). */
const HEAD_BYTES = 2048;

/**
 * The JSON body of a list (`{"kind","apiVersion","metadata","items":[...]}`) written from the
 * stored bytes of a raw list whose items were never read; undefined for any other list. An
 * item stored as encodeObject writes it — `{"kind":<kind>,"apiVersion":<apiVersion>,"metadata":{`,
 * the fields before uid, uid — and holding no `"resourceVersion":` key is copied as stored with
 * its resourceVersion spliced in after uid (where kube-apiserver writes it); any other item is
 * decoded and serialized as usual.
 */
export function encodeRawList(res: ListResult, type: { listKind: string; kind: string; apiVersion: string }, metadata: Record<string, unknown>): Buffer | undefined {
  const { listKind, kind, apiVersion } = type;
  const entry = rawLists.get(res);
  if (!entry || entry.materialized) return undefined;
  const prefix = utf8(`{"kind":${JSON.stringify(kind)},"apiVersion":${JSON.stringify(apiVersion)},"metadata":{`);
  const chunks: Uint8Array[] = [utf8(`{"kind":${JSON.stringify(listKind)},"apiVersion":${JSON.stringify(apiVersion)},"metadata":${JSON.stringify(metadata)},"items":[`)];
  const comma = utf8(",");
  entry.raw.forEach((r, i) => {
    if (i > 0) chunks.push(comma);
    const v = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    let at = -1;
    if (v.length > prefix.length && v.compare(prefix, 0, prefix.length, 0, prefix.length) === 0 && v.indexOf(RV_KEY) === -1) {
      // latin1: one char per byte, so the match offset is a byte offset.
      const head = v.toString("latin1", 0, Math.min(v.length, HEAD_BYTES));
      UPTO_UID.lastIndex = prefix.length;
      if (UPTO_UID.test(head)) at = UPTO_UID.lastIndex;
    }
    if (at > 0) chunks.push(v.subarray(0, at), utf8(`,"resourceVersion":"${r.rev}"`), v.subarray(at));
    else chunks.push(utf8(JSON.stringify(entry.decode(r))));
  });
  chunks.push(utf8("]}"));
  return Buffer.concat(chunks);
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
