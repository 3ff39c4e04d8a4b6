// Random command generation and a deliberately naive reference model of the MVCC store,
// used by the property tests. The model shares no code with the store.
import fc from "fast-check";
import { MvccStore, isMvccError, type Command } from "@kubemu/etcd-raft";

export const KEYS = ["a", "b", "c", "d", "e", "f"];

/** AbstractCmd is generated data; `concretize` turns it into a Command given the current state. */
export type AbstractCmd =
  | { t: "put"; key: string; value: string; lease: number }
  | { t: "del"; key: string; end: string | undefined }
  | { t: "txn"; key: string; version: number; success: [string, "put" | "del"][]; failure: [string, "put" | "del"][]; value: string }
  | { t: "grant"; id: number; ttl: number }
  | { t: "revoke"; id: number }
  | { t: "compact"; frac: number };

const key = fc.constantFrom(...KEYS);
const branch = fc.uniqueArray(fc.tuple(key, fc.constantFrom("put" as const, "del" as const)), { selector: (x) => x[0], maxLength: 3 });

export const abstractCmd: fc.Arbitrary<AbstractCmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant("put" as const), key, value: fc.string({ maxLength: 3 }), lease: fc.constantFrom(0, 0, 1, 2) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("del" as const), key, end: fc.option(fc.constantFrom("c", "e", "\0", "zz"), { nil: undefined }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("txn" as const), key, version: fc.nat(3), success: branch, failure: branch, value: fc.string({ maxLength: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("grant" as const), id: fc.constantFrom(1, 2), ttl: fc.integer({ min: 1, max: 100 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("revoke" as const), id: fc.constantFrom(1, 2) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("compact" as const), frac: fc.double({ min: 0, max: 1, noNaN: true }) }) },
);

/** concretize builds the Command for `a` against a store's current revision and compaction point. */
export function concretize(a: AbstractCmd, revision: number, compactRevision: number): Command {
  const ops = (b: [string, "put" | "del"][], value: string) =>
    b.map(([k, op]) => (op === "put" ? { type: "put" as const, key: k, value } : { type: "deleteRange" as const, key: k }));
  switch (a.t) {
    case "put":
      return { type: "put", key: a.key, value: a.value, lease: a.lease };
    case "del":
      return a.end === undefined || (a.end !== "\0" && a.end <= a.key)
        ? { type: "deleteRange", key: a.key }
        : { type: "deleteRange", key: a.key, rangeEnd: a.end };
    case "txn":
      return {
        type: "txn",
        compare: [{ key: a.key, target: "version", result: "=", value: a.version }],
        success: ops(a.success, a.value),
        failure: ops(a.failure, a.value + "!"),
      };
    case "grant":
      return { type: "leaseGrant", id: a.id, ttl: a.ttl };
    case "revoke":
      return { type: "leaseRevoke", id: a.id };
    case "compact":
      return { type: "compact", revision: Math.max(1, compactRevision + 1 + Math.floor(a.frac * (revision - compactRevision))) };
  }
}

/** ModelEvent is one change as the model sees it, rendered for comparison. */
export interface ModelEvent {
  rev: number;
  key: string;
  text: string;
}

interface ModelKv {
  value: string;
  lease: number;
  create: number;
  mod: number;
  version: number;
}

/** Model is a naive MVCC: a map of live keys, a revision counter and a flat list of events. */
export class Model {
  rev = 1;
  compactRev = 0;
  readonly live = new Map<string, ModelKv>();
  readonly leases = new Set<number>();
  readonly events: ModelEvent[] = [];

  /** apply returns false when the real store must reject the command. */
  apply(c: Command): boolean {
    switch (c.type) {
      case "put": {
        const lease = c.lease ?? 0;
        if (lease !== 0 && !this.leases.has(lease)) return false;
        this.rev++;
        this.put(c.key as string, c.value as string, lease);
        return true;
      }
      case "deleteRange": {
        const victims = this.keysIn(c.key as string, c.rangeEnd as string | undefined);
        if (victims.length > 0) this.rev++;
        for (const k of victims) this.del(k);
        return true;
      }
      case "txn": {
        const cmp = c.compare[0]!;
        const ok = (this.live.get(cmp.key as string)?.version ?? 0) === cmp.value;
        const ops = ok ? c.success : c.failure;
        const next = this.rev + 1;
        let changed = false;
        for (const op of ops) {
          if (op.type === "put") {
            this.rev = next;
            this.put(op.key as string, op.value as string, 0);
            changed = true;
          } else if (op.type === "deleteRange" && this.live.has(op.key as string)) {
            this.rev = next;
            this.del(op.key as string);
            changed = true;
          }
        }
        if (!changed) this.rev = next - 1;
        return true;
      }
      case "leaseGrant":
        if (this.leases.has(c.id)) return false;
        this.leases.add(c.id);
        return true;
      case "leaseRevoke": {
        if (!this.leases.has(c.id)) return false;
        const victims = [...this.live.entries()].filter(([, kv]) => kv.lease === c.id).map(([k]) => k).sort();
        if (victims.length > 0) this.rev++;
        for (const k of victims) this.del(k);
        this.leases.delete(c.id);
        return true;
      }
      case "compact":
        if (c.revision <= this.compactRev || c.revision > this.rev) return false;
        this.compactRev = c.revision;
        return true;
    }
  }

  /** eventsFor lists the events a watcher of [key, end) from `start` must see, in order. */
  eventsFor(start: number, inRange: (k: string) => boolean): string[] {
    return this.events.filter((e) => e.rev >= start && inRange(e.key)).map((e) => e.text);
  }

  /** dump renders the live state like `dumpStore`. */
  dump(): string[] {
    return [...this.live.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, kv]) => `${k}=${kv.value} c${kv.create} m${kv.mod} v${kv.version} l${kv.lease}`);
  }

  private keysIn(start: string, end: string | undefined): string[] {
    return [...this.live.keys()].filter((k) => (end === undefined ? k === start : k >= start && (end === "\0" || k < end))).sort();
  }

  private put(k: string, value: string, lease: number): void {
    const prev = this.live.get(k);
    this.live.set(k, { value, lease, create: prev ? prev.create : this.rev, mod: this.rev, version: (prev?.version ?? 0) + 1 });
    this.events.push({ rev: this.rev, key: k, text: `PUT ${k}=${value}@${this.rev} prev=${prev?.value ?? "-"}` });
  }

  private del(k: string): void {
    const prev = this.live.get(k);
    this.live.delete(k);
    this.events.push({ rev: this.rev, key: k, text: `DELETE ${k}@${this.rev} prev=${prev?.value ?? "-"}` });
  }
}

/** applyBoth runs one command on the store and reports whether it was accepted (rethrowing non-MVCC errors). */
export function tryApply(s: MvccStore, c: Command): boolean {
  try {
    s.apply(c);
    return true;
  } catch (e) {
    if (isMvccError(e)) return false;
    throw e;
  }
}

/** dumpStore renders the store's live state at the current revision. */
export function dumpStore(s: MvccStore): string[] {
  const dec = new TextDecoder();
  return s
    .range({ key: "\0", rangeEnd: "\0" })
    .kvs.map((kv) => `${dec.decode(kv.key)}=${dec.decode(kv.value)} c${kv.createRevision} m${kv.modRevision} v${kv.version} l${kv.lease}`);
}
