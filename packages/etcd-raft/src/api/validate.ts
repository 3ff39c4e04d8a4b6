/**
 * Shape checks for request params that arrive from the network. Each parser returns a clean
 * object (only known fields) or throws a BadRequest StatusError naming the field. Contents of
 * key-value commands are checked further by the MVCC validator before they are proposed.
 */
import { composeNetwork, newBadRequest } from "@kubemu/common";
import type { Command, RangeRequest, WatchFilter } from "../mvcc/index.js";
import type {
  LeaseGrantParams,
  LeaseTimeToLiveParams,
  MemberAddParams,
  MemberRemoveParams,
  MoveLeaderParams,
  WatchParams,
} from "./methods.js";

type Obj = Record<string, unknown>;

function object(p: unknown, method: string): Obj {
  if (typeof p !== "object" || p === null || Array.isArray(p) || p instanceof Uint8Array) {
    throw newBadRequest(`${method}: params must be an object`);
  }
  return p as Obj;
}

function pick(o: Obj, fields: readonly string[]): Obj {
  const out: Obj = {};
  for (const f of fields) {
    const v = o[f];
    if (v !== undefined && v !== null) out[f] = v;
  }
  return out;
}

function optBool(o: Obj, f: string, method: string): boolean | undefined {
  const v = o[f];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw newBadRequest(`${method}: ${f} must be a boolean`);
  return v;
}

