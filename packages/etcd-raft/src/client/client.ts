/**
 * EtcdClient: the client of a kubemu-etcd cluster.
 *
 * It talks to one member at a time over a WireClient that fails over between endpoints and
 * follows NotLeader redirects to the leader's client URL. Retry policy:
 * - reads (and other requests without side effects) are retried on any transient error until
 *   the request deadline;
 * - writes are retried only when the error proves they did not execute (NotLeader, or a
 *   "not proposed" answer such as "no leader yet"); an ambiguous failure (connection lost
 *   mid-request, timeout) is returned to the caller, because the write may have committed.
 * A member that keeps answering "no leader" (e.g. it is partitioned away) is left for the next
 * endpoint after a few tries.
 */
import { createHash } from "node:crypto";
import {
  type Clock,
  type Logger,
  newInternalError,
  newNotLeader,
  newTimeout,
  normalizeEndpoint,
  randomRng,
  realClock,
  type Rng,
  StatusError,
  WireClient,
  type WireTlsOptions,
} from "@kubemu/common";
import * as api from "../api/index.js";
import { provedNotExecuted, retriableRead } from "../api/index.js";
import { type Compare, type KeyValue, prefixEnd, type TxnOp } from "../mvcc/index.js";
import { EtcdWatch, type WatchOptions } from "./watch.js";

export interface EtcdClientOptions {
  /** Client URLs of members (ws://host:port, or wss:// for members serving TLS). */
  endpoints: readonly string[];
  /** For wss:// endpoints: the CA the members' certificates chain to and this client's certificate. */
  tls?: WireTlsOptions;
  /** Process name sent in the handshake (fault rules match on it). Default "etcd-client". */
  name?: string;
  logger?: Logger;
  clock?: Clock;
  rng?: Rng;
  /** Deadline per call including retries (default 10 s). */
  requestTimeoutMs?: number;
}

type RangeOptions = Omit<api.RangeParams, "key">;

export class EtcdClient {
  private readonly wire: WireClient;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly endpointList: string[];
  private noLeaderStrikes = 0;

  constructor(opts: EtcdClientOptions) {
    this.clock = opts.clock ?? realClock;
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.endpointList = opts.endpoints.map((e) => normalizeEndpoint(e) ?? e);
    this.wire = new WireClient({
      name: opts.name ?? "etcd-client",
      endpoints: opts.endpoints,
      clock: this.clock,
      rng: opts.rng ?? randomRng().rng,
      ...(opts.logger ? { logger: opts.logger } : {}),
      ...(opts.tls ? { tls: opts.tls } : {}),
      requestTimeoutMs: this.timeoutMs,
      connectTimeoutMs: 1000,
      backoffInitialMs: 50,
      backoffMaxMs: 1000,
      maxRedirects: 5,
      pingIntervalMs: 1000,
      deadAfterMs: 3000,
    });
    this.wire.on("connectError", () => {});
  }

  /** The underlying wire client's connection state. */
  get connection() {
    return this.wire.state;
  }

  // ---- key-value ------------------------------------------------------------------------

  /** Reads one key (linearizable unless opts.serializable). */
  async get(key: Uint8Array | string, opts: RangeOptions = {}): Promise<KeyValue | undefined> {
    const r = await this.range({ ...opts, key });
    return r.kvs[0];
  }

  /** Reads a range of keys. */
  range(params: api.RangeParams): Promise<api.RangeResponse> {
    return this.read(api.Method.range, params);
  }

  /** Reads every key with this prefix. */
  prefix(prefix: string, opts: RangeOptions = {}): Promise<api.RangeResponse> {
    return this.range({ ...opts, key: prefix, rangeEnd: prefixEnd(prefix) });
  }

  put(key: Uint8Array | string, value: Uint8Array | string, opts: Omit<api.PutParams, "key" | "value"> = {}): Promise<api.PutResponse> {
    return this.write(api.Method.put, { ...opts, key, value });
  }

  delete(key: Uint8Array | string, opts: Omit<api.DeleteRangeParams, "key"> = {}): Promise<api.DeleteRangeResponse> {
    return this.write(api.Method.deleteRange, { ...opts, key });
  }

  txn(t: { compare?: Compare[]; success?: TxnOp[]; failure?: TxnOp[] }): Promise<api.TxnResponse> {
    return this.write(api.Method.txn, { compare: t.compare ?? [], success: t.success ?? [], failure: t.failure ?? [] });
  }

  compact(revision: number): Promise<api.CompactResponse> {
    return this.write(api.Method.compact, { revision });
  }

  /** Watches a key or range; see EtcdWatch for the resume guarantees. */
  watch(key: Uint8Array | string, opts: WatchOptions = {}): EtcdWatch {
    return new EtcdWatch(this.wire, this.clock, key, opts);
  }

