/**
 * `kubemu etcd ...`: etcdctl-like operator commands against the cluster's store, through
 * EtcdClient. Each command connects, does one thing, prints etcdctl's format and closes.
 */
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { StatusError, type WireTlsOptions } from "@kubemu/common";
import { EtcdClient, prefixEnd, type RangeParams, type StatusResponse } from "@kubemu/etcd-raft";
import type { CommandContext } from "../context.js";
import { CliError, errorMessage } from "../errors.js";
import type { EtcdEndpoint } from "./endpoints.js";
import { borderedTable, eventLines, hexId, humanBytes, kvJson, kvLines, type WriteFormat } from "./format.js";

/** What every etcd command needs: where the members are and how long to wait. */
export interface EtcdTarget {
  endpoints: EtcdEndpoint[];
  /** Deadline per request, including retries and waiting for a connection. */
  timeoutMs: number;
  /** For wss:// members: the store's CA and the launcher's client certificate. */
  tls?: WireTlsOptions | undefined;
}

/** The key (and range end) a KEY argument plus --prefix select, as etcdctl does. */
export function keyRange(key: string, prefix: boolean): { key: string | Uint8Array; rangeEnd?: Uint8Array } {
  if (!prefix) {
    if (key === "") throw new CliError("key must not be empty (use --prefix with \"\" for every key)");
    return { key };
  }
  // etcdctl: an empty prefix means every key, i.e. ["\0", "\0").
  if (key === "") return { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) };
  return { key, rangeEnd: prefixEnd(key) };
}

/** Client URLs of the members whose processes run (stopped ones would only slow failover down). */
function runningUrls(t: EtcdTarget): string[] {
  return t.endpoints.filter((e) => e.state === "running").map((e) => e.url);
}

/** Runs fn with a client over every endpoint, turning failures into one-line CliErrors. */
async function withClient<T>(t: EtcdTarget, fn: (c: EtcdClient) => Promise<T>, urls = runningUrls(t)): Promise<T> {
  if (t.tls === undefined && urls.some((u) => u.startsWith("wss://"))) {
    throw new CliError(`${urls.join(",")} serve TLS with client certificates, and this state dir has no <pki>/etcd/healthcheck-client.crt`);
  }
  const client = new EtcdClient({ endpoints: urls, name: "kubemu-etcdctl", requestTimeoutMs: t.timeoutMs, ...(t.tls ? { tls: t.tls } : {}) });
  try {
    return await fn(client);
  } catch (e) {
    throw failure(e, client, urls, t.timeoutMs);
  } finally {
    await client.close();
  }
}

/** A client-side failure as one readable line. */
function failure(e: unknown, client: EtcdClient, urls: string[], timeoutMs: number): unknown {
  if (e instanceof CliError) return e;
  if (e instanceof StatusError) {
    if (!client.connection.connected && (e.reason === "Timeout" || e.reason === "ServiceUnavailable")) {
      return new CliError(`cannot reach etcd at ${urls.join(",")} (no member answered within ${timeoutMs / 1000} s); is the cluster up? see \`kubemu status\``);
    }
    return new CliError(`etcd: ${e.message}`);
  }
  return new CliError(`etcd: ${errorMessage(e)}`);
}

export interface GetOptions {
  prefix: boolean;
  keysOnly: boolean;
  rev?: number;
  limit?: number;
  write: WriteFormat;
}

/** `etcd get KEY`: key then value lines per key, or etcdctl's JSON with -w json. */
export async function etcdGet(ctx: CommandContext, t: EtcdTarget, key: string, o: GetOptions): Promise<number> {
  const params: RangeParams = {
    ...keyRange(key, o.prefix),
    ...(o.rev !== undefined ? { revision: o.rev } : {}),
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
    ...(o.keysOnly ? { keysOnly: true } : {}),
  };
  const r = await withClient(t, (c) => c.range(params));
  if (o.write === "json") {
    ctx.io.out(JSON.stringify({
      header: { member_id: r.memberId, revision: r.header.revision, raft_term: r.raftTerm },
      kvs: r.kvs.map(kvJson),
      ...(r.more ? { more: true } : {}),
      count: r.count,
    }));
    return 0;
  }
  for (const kv of r.kvs) for (const line of kvLines(kv)) ctx.io.out(line);
  return 0;
}

/** `etcd put KEY VALUE`: prints OK. */
export async function etcdPut(ctx: CommandContext, t: EtcdTarget, key: string, value: string): Promise<number> {
  if (key === "") throw new CliError("key must not be empty");
  await withClient(t, (c) => c.put(key, value));
  ctx.io.out("OK");
  return 0;
}

/** `etcd del KEY [--prefix]`: prints how many keys were deleted. */
export async function etcdDel(ctx: CommandContext, t: EtcdTarget, key: string, prefix: boolean): Promise<number> {
  const { key: k, rangeEnd } = keyRange(key, prefix);
  const r = await withClient(t, (c) => c.delete(k, rangeEnd !== undefined ? { rangeEnd } : {}));
  ctx.io.out(String(r.deleted));
  return 0;
}

/**
 * `etcd watch KEY [--prefix] [--rev N]`: prints each event (PUT/DELETE, key, value) until the
 * signal aborts; the watch itself resumes across member failures.
 */
