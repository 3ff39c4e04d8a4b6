/** A 3-member kubemu-etcd cluster (dist/server/main.js) driven through EtcdClient. */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EtcdClient, prefixEnd } from "@kubemu/etcd-raft";
import { freePortBlock } from "./net.js";
import { makeTempDir, removeTempDir, sleep, spawnChild, stopChild, type Child } from "./procs.js";
import { parseFsyncTotals, type FsyncTotals, type LoadClient, type StoreUnderTest } from "./store.js";

const mainJs = fileURLToPath(new URL("../../packages/etcd-raft/dist/server/main.js", import.meta.url));

export interface KubemuStoreOptions {
  /** e.g. "127.0.160": members on .1, .2, .3 */
  subnet: string;
  profile: "fast" | "realistic";
  /** Directory for V8 CPU profiles of every member (written at a graceful stop), or undefined. */
  cpuProfDir?: string;
}

interface Member {
  name: string;
  clientUrl: string;
  controlUrl: string;
  args: string[];
  child?: Child;
}

/** The fields of a member's GET /kubemu/status this benchmark reads. */
interface ControlStatus {
  name: string;
  role: string;
  /** Name of the member it follows, "" when it knows no leader. */
  leader: string;
  commitIndex: number;
  appliedIndex: number;
}

export class KubemuStore implements StoreUnderTest {
  readonly label = "kubemu";
  readonly clientDescription = "EtcdClient (one WebSocket connection, msgpack frames, requests multiplexed)";
  readonly memberCount = 3;
  private readonly root = makeTempDir("kubemu-bench-");
  private members: Member[] = [];
  private readonly clients = new Set<EtcdClient>();

  constructor(private readonly o: KubemuStoreOptions) {
    if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run "npx tsc -b" first`);
  }

  async start(): Promise<void> {
    const ips = [1, 2, 3].map((i) => `${this.o.subnet}.${i}`);
    const port = await freePortBlock(ips, 3);
    const initialCluster = ips.map((ip, i) => `etcd-${i}=ws://${ip}:${port + 1}`).join(",");
    this.members = ips.map((ip, i) => {
      const name = `etcd-${i}`;
      const dataDir = join(this.root, name);
      mkdirSync(dataDir, { recursive: true });
      return {
        name,
        clientUrl: `ws://${ip}:${port}`,
        controlUrl: `http://${ip}:${port + 2}`,
        args: [
          ...(this.o.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${this.o.cpuProfDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []),
          mainJs,
          "--name", name,
          "--data-dir", dataDir,
          "--listen-client-urls", `ws://${ip}:${port}`,
          "--listen-peer-urls", `ws://${ip}:${port + 1}`,
          "--control-url", `http://${ip}:${port + 2}`,
          "--initial-cluster", initialCluster,
          "--profile", this.o.profile,
          "--log-level", "warn",
        ],
      };
    });
    for (let i = 0; i < this.members.length; i++) this.spawn(i);
    await this.leader(20_000);
  }

  private spawn(i: number): void {
    const m = this.members[i]!;
    m.child = spawnChild(`kubemu ${m.name}`, process.execPath, m.args, join(this.root, `${m.name}.out`));
  }

  private newClient(endpoints: string[], timeoutMs = 10_000): EtcdClient {
    const c = new EtcdClient({ endpoints, name: "bench-client", requestTimeoutMs: timeoutMs });
    this.clients.add(c);
    return c;
  }

  private async closeClient(c: EtcdClient): Promise<void> {
    this.clients.delete(c);
    await c.close().catch(() => {});
  }

  private running(): number[] {
    return this.members.flatMap((m, i) => (m.child && m.child.proc.exitCode === null && m.child.proc.signalCode === null ? [i] : []));
  }

  /**
   * A member's /kubemu/status (control URL). Used instead of the client API's status, whose
   * dbSize serializes the whole store on every call (kv-service.ts status()).
   */
  private async controlStatus(i: number): Promise<ControlStatus> {
    const res = await fetch(`${this.members[i]!.controlUrl}/kubemu/status`, { signal: AbortSignal.timeout(1000) });
    if (!res.ok) throw new Error(`${this.members[i]!.name}: /kubemu/status answered ${res.status}`);
    return (await res.json()) as ControlStatus;
  }

  async leader(timeoutMs = 10_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    let last = "";
    while (performance.now() < deadline) {
      try {
        const sts = await Promise.all(this.running().map((i) => this.controlStatus(i)));
        const names = new Set(sts.map((s) => s.leader));
        const idx = this.members.findIndex((m) => m.name === sts[0]?.leader);
        if (names.size === 1 && idx >= 0 && this.running().includes(idx)) return idx;
        last = JSON.stringify(sts.map((s) => [s.name, s.role, s.leader]));
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      await sleep(50);
    }
    throw new Error(`kubemu: no agreed leader within ${timeoutMs} ms (${last})`);
  }

  async client(_concurrency: number, requestTimeoutMs = 10_000): Promise<LoadClient> {
    const c = this.newClient(this.members.map((m) => m.clientUrl), requestTimeoutMs);
    await c.put("/bench-warmup", "x"); // lands the connection on the leader
    return {
      put: async (k, v) => void (await c.put(k, v)),
      get: async (k) => void (await c.get(k)),
      close: () => this.closeClient(c),
    };
  }

  async watch(prefix: string, onEvent: (key: string, value: string) => void): Promise<() => void> {
    const lead = await this.leader();
    const at = this.running().find((i) => i !== lead) ?? lead;
    const c = this.newClient([this.members[at]!.clientUrl]);
    // Start right after the current revision, so no put made after this call is missed.
    const { header } = await c.range({ key: prefix, rangeEnd: prefixEnd(prefix), countOnly: true });
    const w = c.watch(prefix, { rangeEnd: prefixEnd(prefix), startRevision: header.revision + 1 });
    void (async () => {
      try {
        for await (const resp of w) {
          for (const e of resp.events) if (e.type === "PUT") onEvent(Buffer.from(e.kv.key).toString(), Buffer.from(e.kv.value).toString());
        }
      } catch {
        /* cancelled or the member went away */
      }
    })();
    return () => {
      w.cancel();
      void this.closeClient(c);
    };
  }

  async walFsync(i: number): Promise<FsyncTotals> {
    const res = await fetch(`${this.members[i]!.controlUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
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
        const [mine, theirs] = [await this.controlStatus(i), await this.controlStatus(lead)];
        if (mine.leader !== "" && mine.appliedIndex >= theirs.commitIndex - 1) return;
      } catch {
        /* not up yet */
      }
      if (performance.now() > deadline) throw new Error(`kubemu: ${this.members[i]!.name} did not catch up after a restart`);
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.clients].map((c) => this.closeClient(c)));
    // SIGTERM first so members with --cpu-prof write their profiles.
    await Promise.all(this.members.map((m) => (m.child ? stopChild(m.child, "SIGTERM", 5000) : Promise.resolve())));
    removeTempDir(this.root);
  }
}
