/**
 * The client API handlers (methods in src/api/methods.ts) on the client WireServer.
 *
 * Writes go through Raft and must be sent to the leader: a follower answers NotLeader with the
 * leader's published client URL as the hint, and the WireClient follows it (no forwarding, so a
 * write is executed only where it was sent). Reads are linearizable by default: any member
 * runs a ReadIndex round and serves the read once it has applied up to the read index;
 * `serializable: true` serves from local state at once. Every input is validated first; a bad
 * request is a StatusError, never a crash.
 */
import { createHash } from "node:crypto";
import {
  type Clock,
  newAlreadyExists,
  newBadRequest,
  newNotLeader,
  newRequestEntityTooLarge,
  newStatus,
  newTimeout,
  type Rng,
  type ServerStream,
  type Timer,
  StatusError,
  type RequestContext,
  type WireServer,
} from "@kubemu/common";
import * as api from "../api/index.js";
import { notProposed, toStatusError } from "../api/index.js";
import { type ApplyResult, type Command, type MvccLimits, type Watcher } from "../mvcc/index.js";
import { validateCommand, validateRange } from "../mvcc/validate.js";
import { ConfChangeType } from "../raft/index.js";
import { encodeCommand, encodeMemberContext, type LogCommand } from "./codec.js";
import type { Lessor } from "./lessor.js";
import { memberIdOf } from "./members.js";
import type { RaftDriver } from "./raft-driver.js";
import type { StateMachine } from "./state-machine.js";

export interface ServiceContext {
  id: number;
  name: string;
  clock: Clock;
  rng: Rng;
  driver: RaftDriver;
  sm: StateMachine;
  lessor: Lessor;
  limits: MvccLimits;
  maxRequestBytes: number;
  /** Writes that add data are refused while the state (as of the last snapshot) exceeds this. */
  quotaBytes: number;
  electionMs: number;
}

const SNAPSHOT_CHUNK_BYTES = 256 * 1024;

/** Watches asking for progress at one interval, and the one timer that serves them all. */
interface ProgressTicker {
  timer: Timer;
  watchers: Set<Watcher>;
}

export class KvService {
  private readonly activeWatchers = new Set<Watcher>();
  /**
   * One timer per progress interval for every watch asking for it: the progress marks of many
   * watches (an apiserver holds one per resource) leave in the same turn, so each client's
   * connection writes them in one batch instead of one wake-up and one write per watch.
   */
  private readonly progressTickers = new Map<number, ProgressTicker>();

  constructor(private readonly c: ServiceContext) {
    c.sm.onStoreReplaced = () => {
      // Watchers of the replaced store will never see another event: end them so clients resume.
      for (const w of [...this.activeWatchers]) w.cancel();
    };
  }

  /** Registers every method on the client server. */
  register(s: WireServer): void {
    const M = api.Method;
    const h = <P, R>(method: string, fn: (p: P, ctx: RequestContext) => R | Promise<R>) =>
      s.handle(method, async (p: P, ctx: RequestContext) => {
        try {
          return await fn(p, ctx);
        } catch (e) {
          throw toStatusError(e);
        }
      });
    h(M.range, (p) => this.range(p));
    h(M.put, (p) => this.write(api.parsePut(p)).then(strip));
    h(M.deleteRange, (p) => this.write(api.parseDeleteRange(p)).then(strip));
    h(M.txn, (p) => this.write(api.parseTxn(p)).then(strip));
    h(M.compact, (p) => this.write(api.parseCompact(p)).then((r) => ({ header: r.header })));
    h(M.leaseGrant, (p) => this.leaseGrant(p));
    h(M.leaseRevoke, (p) => this.leaseRevoke(p));
    h(M.leaseKeepAlive, (p) => this.leaseKeepAlive(p));
    h(M.leaseTimeToLive, (p) => this.leaseTimeToLive(p));
    h(M.leaseLeases, () => this.leaseLeases());
    h(M.memberList, () => this.memberList());
    h(M.memberAdd, (p) => this.memberAdd(p));
    h(M.memberRemove, (p) => this.memberRemove(p));
    h(M.status, () => this.status());
    h(M.hashKV, () => this.hashKV());
    h(M.moveLeader, (p) => this.moveLeader(p));
    s.handleStream(M.watch, (p: unknown, stream: ServerStream<api.WatchItem>, ctx: RequestContext) =>
      this.watch(p, stream, ctx).catch((e: unknown) => {
        throw toStatusError(e);
      }),
    );
    s.handleStream(M.snapshot, (_p: unknown, stream: ServerStream<api.SnapshotItem>) => this.snapshot(stream));
  }

