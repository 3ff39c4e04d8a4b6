/**
 * Shape and size validation of commands and requests. Commands arrive from the network via
 * Raft, so nothing about them is trusted: a malformed one becomes an MvccError, never a crash.
 */
import { byteLength, type Bytes } from "./bytes.js";
import { MvccError } from "./errors.js";
import type { Command, Compare, RangeRequest, TxnOp } from "./types.js";

/** MvccLimits bounds what one command may carry. */
export interface MvccLimits {
  /** Largest key in bytes. Default 8 KiB. */
  maxKeyBytes: number;
  /** Largest value in bytes. Default 1.5 MiB (etcd's default request limit). */
  maxValueBytes: number;
  /** Most compares, and most ops per txn branch. Default 128 (etcd's --max-txn-ops). */
  maxTxnOps: number;
}

/** DEFAULT_LIMITS are used for any limit not given to the store. */
export const DEFAULT_LIMITS: Readonly<MvccLimits> = {
  maxKeyBytes: 8 * 1024,
  maxValueBytes: 1.5 * 1024 * 1024,
  maxTxnOps: 128,
};

function invalid(message: string): MvccError {
  return new MvccError("ErrInvalidCommand", `mvcc: invalid command: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isBytes(v: unknown): v is Bytes {
  return typeof v === "string" || v instanceof Uint8Array;
}

function checkKey(v: unknown, where: string, limits: MvccLimits): void {
  if (!isBytes(v)) throw invalid(`${where}.key must be a string or bytes`);
  const n = byteLength(v);
  if (n === 0) throw new MvccError("ErrEmptyKey", `mvcc: ${where}.key is empty`);
  if (n > limits.maxKeyBytes) {
    throw new MvccError("ErrKeyTooLarge", `mvcc: ${where}.key is ${n} bytes, over the ${limits.maxKeyBytes}-byte limit`);
  }
}

function checkRangeEnd(v: unknown, where: string, limits: MvccLimits): void {
  if (v === undefined) return;
  if (!isBytes(v)) throw invalid(`${where}.rangeEnd must be a string or bytes`);
  if (byteLength(v) > limits.maxKeyBytes) {
    throw new MvccError("ErrKeyTooLarge", `mvcc: ${where}.rangeEnd is over the ${limits.maxKeyBytes}-byte limit`);
  }
}

function checkOptBool(o: Record<string, unknown>, field: string, where: string): void {
  const v = o[field];
  if (v !== undefined && typeof v !== "boolean") throw invalid(`${where}.${field} must be a boolean`);
}

function checkRevisionNumber(v: unknown, what: string, allowZero: boolean): void {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || (!allowZero && v === 0)) {
    throw invalid(`${what} must be a ${allowZero ? "non-negative" : "positive"} safe integer, got ${String(v)}`);
  }
}

function checkLeaseId(v: unknown, what: string): void {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
    throw invalid(`${what} must be a positive safe integer, got ${String(v)}`);
  }
}

/** validateRange checks a range request (or a txn range op) and throws MvccError if malformed. */
export function validateRange(r: unknown, where: string, limits: MvccLimits): asserts r is RangeRequest {
  if (!isObject(r)) throw invalid(`${where} must be an object`);
  if (!isBytes(r.key)) throw invalid(`${where}.key must be a string or bytes`);
  checkRangeEnd(r.rangeEnd, where, limits);
  if (r.revision !== undefined && (typeof r.revision !== "number" || !Number.isSafeInteger(r.revision))) {
    throw invalid(`${where}.revision must be an integer`);
  }
  if (r.limit !== undefined) checkRevisionNumber(r.limit, `${where}.limit`, true);
  for (const f of ["keysOnly", "countOnly"]) checkOptBool(r, f, where);
  if (r.sortOrder !== undefined && !["none", "ascend", "descend"].includes(r.sortOrder as string)) {
    throw invalid(`${where}.sortOrder must be none, ascend or descend`);
  }
  if (
    r.sortTarget !== undefined &&
    !["key", "version", "createRevision", "modRevision", "value"].includes(r.sortTarget as string)
  ) {
    throw invalid(`${where}.sortTarget must be key, version, createRevision, modRevision or value`);
  }
}

function validatePut(c: Record<string, unknown>, where: string, limits: MvccLimits): void {
  checkKey(c.key, where, limits);
  for (const f of ["prevKv", "ignoreValue", "ignoreLease"]) checkOptBool(c, f, where);
  if (c.ignoreValue === true) {
    if (c.value !== undefined && !(isBytes(c.value) && byteLength(c.value) === 0)) {
      throw invalid(`${where}.value must be empty when ignoreValue is set`);
    }
  } else {
    if (!isBytes(c.value)) throw invalid(`${where}.value must be a string or bytes`);
    const n = byteLength(c.value);
    if (n > limits.maxValueBytes) {
      throw new MvccError(
        "ErrValueTooLarge",
        `mvcc: ${where}.value is ${n} bytes, over the ${limits.maxValueBytes}-byte limit (maxValueBytes)`,
      );
    }
  }
  if (c.lease !== undefined && c.lease !== 0) checkLeaseId(c.lease, `${where}.lease`);
  if (c.ignoreLease === true && c.lease !== undefined && c.lease !== 0) {
    throw invalid(`${where}.lease must be unset when ignoreLease is set`);
  }
}

function validateDeleteRange(c: Record<string, unknown>, where: string, limits: MvccLimits): void {
  checkKey(c.key, where, limits);
  checkRangeEnd(c.rangeEnd, where, limits);
  checkOptBool(c, "prevKv", where);
}

const COMPARE_TARGETS = ["value", "version", "createRevision", "modRevision", "lease"];
const COMPARE_RESULTS = ["=", "!=", "<", ">"];

function validateCompare(c: unknown, where: string, limits: MvccLimits): asserts c is Compare {
  if (!isObject(c)) throw invalid(`${where} must be an object`);
  checkKey(c.key, where, limits);
  checkRangeEnd(c.rangeEnd, where, limits);
  if (!COMPARE_TARGETS.includes(c.target as string)) {
    throw invalid(`${where}.target must be one of ${COMPARE_TARGETS.join(", ")}`);
  }
  if (!COMPARE_RESULTS.includes(c.result as string)) {
    throw invalid(`${where}.result must be one of ${COMPARE_RESULTS.join(" ")}`);
  }
  if (c.target === "value") {
    if (!isBytes(c.value)) throw invalid(`${where}.value must be a string or bytes for a value compare`);
  } else if (typeof c.value !== "number" || !Number.isSafeInteger(c.value)) {
    throw invalid(`${where}.value must be an integer for a ${String(c.target)} compare`);
  }
}

function validateTxnOp(op: unknown, where: string, limits: MvccLimits): asserts op is TxnOp {
  if (!isObject(op)) throw invalid(`${where} must be an object`);
  switch (op.type) {
    case "range":
      if (op.revision !== undefined) throw invalid(`${where}.revision is not allowed inside a txn`);
      return validateRange(op, where, limits);
    case "put":
      return validatePut(op, where, limits);
    case "deleteRange":
      return validateDeleteRange(op, where, limits);
    default:
      throw invalid(`${where}.type must be range, put or deleteRange, got ${String(op.type)}`);
  }
}

function validateBranch(ops: unknown, where: string, limits: MvccLimits): void {
  if (!Array.isArray(ops)) throw invalid(`${where} must be an array`);
  if (ops.length > limits.maxTxnOps) {
    throw new MvccError("ErrTooManyOps", `mvcc: ${where} has ${ops.length} ops, over the ${limits.maxTxnOps}-op limit`);
  }
  ops.forEach((op, i) => validateTxnOp(op, `${where}[${i}]`, limits));
}

/**
 * validateCommand checks that `cmd` is a well-formed Command within `limits`. It throws an
 * MvccError (ErrInvalidCommand, ErrEmptyKey, ErrKeyTooLarge, ErrValueTooLarge, ErrTooManyOps)
 * naming the offending field. State-dependent checks (leases, ranges) happen at apply.
 */
export function validateCommand(cmd: unknown, limits: MvccLimits): asserts cmd is Command {
  if (!isObject(cmd)) throw invalid("a command must be an object");
  switch (cmd.type) {
    case "put":
      return validatePut(cmd, "put", limits);
    case "deleteRange":
      return validateDeleteRange(cmd, "deleteRange", limits);
    case "txn": {
      if (!Array.isArray(cmd.compare)) throw invalid("txn.compare must be an array");
      if (cmd.compare.length > limits.maxTxnOps) {
        throw new MvccError("ErrTooManyOps", `mvcc: txn has ${cmd.compare.length} compares, over the ${limits.maxTxnOps} limit`);
      }
      cmd.compare.forEach((c, i) => validateCompare(c, `txn.compare[${i}]`, limits));
      validateBranch(cmd.success, "txn.success", limits);
      validateBranch(cmd.failure, "txn.failure", limits);
      return;
    }
    case "compact":
      return checkRevisionNumber(cmd.revision, "compact.revision", false);
    case "leaseGrant":
      checkLeaseId(cmd.id, "leaseGrant.id");
      if (typeof cmd.ttl !== "number" || !Number.isSafeInteger(cmd.ttl) || cmd.ttl <= 0) {
        throw invalid(`leaseGrant.ttl must be a positive integer number of seconds, got ${String(cmd.ttl)}`);
      }
      return;
    case "leaseRevoke":
      return checkLeaseId(cmd.id, "leaseRevoke.id");
    default:
      throw invalid(`unknown command type ${JSON.stringify(cmd.type)}`);
  }
}
