/**
 * Peer transport: sends Raft messages to other members over the wire protocol and receives
 * theirs on this member's peer URL.
 *
 * One WireClient per peer, named after this member so fault rules on the receiving side match
 * by process name. Messages for one peer produced by one Ready go out as one batch on its single
 * connection, so order is preserved. Batches are one-way (wire notify): Raft's own acks and
 * timers recover lost messages, so a reply frame per batch would only double the socket writes.
 * A peer that is not connected or has too much unsent gets nothing and is reported unreachable.
 * Batches carrying a snapshot are requests, so a failed snapshot send is reported and retried.
 */
import { type Clock, type FaultInjector, type Logger, type Rng, WireClient, WireServer, type WireTlsOptions, newBadRequest } from "@kubemu/common";
import { PEER_METHOD_MESSAGES } from "../api/index.js";
import { type Message, MessageType, MESSAGE_TYPE_COUNT } from "../raft/index.js";

/** What the transport tells its owner. */
export interface TransportHandler {
  /** A message from the network for this member. */
  receive(m: Message): void;
  reportUnreachable(id: number): void;
  reportSnapshot(id: number, ok: boolean): void;
}

export interface TransportOptions {
  selfId: number;
  selfName: string;
  clock: Clock;
  rng: Rng;
  log: Logger;
  faults: FaultInjector;
  /** This member's certificate and the peers' CA, for wss:// peer URLs (undefined: plain peers). */
  tls?: WireTlsOptions | undefined;
  handler: TransportHandler;
  /** Most unanswered snapshot batches per peer before new ones are dropped. */
  maxInflightBatches?: number;
  /** Most bytes waiting unsent to one peer before new batches are dropped (a stalled peer). */
  maxBufferedBytes?: number;
}

interface Peer {
  id: number;
  url: string;
  client: WireClient;
  inflight: number;
}

export class PeerTransport {
  private readonly peers = new Map<number, Peer>();
  private readonly maxInflight: number;
  private readonly maxBuffered: number;
  /** Counts for metrics. */
  readonly stats = { sent: 0, dropped: 0, received: 0, rejected: 0 };

  constructor(private readonly opts: TransportOptions) {
    this.maxInflight = opts.maxInflightBatches ?? 512;
    this.maxBuffered = opts.maxBufferedBytes ?? 4 * MAX_BATCH_BYTES;
  }

  /** Registers the peer-message handler on the peer WireServer. */
  serve(server: WireServer): void {
    server.handle(PEER_METHOD_MESSAGES, (params: unknown) => {
      const msgs = parseBatch(params, this.opts.selfId);
      for (const m of msgs) {
        this.stats.received++;
        this.opts.handler.receive(m);
      }
      return msgs.length;
    });
  }