  // ---- helpers ----------------------------------------------------------------------------

  /** Throws unless this member leads: NotLeader with the leader's client URL, or retriable "no leader". */
  private requireLeader(): void {
    const d = this.c.driver;
    if (d.isLeader) return;
    const lead = d.leader;
    if (lead === 0) throw notProposed("no leader elected yet; retry shortly");
    const url = this.c.sm.members.get(lead)?.clientUrls[0];
    if (!url) throw notProposed(`the leader (${this.c.sm.members.get(lead)?.name ?? lead}) has not published its client URL yet; retry shortly`);
    throw newNotLeader(`${url}/`);
  }

  private async propose(cmd: LogCommand): Promise<unknown> {
    const data = encodeCommand(cmd);
    if (data.length > this.c.maxRequestBytes) {
      throw newRequestEntityTooLarge(`request is ${data.length} bytes, over the ${this.c.maxRequestBytes}-byte limit (--max-request-bytes)`);
    }
    return this.c.driver.propose(data);
  }

  private async write(cmd: Command): Promise<ApplyResult> {
    validateCommand(cmd, this.c.limits);
    this.requireLeader();
    const size = this.c.driver.lastSnapshotBytes;
    if ((cmd.type === "put" || cmd.type === "txn" || cmd.type === "leaseGrant") && size > this.c.quotaBytes) {
      throw newRequestEntityTooLarge(`database space exceeded: the state is about ${size} bytes, over --quota-bytes ${this.c.quotaBytes}; delete keys and compact`);
    }
    return (await this.propose({ op: "kv", cmd })) as ApplyResult;
  }

  // ---- kv -------------------------------------------------------------------------------

  private async range(p: unknown): Promise<api.RangeResponse> {
    const { req, serializable } = api.parseRange(p);
    validateRange(req, "range", this.c.limits);
    if (!serializable) await this.c.driver.readIndex();
    const r = this.c.sm.store.range(req);
    return { ...r, memberId: this.c.id, raftTerm: this.c.driver.node.raft.term };
  }

  // ---- watch ------------------------------------------------------------------------------

  private async watch(p: unknown, stream: ServerStream<api.WatchItem>, ctx: RequestContext): Promise<void> {
    const params = api.parseWatch(p);
    const store = this.c.sm.store;
    const startRevision = params.startRevision !== undefined && params.startRevision > 0 ? params.startRevision : store.revision + 1;
    // Below the compaction point the store throws ErrCompacted, which becomes 410 Expired.
    const watcher = store.watch({
      key: params.key,
      ...(params.rangeEnd !== undefined ? { rangeEnd: params.rangeEnd } : {}),
      startRevision,
      prevKv: params.prevKv === true,
      ...(params.filters ? { filters: params.filters } : {}),
    });
    this.activeWatchers.add(watcher);
    const onAbort = () => watcher.cancel();
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    const progressMs = params.progressNotifyMs;
    if (progressMs) this.addProgress(progressMs, watcher);
    try {
      await stream.send({ kind: "created", revision: startRevision - 1 });
      for (;;) {
        const msgs = await watcher.next();
        if (msgs.length === 0) {
          if (ctx.signal.aborted) return;
          throw notProposed("watch interrupted (this member replaced its state from a snapshot or is stopping); resume from the last revision");
        }
        for (const m of msgs) {
          if (m.kind === "events") await stream.send({ kind: "events", revision: m.revision, events: m.events });
          else if (m.kind === "progress") await stream.send({ kind: "progress", revision: m.revision });
          else if (m.compactRevision !== undefined) throw api.compactedError(m.compactRevision);
          else throw notProposed(`watch canceled: ${m.reason}`);
        }
      }
    } finally {
      if (progressMs) this.removeProgress(progressMs, watcher);
      ctx.signal.removeEventListener("abort", onAbort);
      watcher.cancel();
      this.activeWatchers.delete(watcher);
    }
  }

