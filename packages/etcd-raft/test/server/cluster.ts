/**
 * Test helper: runs kubemu-etcd members as real processes (dist/server/main.js — run `npx tsc -b`
 * first) on a private loopback subnet, and kills every process it started by pid in cleanup().
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EtcdClient, type StatusResponse } from "../../src/index.js";

export const MAIN_JS = fileURLToPath(new URL("../../dist/server/main.js", import.meta.url));

export interface MemberSpec {
  name: string;
  ip: string;
  clientUrl: string;
  peerUrl: string;
  controlUrl: string;
  dataDir: string;
}

export interface RunningMember extends MemberSpec {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: string[];
}

export interface ClusterOptions {
  /** e.g. "127.0.77": members get .1, .2, ... */
  subnet: string;
  size: number;
  snapshotCount?: number;
  extraArgs?: string[];
}

export class TestCluster {
  readonly specs: MemberSpec[] = [];
  readonly running = new Map<string, RunningMember>();
  private root = "";
  private readonly clients: EtcdClient[] = [];

  constructor(private readonly opts: ClusterOptions) {
    if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run "npx tsc -b" before these tests`);
  }

  async init(): Promise<this> {
    this.root = await mkdtemp(join(tmpdir(), "kubemu-etcd-test-"));
    for (let i = 0; i < this.opts.size; i++) this.specs.push(this.spec(i));
    return this;
  }

  /** The spec for member number i (0-based), created on demand (e.g. for a member added later). */
  spec(i: number): MemberSpec {
    const existing = this.specs[i];
    if (existing) return existing;
    const ip = `${this.opts.subnet}.${i + 1}`;
    return {
      name: `etcd-${i}`,
      ip,
      clientUrl: `ws://${ip}:2379`,
      peerUrl: `ws://${ip}:2380`,
      controlUrl: `http://${ip}:2381`,
      dataDir: join(this.root, `etcd-${i}`),
    };
  }

  initialCluster(specs: MemberSpec[] = this.specs): string {
    return specs.map((s) => `${s.name}=${s.peerUrl}`).join(",");
  }

  /** Starts a member process (new cluster unless state is "existing"). */
  start(s: MemberSpec, opts: { state?: "new" | "existing"; initialCluster?: string; extraArgs?: string[] } = {}): RunningMember {
    const args = [
      MAIN_JS,
      "--name", s.name,
      "--data-dir", s.dataDir,
      "--listen-client-urls", s.clientUrl,
      "--listen-peer-urls", s.peerUrl,
      "--control-url", s.controlUrl,
      "--initial-cluster", opts.initialCluster ?? this.initialCluster(),
      "--initial-cluster-state", opts.state ?? "new",
      "--log-level", process.env.ETCD_TEST_LOG_LEVEL ?? "warn",
      ...(this.opts.snapshotCount ? ["--snapshot-count", String(this.opts.snapshotCount)] : []),
      ...(this.opts.extraArgs ?? []),
      ...(opts.extraArgs ?? []),
    ];
    const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    const output: string[] = [];
    proc.stdout!.on("data", (d: Buffer) => output.push(d.toString()));
    proc.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.on("exit", (code, signal) => resolve({ code, signal })),
    );
    const m: RunningMember = { ...s, proc, exited, output };
    this.running.set(s.name, m);
    return m;
  }

  startAll(): void {
    for (const s of this.specs) this.start(s);
  }

  /** Sends a signal to a member and waits for it to exit. */
  async kill(name: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const m = this.running.get(name);
    if (!m) return;
    this.running.delete(name);
    if (m.proc.exitCode === null && m.proc.signalCode === null) m.proc.kill(signal);
    await m.exited;
  }

  /** A client on the given members' client URLs (default: all), closed in cleanup(). */
  client(names?: string[], timeoutMs = 10_000): EtcdClient {
    const specs = names ? names.map((n) => this.specs.find((s) => s.name === n)!).filter((s) => s !== undefined) : this.specs;
    const c = new EtcdClient({ endpoints: specs.map((s) => s.clientUrl), requestTimeoutMs: timeoutMs, name: "test-client" });
    this.clients.push(c);
    return c;
  }

  /** Status of one member straight from it. */
  async status(name: string): Promise<StatusResponse> {
    const c = this.client([name], 3000);
    try {
      return await c.status();
    } finally {
      await c.close();
    }
  }

  /** Waits until every running member agrees on one leader; returns its name. */
  async waitForLeader(timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      try {
        const sts = await Promise.all([...this.running.keys()].map((n) => this.status(n)));
        const leaders = new Set(sts.map((s) => s.leaderName));
        const name = sts[0]?.leaderName ?? "";
        if (leaders.size === 1 && name !== "" && this.running.has(name)) return name;
        last = JSON.stringify(sts.map((s) => [s.name, s.role, s.leaderName, s.raftTerm]));
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      await sleep(100);
    }
    const raw = await Promise.all(
      [...this.running.values()].map((m) =>
        fetch(`${m.controlUrl}/kubemu/status`).then(
          (r) => r.text(),
          (e: unknown) => String(e),
        ),
      ),
    );
    throw new Error(`no agreed leader within ${timeoutMs} ms: ${last}; control status: ${raw.join(" ")}`);
  }

  /** Waits until every running member has applied at least `index` and has the same MVCC hash. */
  async waitConverged(timeoutMs = 15_000): Promise<{ hash: string; revision: number }> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      try {
        const names = [...this.running.keys()];
        const hashes = await Promise.all(
          names.map(async (n) => {
            const c = this.client([n], 3000);
            try {
              return await c.hashKV();
            } finally {
              await c.close();
            }
          }),
        );
        const sts = await Promise.all(names.map((n) => this.status(n)));
        const commit = Math.max(...sts.map((s) => s.commitIndex));
        if (new Set(hashes.map((h) => h.hash)).size === 1 && hashes.every((h) => h.raftAppliedIndex >= commit)) {
          return { hash: hashes[0]!.hash, revision: hashes[0]!.revision };
        }
        last = JSON.stringify(hashes.map((h, i) => [names[i], h.revision, h.raftAppliedIndex, h.hash.slice(0, 8)]));
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      await sleep(150);
    }
    throw new Error(`members did not converge within ${timeoutMs} ms: ${last}`);
  }

  /** Kills every process this cluster started (by pid), closes clients, removes data dirs. */
  async cleanup(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.close().catch(() => {})));
    const all = [...this.running.values()];
    this.running.clear();
    for (const m of all) {
      if (m.proc.exitCode === null && m.proc.signalCode === null) m.proc.kill("SIGKILL");
    }
    await Promise.all(all.map((m) => m.exited));
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