  /**
   * Adds or updates a peer's URL (no-op for this member or an unchanged URL). The scheme follows
   * this member's own peer TLS: a registry written before the cluster moved to TLS (or back) still
   * says ws:// (wss://), and all members of a cluster share one mode.
   */
  setPeer(id: number, registered: string): void {
    if (id === this.opts.selfId) return;
    const url = this.opts.tls ? registered.replace(/^ws:\/\//, "wss://") : registered.replace(/^wss:\/\//, "ws://");
    const cur = this.peers.get(id);
    if (cur && cur.url === url) return;
    if (cur) void cur.client.close();
    const client = new WireClient({
      name: this.opts.selfName,
      endpoints: [url],
      clock: this.opts.clock,
      rng: this.opts.rng.fork(),
      logger: this.opts.log,
      faults: this.opts.faults,
      ...(this.opts.tls ? { tls: this.opts.tls } : {}),
      requestTimeoutMs: 5000,
      connectTimeoutMs: 1000,
      backoffInitialMs: 50,
      backoffMaxMs: 500,
      maxRedirects: 0,
      pingIntervalMs: 500,
      deadAfterMs: 2000,
    });
    client.on("connectError", () => {});
    this.peers.set(id, { id, url, client, inflight: 0 });
  }

  removePeer(id: number): void {
    const p = this.peers.get(id);
    if (!p) return;
    this.peers.delete(id);
    void p.client.close();
  }

  hasPeer(id: number): boolean {
    return this.peers.has(id);
  }

  /** Sends messages, one batch per destination. Never throws. */
  send(messages: readonly Message[]): void {
    const byPeer = new Map<number, Message[]>();
    for (const m of messages) {
      let list = byPeer.get(m.to);
      if (!list) byPeer.set(m.to, (list = []));
      list.push(m);
    }
    for (const [to, list] of byPeer) for (const batch of splitBySize(list, MAX_BATCH_BYTES)) this.sendBatch(to, batch);
  }

  private sendBatch(to: number, batch: Message[]): void {
    const hasSnap = batch.some((m) => m.type === MessageType.MsgSnap);
    const peer = this.peers.get(to);
    if (!peer || !peer.client.state.connected || peer.inflight >= this.maxInflight) {
      this.stats.dropped += batch.length;
      this.opts.handler.reportUnreachable(to);
      if (hasSnap) this.opts.handler.reportSnapshot(to, false);
      return;
    }
    if (!hasSnap) {
      if (peer.client.notify(PEER_METHOD_MESSAGES, { to, msgs: batch }, { maxBufferedBytes: this.maxBuffered })) {
        this.stats.sent += batch.length;
      } else {
        this.stats.dropped += batch.length;
        this.opts.handler.reportUnreachable(to);
      }
      return;
    }
    peer.inflight++;
    this.stats.sent += batch.length;
    peer.client.request(PEER_METHOD_MESSAGES, { to, msgs: batch }, { timeoutMs: 30_000 }).then(
      () => {
        peer.inflight--;
      },
      (e: unknown) => {
        peer.inflight--;
        this.opts.log.debug({ peer: to, err: e instanceof Error ? e.message : String(e) }, "peer send failed");
        this.opts.handler.reportUnreachable(to);
        this.opts.handler.reportSnapshot(to, false);
      },
    );
  }

  /** Sends one request to a peer's peer URL (e.g. asking the leader to publish this member's client URL). */
  call(to: number, method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    const peer = this.peers.get(to);
    if (!peer) return Promise.reject(new Error(`unknown peer ${to}`));
    return peer.client.request(method, params, { timeoutMs });
  }

  async close(): Promise<void> {
    const all = [...this.peers.values()];
    this.peers.clear();
    await Promise.all(all.map((p) => p.client.close()));
  }
}

/** Payload bytes per request, well under the wire frame limit (a Ready may hold many MsgApps). */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

function messageBytes(m: Message): number {
  let n = 64 + (m.snapshotData?.length ?? 0) + (m.context?.length ?? 0);
  for (const e of m.entries) n += e.data.length + 24;
  return n;
}

/** Splits messages, in order, into runs of at most maxBytes (a single larger message goes alone). */
export function splitBySize(msgs: readonly Message[], maxBytes: number): Message[][] {
  const out: Message[][] = [];
  let cur: Message[] = [];
  let size = 0;
  for (const m of msgs) {
    const n = messageBytes(m);
    if (cur.length > 0 && size + n > maxBytes) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(m);
    size += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

// ---- validation of received batches ----------------------------------------------------

const NUM_FIELDS = ["to", "from", "term", "logTerm", "index", "commit", "rejectHint"] as const;

function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

/** Checks a received batch and rebuilds it as Messages. Throws BadRequest naming the problem. */
export function parseBatch(params: unknown, selfId: number): Message[] {
  if (typeof params !== "object" || params === null) throw newBadRequest("raft.messages: params must be an object");
  const msgs = (params as Record<string, unknown>)["msgs"];
  if (!Array.isArray(msgs)) throw newBadRequest("raft.messages: msgs must be an array");
  return msgs.map((raw, i) => parseMessage(raw, `msgs[${i}]`, selfId));
}

function parseMessage(raw: unknown, where: string, selfId: number): Message {
  if (typeof raw !== "object" || raw === null) throw newBadRequest(`raft.messages: ${where} must be an object`);
  const o = raw as Record<string, unknown>;
  const type = o["type"];
  if (typeof type !== "number" || !Number.isInteger(type) || type < 0 || type >= MESSAGE_TYPE_COUNT) {
    throw newBadRequest(`raft.messages: ${where}.type is not a message type`);
  }
  for (const f of NUM_FIELDS) if (!isIndex(o[f])) throw newBadRequest(`raft.messages: ${where}.${f} must be a non-negative integer`);
  if (o["to"] !== selfId) throw newBadRequest(`raft.messages: ${where} is addressed to ${String(o["to"])}, not this member (${selfId})`);
  if (typeof o["reject"] !== "boolean") throw newBadRequest(`raft.messages: ${where}.reject must be a boolean`);
  const entries = o["entries"];
  if (!Array.isArray(entries)) throw newBadRequest(`raft.messages: ${where}.entries must be an array`);
  const m: Message = {
    type: type as MessageType,
    to: o["to"] as number,
    from: o["from"] as number,
    term: o["term"] as number,
    logTerm: o["logTerm"] as number,
    index: o["index"] as number,
    commit: o["commit"] as number,
    reject: o["reject"],
    rejectHint: o["rejectHint"] as number,
    entries: entries.map((e, j) => {
      const eo = e as Record<string, unknown> | null;
      if (typeof eo !== "object" || eo === null || !isIndex(eo["term"]) || !isIndex(eo["index"]) || (eo["type"] !== 0 && eo["type"] !== 1) || !isBytes(eo["data"])) {
        throw newBadRequest(`raft.messages: ${where}.entries[${j}] is malformed`);
      }
      return { term: eo["term"], index: eo["index"], type: eo["type"], data: eo["data"] };
    }),
  };
  if (o["context"] !== undefined && o["context"] !== null) {
    if (!isBytes(o["context"])) throw newBadRequest(`raft.messages: ${where}.context must be bytes`);
    m.context = o["context"];
  }
  if (type === MessageType.MsgSnap) {
    const s = o["snapshot"] as Record<string, unknown> | undefined;
    const c = o["chunk"] as Record<string, unknown> | undefined;
    const cs = s?.["confState"] as Record<string, unknown> | undefined;
    const ids = (v: unknown) => Array.isArray(v) && v.every((x) => isIndex(x) && x > 0);
    if (!s || !isIndex(s["index"]) || !isIndex(s["term"]) || !cs || !ids(cs["voters"]) || !ids(cs["learners"])) {
      throw newBadRequest(`raft.messages: ${where}.snapshot metadata is malformed`);
    }
    if (!c || !isIndex(c["index"]) || !isIndex(c["count"]) || !isIndex(c["totalBytes"]) || !isBytes(o["snapshotData"])) {
      throw newBadRequest(`raft.messages: ${where} snapshot chunk is malformed`);
    }
    m.snapshot = { index: s["index"], term: s["term"], confState: { voters: cs["voters"] as number[], learners: cs["learners"] as number[] } };
    m.chunk = { index: c["index"], count: c["count"], totalBytes: c["totalBytes"] };
    m.snapshotData = o["snapshotData"];
  }
  return m;
}