  private addProgress(ms: number, w: Watcher): void {
    let t = this.progressTickers.get(ms);
    if (!t) {
      const watchers = new Set<Watcher>();
      t = { watchers, timer: this.c.clock.setInterval(() => watchers.forEach((x) => x.requestProgress()), ms) };
      this.progressTickers.set(ms, t);
    }
    t.watchers.add(w);
  }

  private removeProgress(ms: number, w: Watcher): void {
    const t = this.progressTickers.get(ms);
    if (!t) return;
    t.watchers.delete(w);
    if (t.watchers.size === 0) {
      t.timer.cancel();
      this.progressTickers.delete(ms);
    }
  }

  /** Ends every watch stream (shutdown). */
  cancelWatches(): void {
    for (const w of [...this.activeWatchers]) w.cancel();
  }

  // ---- leases -----------------------------------------------------------------------------

  private async leaseGrant(p: unknown): Promise<api.LeaseGrantResponse> {
    const { ttl, id } = api.parseLeaseGrant(p);
    this.requireLeader();
    const leaseId = id ?? this.c.rng.range(1, 0x3fffff) * 0x8000_0000 + this.c.rng.range(0, 0x7fff_ffff);
    const r = (await this.write({ type: "leaseGrant", id: leaseId, ttl })) as ApplyResult & { type: "leaseGrant" };
    return { id: r.id, ttl: r.ttl, header: r.header };
  }

  private async leaseRevoke(p: unknown): Promise<api.LeaseRevokeResponse> {
    const { id } = api.parseLeaseId(p, "leaseRevoke");
    this.requireLeader();
    const r = (await this.propose({ op: "kv", cmd: { type: "leaseRevoke", id } })) as ApplyResult & { type: "leaseRevoke" };
    return { header: r.header, deleted: r.deleted };
  }

  private leaseKeepAlive(p: unknown): api.LeaseKeepAliveResponse {
    const { id } = api.parseLeaseId(p, "leaseKeepAlive");
    this.requireLeader();
    if (!this.c.lessor.isLeading) throw notProposed("leader is still starting its lease tracker; retry shortly");
    return { id, ttl: this.c.lessor.tracker.keepAlive(id, this.c.clock.now()) };
  }

  private leaseTimeToLive(p: unknown): api.LeaseTimeToLiveResponse {
    const { id, keys } = api.parseLeaseTimeToLive(p);
    this.requireLeader();
    const info = this.c.sm.store.timeToLive(id);
    const remaining = this.c.lessor.isLeading ? this.c.lessor.tracker.remaining(id, this.c.clock.now()) : info.ttl;
    return { id, ttl: remaining, grantedTtl: info.ttl, keys: keys ? info.keys : [] };
  }

  private async leaseLeases(): Promise<api.LeaseLeasesResponse> {
    await this.c.driver.readIndex();
    return { leases: this.c.sm.store.leases().map((l) => ({ id: l.id, ttl: l.ttl })) };
  }

  // ---- cluster ----------------------------------------------------------------------------

  private memberList(): api.MemberListResponse {
    return { members: this.c.sm.members.list(), leader: this.c.driver.leader };
  }

