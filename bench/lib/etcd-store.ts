/**
 * A 3-member real etcd (v3.4, /usr/bin/etcd) cluster driven through its v3 HTTP/JSON gateway:
 * POST /v3/kv/put and /v3/kv/range with base64 keys and values, /v3/watch as a streamed JSON
 * response, over node:http with a keep-alive Agent (one socket per worker).
 */
import { existsSync, mkdirSync } from "node:fs";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { freePortBlock } from "./net.js";
import { makeTempDir, removeTempDir, sleep, spawnChild, stopChild, type Child } from "./procs.js";
import { parseFsyncTotals, type FsyncTotals, type LoadClient, type StoreUnderTest } from "./store.js";

export const etcdBinary = "/usr/bin/etcd";

export interface EtcdStoreOptions {
  /** e.g. "127.0.161": members on .1, .2, .3 */
  subnet: string;
}

interface Member {
  name: string;
  host: string;
  port: number;
  args: string[];
  child?: Child;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string | undefined) => Buffer.from(s ?? "", "base64").toString();

/** An error answer of the gateway (e.g. 503 "etcdserver: no leader") or a transport failure. */
export class GatewayError extends Error {
  override readonly name = "GatewayError";
}

/** POSTs JSON to one member's gateway and parses the JSON answer. */
function post<T>(agent: Agent, m: { host: string; port: number }, path: string, body: unknown, timeoutMs: number): Promise<T> {
  const data = JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = request(
      { host: m.host, port: m.port, path, method: "POST", agent, timeout: timeoutMs, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) return reject(new GatewayError(`${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          try {
            resolve(JSON.parse(text) as T);
          } catch {
            reject(new GatewayError(`${path}: not JSON: ${text.slice(0, 200)}`));
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new GatewayError(`${path}: timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(data);
  });
}

interface StatusJson {
  header: { member_id: string };
  leader: string;
  raftIndex: string;
  raftAppliedIndex?: string;
}

export class EtcdStore implements StoreUnderTest {
  readonly label = "etcd";
  readonly clientDescription = "v3 HTTP/JSON gateway (grpc-gateway), node:http keep-alive Agent with maxSockets = concurrency";
  readonly memberCount = 3;
  private readonly root = makeTempDir("kubemu-bench-etcd-");
  private members: Member[] = [];
  private readonly agents = new Set<Agent>();
  private readonly probeAgent = new Agent({ keepAlive: false });

  constructor(private readonly o: EtcdStoreOptions) {
    if (!existsSync(etcdBinary)) throw new Error(`${etcdBinary} is not installed`);
  }

  async start(): Promise<void> {
    const ips = [1, 2, 3].map((i) => `${this.o.subnet}.${i}`);
    const port = await freePortBlock(ips, 2);
    const initialCluster = ips.map((ip, i) => `e${i}=http://${ip}:${port + 1}`).join(",");
    this.members = ips.map((ip, i) => {
      const name = `e${i}`;
      const dataDir = join(this.root, name);
      mkdirSync(dataDir, { recursive: true });
      return {
        name,
        host: ip,
        port,
        args: [
          "--name", name,
          "--data-dir", dataDir,
          "--listen-client-urls", `http://${ip}:${port}`,
          "--advertise-client-urls", `http://${ip}:${port}`,
          "--listen-peer-urls", `http://${ip}:${port + 1}`,
          "--initial-advertise-peer-urls", `http://${ip}:${port + 1}`,
          "--initial-cluster", initialCluster,
          "--initial-cluster-state", "new",
          "--initial-cluster-token", "kubemu-bench",
          "--logger", "zap",
          "--log-level", "error",
        ],
      };
    });
    for (let i = 0; i < this.members.length; i++) this.spawn(i);
    await this.leader(20_000);
  }

  private spawn(i: number): void {
    const m = this.members[i]!;
    m.child = spawnChild(`etcd ${m.name}`, etcdBinary, m.args, join(this.root, `${m.name}.out`), { ...process.env, ETCD_UNSUPPORTED_ARCH: process.env.ETCD_UNSUPPORTED_ARCH ?? "" });
  }

  private running(): number[] {
    return this.members.flatMap((m, i) => (m.child && m.child.proc.exitCode === null && m.child.proc.signalCode === null ? [i] : []));
  }

  private status(i: number): Promise<StatusJson> {
    return post<StatusJson>(this.probeAgent, this.members[i]!, "/v3/maintenance/status", {}, 1000);
  }

  async leader(timeoutMs = 10_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    let last = "";
    while (performance.now() < deadline) {
      try {
        const run = this.running();
        const sts = await Promise.all(run.map((i) => this.status(i)));
        const leaders = new Set(sts.map((s) => s.leader));
        const idx = sts.findIndex((s) => s.header.member_id === s.leader);
        if (leaders.size === 1 && idx >= 0 && sts[0]!.leader !== "0") return run[idx]!;
        last = JSON.stringify(sts.map((s) => [s.header.member_id, s.leader]));
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      await sleep(50);
    }
    throw new Error(`etcd: no agreed leader within ${timeoutMs} ms (${last})`);
  }

  /**
   * Sends every request to one member, starting with the leader (as a pinned gRPC client would
   * after its first write); on a failure it moves to the next member for later requests.
   */
  async client(concurrency: number, requestTimeoutMs = 10_000): Promise<LoadClient> {
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    this.agents.add(agent);
    let at = await this.leader();
    const call = async (path: string, body: unknown) => {
      const m = this.members[at]!;
      try {
        await post(agent, m, path, body, requestTimeoutMs);
      } catch (e) {
        if (this.members[at] === m) at = (at + 1) % this.members.length;
        throw e;
      }
    };
    await call("/v3/kv/put", { key: b64("/bench-warmup"), value: b64("x") });
    return {
      put: (k, v) => call("/v3/kv/put", { key: b64(k), value: b64(v) }),
      get: (k) => call("/v3/kv/range", { key: b64(k) }),
      close: async () => {
        agent.destroy();
        this.agents.delete(agent);
      },
    };
  }

  async watch(prefix: string, onEvent: (key: string, value: string) => void): Promise<() => void> {
    const lead = await this.leader();
    const at = this.running().find((i) => i !== lead) ?? lead;
    const m = this.members[at]!;
    const body = JSON.stringify({ create_request: { key: b64(prefix), range_end: prefixEndString(prefix).toString("base64") } });
    const agent = new Agent({ keepAlive: false });
    let created!: () => void;
    let failed!: (e: unknown) => void;
    const ready = new Promise<void>((resolve, reject) => ((created = resolve), (failed = reject)));
    const req = request({ host: m.host, port: m.port, path: "/v3/watch", method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        // The gateway streams one JSON object per line: {"result": {...}}.
        for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line === "") continue;
          const msg = JSON.parse(line) as { result?: { created?: boolean; events?: { type?: string; kv: { key: string; value?: string } }[] } };
          if (msg.result?.created) created();
          for (const e of msg.result?.events ?? []) if (e.type === undefined || e.type === "PUT") onEvent(unb64(e.kv.key), unb64(e.kv.value));
        }
      });
      res.on("error", () => {});
    });
    req.on("error", (e) => failed(e));
    req.write(body);
    await ready;
    return () => {
      req.destroy();
      agent.destroy();
    };
  }

  async walFsync(i: number): Promise<FsyncTotals> {
    const m = this.members[i]!;
    const res = await fetch(`http://${m.host}:${m.port}/metrics`, { signal: AbortSignal.timeout(2000) });
    return parseFsyncTotals(await res.text());
  }

  async kill(i: number): Promise<void> {
    const child = this.members[i]?.child;
    if (child) await stopChild(child, "SIGKILL");
  }

  async restart(i: number): Promise<void> {
    this.spawn(i);
    const deadline = performance.now() + 20_000;
    for (;;) {
      try {
        const lead = await this.leader(2000);
        const [mine, theirs] = [await this.status(i), await this.status(lead)];
        if (Number(mine.raftAppliedIndex ?? mine.raftIndex) >= Number(theirs.raftIndex) - 1) return;
      } catch {
        /* not up yet */
      }
      if (performance.now() > deadline) throw new Error(`etcd: ${this.members[i]!.name} did not catch up after a restart`);
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    for (const a of this.agents) a.destroy();
    this.agents.clear();
    this.probeAgent.destroy();
    await Promise.all(this.members.map((m) => (m.child ? stopChild(m.child, "SIGTERM", 5000) : Promise.resolve())));
    removeTempDir(this.root);
  }
}

/** The range end selecting every key with this prefix (the prefix with its last byte + 1). */
function prefixEndString(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]! += 1;
      return end;
    }
  }
  return Buffer.from([0]);
}
