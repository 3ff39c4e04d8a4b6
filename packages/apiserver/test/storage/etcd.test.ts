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
import { afterAll, beforeAll } from "vitest";
import { EtcdBackend, KvStorageFactory } from "../../src/storage/index.js";
import { runStorageConformance } from "./conformance.js";

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

beforeAll(async () => {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run "npx tsc -b" first`);
  dataRoot = await mkdtemp(join(tmpdir(), "kubemu-apiserver-storage-"));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  endpoint = `ws://${IP}:${clientPort}`;
  proc = spawn(
    process.execPath,
    [
      MAIN_JS,
      "--name", "etcd-0",
      "--data-dir", join(dataRoot, "etcd-0"),
      "--listen-client-urls", endpoint,
      "--listen-peer-urls", `ws://${IP}:${peerPort}`,
      "--initial-cluster", `etcd-0=ws://${IP}:${peerPort}`,
      "--log-level", "warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  proc.stdout!.on("data", (d: Buffer) => output.push(d.toString()));
  proc.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
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
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((r) => proc!.once("exit", r));
    process.kill(proc.pid!, "SIGKILL");
    await exited;
  }
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