  private async memberAdd(p: unknown): Promise<api.MemberAddResponse> {
    const { name, peerUrl } = api.parseMemberAdd(p);
    this.requireLeader();
    const reg = this.c.sm.members;
    if (reg.byName(name)) throw newAlreadyExists({ resource: "members" }, name);
    if (reg.list().some((m) => m.peerUrls.includes(peerUrl))) throw newBadRequest(`memberAdd: peer URL ${peerUrl} is already used by another member`);
    const id = memberIdOf(name);
    await this.c.driver.proposeConfChange({ type: ConfChangeType.AddNode, nodeId: id, context: encodeMemberContext({ name, peerUrl }) });
    const member = reg.get(id) ?? { id, name, peerUrls: [peerUrl], clientUrls: [] };
    return { member, members: reg.list() };
  }

  private async memberRemove(p: unknown): Promise<api.MemberRemoveResponse> {
    const q = api.parseMemberRemove(p);
    this.requireLeader();
    const reg = this.c.sm.members;
    const m = q.id !== undefined ? reg.get(q.id) : reg.byName(q.name!);
    if (!m) throw new StatusError(newStatus("NotFound", `member ${q.id ?? q.name} not found`));
    await this.c.driver.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: m.id });
    return { members: reg.list() };
  }

  // ---- maintenance ------------------------------------------------------------------------

  /** Local status of this member (no Raft round). */
  status(): api.StatusResponse {
    const d = this.c.driver;
    const st = d.node.status();
    const store = this.c.sm.store;
    return {
      name: this.c.name,
      memberId: this.c.id,
      leader: d.leader,
      leaderName: this.c.sm.members.get(d.leader)?.name ?? "",
      role: d.role,
      raftTerm: st.hardState.term,
      raftIndex: st.lastIndex,
      commitIndex: st.hardState.commit,
      raftAppliedIndex: d.applied,
      revision: store.revision,
      compactRevision: store.compactRevision,
      dbSize: store.toSnapshot().length,
      isLearner: st.confState.learners.includes(this.c.id),
    };
  }

  private hashKV(): api.HashKVResponse {
    const store = this.c.sm.store;
    return { memberId: this.c.id, hash: store.hash(), revision: store.revision, compactRevision: store.compactRevision, raftAppliedIndex: this.c.driver.applied };
  }

  private async moveLeader(p: unknown): Promise<api.MoveLeaderResponse> {
    const q = api.parseMoveLeader(p);
    this.requireLeader();
    const reg = this.c.sm.members;
    const target = q.targetId !== undefined ? reg.get(q.targetId) : reg.byName(q.name!);
    if (!target) throw new StatusError(newStatus("NotFound", `member ${q.targetId ?? q.name} not found`));
    if (target.id === this.c.id) return { leader: this.c.id };
    this.c.driver.transferLeader(target.id);
    const deadline = this.c.clock.now() + this.c.electionMs * 3;
    while (this.c.clock.now() < deadline) {
      await this.c.clock.sleep(Math.max(5, Math.floor(this.c.electionMs / 20)));
      if (this.c.driver.leader === target.id) return { leader: target.id };
    }
    throw newTimeout(`leadership did not move to ${target.name} within ${this.c.electionMs * 3} ms`);
  }

  private async snapshot(stream: ServerStream<api.SnapshotItem>): Promise<void> {
    const data = this.c.sm.snapshot(this.c.driver.members);
    const revision = this.c.sm.store.revision;
    const raftIndex = this.c.driver.applied;
    for (let off = 0; off < data.length; off += SNAPSHOT_CHUNK_BYTES) {
      await stream.send({ kind: "chunk", data: data.subarray(off, Math.min(data.length, off + SNAPSHOT_CHUNK_BYTES)) });
    }
    await stream.send({ kind: "done", revision, raftIndex, sha256: createHash("sha256").update(data).digest("hex"), size: data.length });
  }
}

function strip<T extends { type: string }>(r: T): Omit<T, "type"> {
  const { type: _type, ...rest } = r;
  return rest;
}