export async function etcdWatch(ctx: CommandContext, t: EtcdTarget, key: string, o: { prefix: boolean; rev?: number; signal?: AbortSignal }): Promise<number> {
  const { key: k, rangeEnd } = keyRange(key, o.prefix);
  if (o.signal?.aborted) return 0;
  await withClient(t, async (c) => {
    const watch = c.watch(k, { ...(rangeEnd !== undefined ? { rangeEnd } : {}), ...(o.rev !== undefined ? { startRevision: o.rev } : {}), ...(o.signal ? { signal: o.signal } : {}) });
    for await (const resp of watch) {
      for (const e of resp.events) for (const line of eventLines(e)) ctx.io.out(line);
    }
  });
  return 0;
}

/** `etcd member list`: etcdctl's "ID, started, NAME, PEER ADDRS, CLIENT ADDRS, IS LEARNER" lines, or a table / JSON. */
export async function etcdMemberList(ctx: CommandContext, t: EtcdTarget, write: WriteFormat): Promise<number> {
  const r = await withClient(t, (c) => c.memberList());
  if (write === "json") {
    ctx.io.out(JSON.stringify({
      leader: r.leader,
      members: r.members.map((m) => ({ ID: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLeader: m.id === r.leader })),
    }));
    return 0;
  }
  const rows = r.members.map((m) => [hexId(m.id), m.clientUrls.length > 0 ? "started" : "unstarted", m.name, m.peerUrls.join(","), m.clientUrls.join(","), "false"]);
  if (write === "table") {
    for (const line of borderedTable(["ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER"], rows)) ctx.io.out(line);
  } else {
    for (const row of rows) ctx.io.out(row.join(", "));
  }
  return 0;
}

/** One member's status, or why it could not be had. */
type EndpointResult = { endpoint: EtcdEndpoint; status: StatusResponse } | { endpoint: EtcdEndpoint; error: string };

/**
 * `etcd endpoint status`: asks each member itself (one client per endpoint, in parallel) and
 * prints one row per member; a member that does not answer gets a line on stderr and exit 1.
 */
export async function etcdEndpointStatus(ctx: CommandContext, t: EtcdTarget, write: WriteFormat): Promise<number> {
  const results = await Promise.all(
    t.endpoints.map(async (endpoint): Promise<EndpointResult> => {
      if (endpoint.state !== "running") return { endpoint, error: `its process is ${endpoint.state}` };
      try {
        return { endpoint, status: await withClient(t, (c) => c.status(), [endpoint.url]) };
      } catch (e) {
        return { endpoint, error: errorMessage(e) };
      }
    }),
  );
  const ok = results.flatMap((r) => ("status" in r ? [r] : []));
  for (const r of results) if ("error" in r) ctx.io.err(`Failed to get the status of endpoint ${r.endpoint.url} (${r.endpoint.name}): ${r.error}`);
  const hostPort = (url: string) => url.replace(/^wss?:\/\//, "");
  if (write === "json") {
    ctx.io.out(JSON.stringify(ok.map(({ endpoint, status: s }) => ({
      Endpoint: hostPort(endpoint.url),
      Status: {
        header: { member_id: s.memberId, revision: s.revision, raft_term: s.raftTerm },
        name: s.name,
        dbSize: s.dbSize,
        leader: s.leader,
        isLeader: s.leader !== 0 && s.leader === s.memberId,
        raftIndex: s.raftIndex,
        raftTerm: s.raftTerm,
        raftAppliedIndex: s.raftAppliedIndex,
        isLearner: s.isLearner,
      },
    }))));
  } else {
    const rows = ok.map(({ endpoint, status: s }) => [
      hostPort(endpoint.url),
      hexId(s.memberId),
      s.name,
      humanBytes(s.dbSize),
      String(s.leader !== 0 && s.leader === s.memberId),
      String(s.isLearner),
      String(s.raftTerm),
      String(s.raftIndex),
      String(s.raftAppliedIndex),
      String(s.revision),
    ]);
    if (write === "table") {
      for (const line of borderedTable(["ENDPOINT", "ID", "NAME", "DB SIZE", "IS LEADER", "IS LEARNER", "RAFT TERM", "RAFT INDEX", "RAFT APPLIED INDEX", "REVISION"], rows)) ctx.io.out(line);
    } else {
      for (const row of rows) ctx.io.out(row.join(", "));
    }
  }
  return ok.length === results.length ? 0 : 1;
}

/** `etcd snapshot save FILE`: downloads a checked snapshot and writes it atomically. */
export async function etcdSnapshotSave(ctx: CommandContext, t: EtcdTarget, file: string): Promise<number> {
  const snap = await withClient(t, (c) => c.snapshot());
  const part = `${file}.part`;
  try {
    writeFileSync(part, snap.data);
    renameSync(part, file);
  } catch (e) {
    rmSync(part, { force: true });
    throw new CliError(`cannot write snapshot to ${file}: ${errorMessage(e)}`);
  }
  ctx.io.out(`Snapshot saved at ${file} (${humanBytes(snap.data.length)}, revision ${snap.revision}, raft index ${snap.raftIndex})`);
  return 0;
}
