/**
 * The chaos test's client workload: concurrent clients doing get / put / compare-and-swap on a
 * few keys, recording a history for the linearizability checker and every acknowledged write.
 *
 * Outcomes are classified the way a careful application must:
 * - success → call/ret times and the observed output;
 * - an error proving the operation did not execute (NotLeader, "not proposed", validation) →
 *   the operation is dropped from the history (it is as if it was never issued);
 * - any other write error (timeout, connection lost mid-request) → outcome unknown: `ret =
 *   Infinity` and no output, so the checker may place it anywhere after its call, or nowhere;
 * - a failed read tells nothing and is dropped.
 * Every value written is unique (`c<client>-<n>`), so a read pins the write it observed.
 */
import type { Rng } from "@kubemu/common";
import { StatusError } from "@kubemu/common";
import { type EtcdClient, provedNotExecuted } from "../../src/index.js";
import type { KvInput, KvOutput, Operation } from "../support/linearizability.js";

/** A write the store acknowledged, with the revision its response header carried. */
export interface AckedWrite {
  client: number;
  key: string;
  value: string;
  revision: number;
}

/** Counts of operation outcomes. */
export interface WorkloadStats {
  ok: number;
  /** Proven not executed (dropped), plus failed reads. */
  failed: number;
  /** Writes with an unknown outcome (in the history with ret = Infinity). */
  unknown: number;
  gets: number;
  puts: number;
  cas: number;
  casSucceeded: number;
}

export interface WorkloadOptions {
  clients: EtcdClient[];
  keys: string[];
  rng: Rng;
  /** Monotonic clock for call/ret times (performance.now in the test). */
  now: () => number;
}

type Outcome = "ok" | "dropped" | "unknown";

export class Workload {
  readonly history: Operation<KvInput, KvOutput>[] = [];
  readonly acked: AckedWrite[] = [];
  /** Every value any client tried to write (a stored value outside this set is corruption). */
  readonly issuedValues = new Set<string>();
  readonly stats: WorkloadStats = { ok: 0, failed: 0, unknown: 0, gets: 0, puts: 0, cas: 0, casSucceeded: 0 };
  /** Errors by reason, for the summary (e.g. {"Timeout": 12, "ServiceUnavailable": 3}). */
  readonly errorReasons = new Map<string, number>();

  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly opts: WorkloadOptions) {
    if (opts.clients.length === 0 || opts.keys.length === 0) throw new Error("a workload needs clients and keys");
  }

  /** Starts one loop per client. */
  start(): void {
    this.loops = this.opts.clients.map((c, i) => this.loop(c, i, this.opts.rng.fork()));
  }

  /** Asks every loop to stop after its current operation and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async loop(client: EtcdClient, id: number, rng: Rng): Promise<void> {
    // The last value this client saw per key: the "from" of its next compare-and-swap.
    const lastSeen = new Map<string, string | null>();
    let n = 0;
    while (!this.stopped) {
      const key = rng.pick(this.opts.keys);
      const dice = rng.float();
      if (dice < 0.4 || !lastSeen.has(key)) {
        await this.get(client, id, key, lastSeen);
      } else if (dice < 0.7) {
        await this.put(client, id, key, `c${id}-${n++}`);
      } else {
        await this.cas(client, id, key, lastSeen.get(key) ?? null, `c${id}-${n++}`);
      }
    }
  }

  private async get(client: EtcdClient, id: number, key: string, lastSeen: Map<string, string | null>): Promise<void> {
    this.stats.gets++;
    const input: KvInput = { op: "get", key };
    const call = this.opts.now();
    try {
      const kv = await client.get(key);
      const value = kv ? Buffer.from(kv.value).toString() : null;
      const ret = this.opts.now();
      lastSeen.set(key, value);
      this.history.push({ client: id, input, call, output: { value }, ret });
      this.stats.ok++;
    } catch (e) {
      this.noteError(e);
      this.stats.failed++;
    }
  }

  private async put(client: EtcdClient, id: number, key: string, value: string): Promise<void> {
    this.stats.puts++;
    this.issuedValues.add(value);
    const input: KvInput = { op: "put", key, value };
    const call = this.opts.now();
    try {
      const r = await client.put(key, value);
      this.history.push({ client: id, input, call, output: {}, ret: this.opts.now() });
      this.acked.push({ client: id, key, value, revision: r.header.revision });
      this.stats.ok++;
    } catch (e) {
      this.recordFailedWrite(e, id, input, call);
    }
  }

  private async cas(client: EtcdClient, id: number, key: string, from: string | null, to: string): Promise<void> {
    this.stats.cas++;
    this.issuedValues.add(to);
    const input: KvInput = { op: "cas", key, from, to };
    const call = this.opts.now();
    try {
      // We never delete, so "absent" is exactly "version 0" (a value compare on a missing key is false).
      const guard = from === null ? ({ key, target: "version", result: "=", value: 0 } as const) : ({ key, target: "value", result: "=", value: from } as const);
      const r = await client.txn({ compare: [guard], success: [{ type: "put", key, value: to }], failure: [] });
      this.history.push({ client: id, input, call, output: { ok: r.succeeded }, ret: this.opts.now() });
      if (r.succeeded) {
        this.acked.push({ client: id, key, value: to, revision: r.header.revision });
        this.stats.casSucceeded++;
      }
      this.stats.ok++;
    } catch (e) {
      this.recordFailedWrite(e, id, input, call);
    }
  }

  private recordFailedWrite(e: unknown, id: number, input: KvInput, call: number): void {
    this.noteError(e);
    if (classifyWriteError(e) === "dropped") {
      this.stats.failed++;
      return;
    }
    this.history.push({ client: id, input, call, ret: Infinity });
    this.stats.unknown++;
  }

  private noteError(e: unknown): void {
    const reason = e instanceof StatusError ? e.reason : e instanceof Error ? e.name : "unknown";
    this.errorReasons.set(reason, (this.errorReasons.get(reason) ?? 0) + 1);
  }
}

/** Validation failures the server answers before proposing anything. */
const REJECTED_BEFORE_PROPOSAL = new Set(["BadRequest", "Invalid", "RequestEntityTooLarge"]);

/** Whether a failed write certainly did not execute ("dropped") or may have ("unknown"). */
export function classifyWriteError(e: unknown): Exclude<Outcome, "ok"> {
  if (provedNotExecuted(e)) return "dropped";
  if (e instanceof StatusError && REJECTED_BEFORE_PROPOSAL.has(e.reason)) return "dropped";
  return "unknown";
}
