/**
 * The conformance suite against the real replicated store: one kubemu-etcd process (built
 * dist/; run `npx tsc -b` first), reached through EtcdClient — directly, and through the
 * watch cache. The process is killed by pid in afterAll.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EtcdClient } from "@kubemu/etcd-raft";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdBackend, KvStorageFactory } from "../../src/storage/index.js";
import { runStorageConformance } from "./conformance.js";
import { pod, summary, WatchReader } from "./helpers.js";

const MAIN_JS = fileURLToPath(new URL("../../../etcd-raft/dist/server/main.js", import.meta.url));
const IP = "127.0.66.1";

let proc: ChildProcess | undefined;
let dataRoot = "";
let endpoint = "";
const output: string[] = [];

/** A port free on IP right now (bind to 0, read it, release it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, IP, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

let args: string[] = [];

function startEtcd(): void {
  proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  proc.stdout!.on("data", (d: Buffer) => output.push(d.toString()));
  proc.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
}

async function killEtcd(): Promise<void> {
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((r) => proc!.once("exit", r));
    process.kill(proc.pid!, "SIGKILL");
    await exited;
  }
}

beforeAll(async () => {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run "npx tsc -b" first`);
  dataRoot = await mkdtemp(join(tmpdir(), "kubemu-apiserver-storage-"));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  endpoint = `ws://${IP}:${clientPort}`;
  // prettier-ignore
  args = [
    MAIN_JS,
    "--name", "etcd-0",
    "--data-dir", join(dataRoot, "etcd-0"),
    "--listen-client-urls", endpoint,
    "--listen-peer-urls", `ws://${IP}:${peerPort}`,
    "--initial-cluster", `etcd-0=ws://${IP}:${peerPort}`,
    "--log-level", "warn",
  ];
  startEtcd();
  // Ready when a write goes through (a leader is elected).
  const c = new EtcdClient({ endpoints: [endpoint], requestTimeoutMs: 15_000, name: "storage-test" });
  try {
    await c.put("/kubemu-test/ready", "1");
  } catch (e) {
    throw new Error(`kubemu-etcd did not come up: ${String(e)}\n${output.join("")}`);
  } finally {
    await c.close();
  }
}, 30_000);

afterAll(async () => {
  await killEtcd();
  if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
});

function backend(): EtcdBackend {
  return new EtcdBackend(new EtcdClient({ endpoints: [endpoint], requestTimeoutMs: 5000, name: "storage-test" }));
}

runStorageConformance("KvStorage over kubemu-etcd", async () => {
  const factory = new KvStorageFactory({ backend: backend(), watchCache: false, compactionWindow: 0, bookmarkIntervalMs: 100 });
  return { factory, close: () => factory.close(), bookmarkIntervalMs: 100 };
});

const WINDOW = 8;
runStorageConformance("Cacher over kubemu-etcd", async () => {
  const factory = new KvStorageFactory({
    backend: backend(),
    compactionWindow: 0,
    bookmarkIntervalMs: 100,
    cacher: { windowEvents: WINDOW, bookmarkIntervalMs: 100, progressIntervalMs: 50, freshWaitMs: 500 },
  });
  return { factory, settle: () => factory.waitForCaches(), close: () => factory.close(), bookmarkIntervalMs: 100, writesToExpire: WINDOW + 2 };
});

describe("kubemu-etcd restart under watches", () => {
  it("cached and store-backed watches resume after a SIGKILL + restart of the store; nothing acknowledged is lost", async () => {
    const factory = new KvStorageFactory({ backend: backend(), cacher: { progressIntervalMs: 50 } });
    try {
      const pods = factory.forResource({ resource: "pods" });
      await factory.waitForCaches();
      const rv = await pods.currentResourceVersion();
      const cached = new WatchReader(pods.watch("/registry/pods/restart/", { recursive: true, resourceVersion: rv }));
      const direct = new WatchReader(pods.watch("/registry/pods/restart/", { recursive: true, sendInitialEvents: false }));
      await new Promise((r) => setTimeout(r, 100));
      const a = await pods.create("/registry/pods/restart/a", pod("restart", "a"));
      expect((await cached.take(1)).map(summary)).toEqual([`ADDED a@${a.metadata.resourceVersion}`]);
      expect((await direct.take(1)).map(summary)).toEqual([`ADDED a@${a.metadata.resourceVersion}`]);
      await killEtcd();
      startEtcd();
      const b = await pods.create("/registry/pods/restart/b", pod("restart", "b")); // the client retries until a leader is back
      expect((await cached.take(1, 10_000)).map(summary)).toEqual([`ADDED b@${b.metadata.resourceVersion}`]);
      expect((await direct.take(1, 10_000)).map(summary)).toEqual([`ADDED b@${b.metadata.resourceVersion}`]);
      const list = await pods.list("/registry/pods/restart/", { recursive: true });
      expect(list.items.map((i) => i.metadata.name)).toEqual(["a", "b"]);
      cached.watch.stop();
      direct.watch.stop();
    } finally {
      await factory.close();
    }
  }, 30_000);
});