  // ---- leases ----------------------------------------------------------------------------

  leaseGrant(ttl: number, id?: number): Promise<api.LeaseGrantResponse> {
    return this.write(api.Method.leaseGrant, id === undefined ? { ttl } : { ttl, id });
  }

  leaseRevoke(id: number): Promise<api.LeaseRevokeResponse> {
    return this.write(api.Method.leaseRevoke, { id });
  }

  /** Renews a lease once (renewing twice is harmless, so it is retried like a read). */
  leaseKeepAlive(id: number): Promise<api.LeaseKeepAliveResponse> {
    return this.read(api.Method.leaseKeepAlive, { id });
  }

  leaseTimeToLive(id: number, keys = false): Promise<api.LeaseTimeToLiveResponse> {
    return this.read(api.Method.leaseTimeToLive, { id, keys });
  }

  leases(): Promise<api.LeaseLeasesResponse> {
    return this.read(api.Method.leaseLeases, {});
  }

  // ---- cluster and maintenance -------------------------------------------------------------

  memberList(): Promise<api.MemberListResponse> {
    return this.read(api.Method.memberList, {});
  }

  memberAdd(name: string, peerUrl: string): Promise<api.MemberAddResponse> {
    return this.write(api.Method.memberAdd, { name, peerUrl });
  }

  memberRemove(member: api.MemberRemoveParams): Promise<api.MemberRemoveResponse> {
    return this.write(api.Method.memberRemove, member);
  }

  /** Status of the member this client is connected to. */
  status(): Promise<api.StatusResponse> {
    return this.read(api.Method.status, {});
  }

  /** MVCC hash of the connected member's state (to compare replicas). */
  hashKV(): Promise<api.HashKVResponse> {
    return this.read(api.Method.hashKV, {});
  }

  moveLeader(target: api.MoveLeaderParams): Promise<api.MoveLeaderResponse> {
    return this.write(api.Method.moveLeader, target);
  }

  /** Downloads a snapshot of the state (membership + MVCC) and checks its SHA-256. */
  async snapshot(): Promise<{ data: Uint8Array; revision: number; raftIndex: number }> {
    const chunks: Uint8Array[] = [];
    for await (const item of this.wire.stream<api.SnapshotItem>(api.Method.snapshot, {})) {
      if (item.kind === "chunk") {
        chunks.push(item.data);
        continue;
      }
      const data = Buffer.concat(chunks);
      const sum = createHash("sha256").update(data).digest("hex");
      if (data.length !== item.size || sum !== item.sha256) throw newInternalError(`snapshot download is damaged (${data.length} bytes, sha256 ${sum}; expected ${item.size}, ${item.sha256})`);
      return { data: new Uint8Array(data), revision: item.revision, raftIndex: item.raftIndex };
    }
    throw newInternalError("snapshot stream ended without its trailer");
  }

  async close(): Promise<void> {
    await this.wire.close();
  }

  // ---- retries -----------------------------------------------------------------------------

  private read<R>(method: string, params: unknown): Promise<R> {
    return this.withRetry(method, params, true, retriableRead);
  }

  private write<R>(method: string, params: unknown): Promise<R> {
    return this.withRetry(method, params, false, provedNotExecuted);
  }

  private async withRetry<R>(method: string, params: unknown, idempotent: boolean, canRetry: (e: unknown) => boolean): Promise<R> {
    const deadline = this.clock.now() + this.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const left = deadline - this.clock.now();
      if (left <= 0) throw newTimeout(`${method} did not succeed within ${this.timeoutMs} ms`);
      try {
        const r = await this.wire.request<R>(method, params, { timeoutMs: left, idempotent });
        this.noLeaderStrikes = 0;
        return r;
      } catch (e) {
        if (!(e instanceof StatusError) || !canRetry(e) || this.clock.now() >= deadline) throw e;
        // Signs that this member cannot reach a leader: after a few, try another member.
        if (e.reason === "NotLeader" ? e.status.details?.leaderHint === undefined : e.reason !== "Cancelled") this.noLeaderStrikes++;
        if (this.noLeaderStrikes >= 4) this.tryAnotherMember();
        await this.clock.sleep(Math.min(500, 20 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  /** Moves to the next endpoint (the current member seems cut off from the leader). */
  private tryAnotherMember(): void {
    this.noLeaderStrikes = 0;
    if (this.endpointList.length < 2) return;
    const cur = this.wire.state.endpoint;
    const i = cur === undefined ? -1 : this.endpointList.indexOf(cur);
    const next = this.endpointList[(i + 1) % this.endpointList.length]!;
    this.wire.redirect(newNotLeader(next).status, 0);
  }
}