function int(o: Obj, f: string, method: string, opts: { min: number; optional?: boolean }): number | undefined {
  const v = o[f];
  if (v === undefined || v === null) {
    if (opts.optional) return undefined;
    throw newBadRequest(`${method}: ${f} is required`);
  }
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < opts.min) {
    throw newBadRequest(`${method}: ${f} must be an integer >= ${opts.min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Range params → (MVCC range request, serializable flag). */
export function parseRange(p: unknown): { req: RangeRequest; serializable: boolean } {
  const o = object(p, "range");
  const serializable = optBool(o, "serializable", "range") ?? false;
  const req = pick(o, ["key", "rangeEnd", "revision", "limit", "keysOnly", "countOnly", "sortOrder", "sortTarget"]) as unknown as RangeRequest;
  return { req, serializable };
}

/** Put params → put command. */
export function parsePut(p: unknown): Command {
  const o = object(p, "put");
  return { type: "put", ...pick(o, ["key", "value", "lease", "prevKv", "ignoreValue", "ignoreLease"]) } as Command;
}

/** DeleteRange params → deleteRange command. */
export function parseDeleteRange(p: unknown): Command {
  const o = object(p, "deleteRange");
  return { type: "deleteRange", ...pick(o, ["key", "rangeEnd", "prevKv"]) } as Command;
}

/** Txn params → txn command (the branches are validated by the MVCC validator). */
export function parseTxn(p: unknown): Command {
  const o = object(p, "txn");
  return { type: "txn", compare: o["compare"] ?? [], success: o["success"] ?? [], failure: o["failure"] ?? [] } as Command;
}

/** Compact params → compact command. */
export function parseCompact(p: unknown): Command {
  const o = object(p, "compact");
  return { type: "compact", revision: int(o, "revision", "compact", { min: 1 }) } as Command;
}

/** Watch params. */
export function parseWatch(p: unknown): WatchParams {
  const o = object(p, "watch");
  const out = pick(o, ["key", "rangeEnd"]) as unknown as WatchParams;
  const start = int(o, "startRevision", "watch", { min: 0, optional: true });
  if (start !== undefined) out.startRevision = start;
  const prevKv = optBool(o, "prevKv", "watch");
  if (prevKv !== undefined) out.prevKv = prevKv;
  const every = int(o, "progressNotifyMs", "watch", { min: 0, optional: true });
  if (every !== undefined) {
    if (every > 0 && every < 10) throw newBadRequest("watch: progressNotifyMs must be 0 or at least 10");
    out.progressNotifyMs = every;
  }
  const filters = o["filters"];
  if (filters !== undefined && filters !== null) {
    if (!Array.isArray(filters) || filters.some((f) => f !== "noPut" && f !== "noDelete")) {
      throw newBadRequest('watch: filters must be an array of "noPut" / "noDelete"');
    }
    out.filters = filters as WatchFilter[];
  }
  return out;
}

/** Lease grant params. */
export function parseLeaseGrant(p: unknown): LeaseGrantParams {
  const o = object(p, "leaseGrant");
  const ttl = int(o, "ttl", "leaseGrant", { min: 1 }) as number;
  const id = int(o, "id", "leaseGrant", { min: 0, optional: true });
  return id === undefined || id === 0 ? { ttl } : { ttl, id };
}

/** Params naming one lease. */
export function parseLeaseId(p: unknown, method: string): { id: number } {
  const o = object(p, method);
  return { id: int(o, "id", method, { min: 1 }) as number };
}

/** Lease time-to-live params. */
export function parseLeaseTimeToLive(p: unknown): LeaseTimeToLiveParams {
  const o = object(p, "leaseTimeToLive");
  const keys = optBool(o, "keys", "leaseTimeToLive");
  return { id: int(o, "id", "leaseTimeToLive", { min: 1 }) as number, ...(keys !== undefined ? { keys } : {}) };
}

const MEMBER_NAME = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;

/** Member add params: a DNS-label-like name and a ws:// peer URL on a loopback address. */
export function parseMemberAdd(p: unknown): MemberAddParams {
  const o = object(p, "memberAdd");
  const name = o["name"];
  if (typeof name !== "string" || !MEMBER_NAME.test(name)) {
    throw newBadRequest("memberAdd: name must be lower-case letters, digits, '-' or '.', at most 63 characters");
  }
  const peerUrl = o["peerUrl"];
  if (typeof peerUrl !== "string") throw newBadRequest("memberAdd: peerUrl must be a string");
  return { name, peerUrl: checkWsUrl(peerUrl, "memberAdd: peerUrl") };
}

/** Member remove params (id or name). */
export function parseMemberRemove(p: unknown): MemberRemoveParams {
  const o = object(p, "memberRemove");
  const id = int(o, "id", "memberRemove", { min: 1, optional: true });
  const name = o["name"];
  if (name !== undefined && typeof name !== "string") throw newBadRequest("memberRemove: name must be a string");
  if (id === undefined && name === undefined) throw newBadRequest("memberRemove: give id or name");
  return { ...(id !== undefined ? { id } : {}), ...(typeof name === "string" ? { name } : {}) };
}

/** Move-leader params (target id or name). */
export function parseMoveLeader(p: unknown): MoveLeaderParams {
  const o = object(p, "moveLeader");
  const targetId = int(o, "targetId", "moveLeader", { min: 1, optional: true });
  const name = o["name"];
  if (name !== undefined && typeof name !== "string") throw newBadRequest("moveLeader: name must be a string");
  if (targetId === undefined && name === undefined) throw newBadRequest("moveLeader: give targetId or name");
  return { ...(targetId !== undefined ? { targetId } : {}), ...(typeof name === "string" ? { name } : {}) };
}

/**
 * Checks a ws:// (or wss://, TLS) URL whose host is a loopback IPv4 address (127.0.0.0/8) or
 * localhost (in compose mode any host: members are containers named by service), with an explicit port; returns it normalized (no trailing slash). Throws BadRequest otherwise.
 */
export function checkWsUrl(raw: string, what: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw newBadRequest(`${what} "${raw}" is not a URL`);
  }
  if (u.protocol !== "ws:" && u.protocol !== "wss:") throw newBadRequest(`${what} "${raw}" must use ws:// or wss://`);
  if (!u.port) throw newBadRequest(`${what} "${raw}" must have an explicit port`);
  if (!composeNetwork() && !(u.hostname === "localhost" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(u.hostname))) {
    throw newBadRequest(`${what} "${raw}" must be a loopback address (127.0.0.0/8)`);
  }
  return `${u.protocol}//${u.hostname}:${u.port}`;
}
