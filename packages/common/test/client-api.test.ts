/**
 * ApiClient, informers and LeaderElector against real processes: 3 kubemu-etcd members and 3
 * kubemu-apiservers (two on plain ws://, one on wss:// with client certificates) from the built
 * dist/ on 127.0.211.0/24, every one stopped by pid afterwards. Run `npx tsc -b` first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ApiClient,
  createCertificateAuthority,
  deletedObject,
  EventRecorder,
  eventResourceVersion,
  InformerFactory,
  isAlreadyExists,
  isConflict,
  isNotFound,
  issueCertificate,
  Resources,
  type CoreEvent,
  type KeyPair,
  type KubeObject,
  type LeaderElectionRecord,
} from "@kubemu/common";

const ETCD_MAIN = fileURLToPath(new URL("../../etcd-raft/dist/server/main.js", import.meta.url));
const APISERVER_MAIN = fileURLToPath(new URL("../../apiserver/dist/main.js", import.meta.url));
const ELECTOR = fileURLToPath(new URL("./fixtures/leader-elector.ts", import.meta.url));
const NET = "127.0.211";
const ETCD = [1, 2, 3].map((i) => ({ name: `etcd-${i - 1}`, ip: `${NET}.${i}` }));
const PLAIN = [
  { name: "apiserver-0", ip: `${NET}.11` },
  { name: "apiserver-1", ip: `${NET}.12` },
];
const TLS = { name: "apiserver-tls", ip: `${NET}.21` };
const wireUrl = (ip: string) => `ws://${ip}:6443/kubemu/wire`;
const ENDPOINTS = PLAIN.map((a) => wireUrl(a.ip));

interface Proc {
  name: string;
  args: string[];
  child: ChildProcess;
  output: string[];
  exited: Promise<void>;
}

const procs: Proc[] = [];
const clients: ApiClient[] = [];
let root = "";
let pki: { ca: KeyPair; serving: KeyPair; admin: KeyPair; other: KeyPair } | undefined;

function spawnProc(name: string, args: string[]): Proc {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  child.stdout!.on("data", (d: Buffer) => output.push(d.toString()));
  child.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const p = { name, args, child, output, exited };
  procs.push(p);
  return p;
}

const alive = (p: Proc) => p.child.exitCode === null && p.child.signalCode === null;

function killByPid(p: Proc, signal: NodeJS.Signals = "SIGKILL"): void {
  if (!alive(p) || p.child.pid === undefined) return;
  try {
    process.kill(p.child.pid, signal);
  } catch {
    // already gone
  }
}

const proc = (name: string) => procs.filter((p) => p.name === name).at(-1)!;

function apiserverArgs(name: string, ip: string, extra: string[] = []): string[] {
  return [
    APISERVER_MAIN,
    "--name", name,
    "--bind-address", ip,
    "--port", "6443",
    "--etcd-servers", ETCD.map((m) => `ws://${m.ip}:2379`).join(","),
    "--compaction-interval", "0",
    "--log-level", "warn",
    "--component-status", "",
    // No controller-manager makes the `default` service accounts here.
    "--disable-admission-plugins", "ServiceAccount",
    ...extra,
  ];
}

async function waitReady(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms:\n${procs.map((p) => `${p.name}: ${p.output.join("").slice(-1500)}`).join("\n")}`);
}

function startApiserver(name: string, ip: string): Promise<void> {
  spawnProc(name, apiserverArgs(name, ip));
  return waitReady(`http://${ip}:6443`);
}

function newClient(name: string, endpoints: readonly string[] = ENDPOINTS, extra: Partial<ConstructorParameters<typeof ApiClient>[0]> = {}): ApiClient {
  const c = new ApiClient({ name, endpoints, requestTimeoutMs: 10_000, ...extra });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  for (const f of [ETCD_MAIN, APISERVER_MAIN]) if (!existsSync(f)) throw new Error(`${f} is missing: run "npx tsc -b" before these tests`);
  root = await mkdtemp(join(tmpdir(), "kubemu-client-api-"));
  const initial = ETCD.map((m) => `${m.name}=ws://${m.ip}:2380`).join(",");
  for (const m of ETCD)
    spawnProc(m.name, [
      ETCD_MAIN,
      "--name", m.name,
      "--data-dir", join(root, m.name),
      "--listen-client-urls", `ws://${m.ip}:2379`,
      "--listen-peer-urls", `ws://${m.ip}:2380`,
      "--control-url", `http://${m.ip}:2381`,
      "--initial-cluster", initial,
      "--log-level", "warn",
    ]);
  // The TLS apiserver: a CA, its serving certificate, an admin and an untrusted client certificate.
  const now = new Date();
  const ca = await createCertificateAuthority("client-api-ca", now, 1);
  const serving = await issueCertificate(ca, { commonName: "kube-apiserver", use: { kind: "server", ips: [TLS.ip], dnsNames: ["localhost"] }, validDays: 1 }, now);
  const admin = await issueCertificate(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], use: { kind: "client" }, validDays: 1 }, now);
  const otherCa = await createCertificateAuthority("someone-else", now, 1);
  const other = await issueCertificate(otherCa, { commonName: "intruder", organizations: ["system:masters"], use: { kind: "client" }, validDays: 1 }, now);
  pki = { ca, serving, admin, other };
  await writeFile(join(root, "tls.crt"), serving.cert);
  await writeFile(join(root, "tls.key"), serving.key);
  await writeFile(join(root, "ca.crt"), ca.cert);
  await Promise.all([
    ...PLAIN.map((a) => startApiserver(a.name, a.ip)),
    (async () => {
      spawnProc(TLS.name, apiserverArgs(TLS.name, TLS.ip, ["--tls-cert-file", join(root, "tls.crt"), "--tls-private-key-file", join(root, "tls.key"), "--client-ca-file", join(root, "ca.crt"), "--insecure-port", "6080"]));
      await waitReady(`http://${TLS.ip}:6080`);
    })(),
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  for (const p of procs) killByPid(p);
  await Promise.all(procs.map((p) => p.exited));
  if (root) await rm(root, { recursive: true, force: true });
}, 30_000);

const cm = (name: string, namespace: string, labels: Record<string, string> = {}, data: Record<string, string> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace, labels },
  data,
});

async function ensureNamespace(c: ApiClient, name: string): Promise<void> {
  try {
    await c.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("ApiClient over the wire API", { timeout: 60_000 }, () => {
  it("CRUD with typed errors: AlreadyExists, Conflict on a stale update, NotFound", async () => {
    const c = newClient("crud-test");
    await c.ready(10_000);
    await ensureNamespace(c, "crud");
    const created = await c.create(Resources.configMaps, cm("one", "crud", { app: "x" }, { a: "1" }));
    expect(created.metadata.uid).toBeTruthy();
    expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
    await expect(c.create(Resources.configMaps, cm("one", "crud"))).rejects.toSatisfy(isAlreadyExists);
    const got = await c.get(Resources.configMaps, "crud", "one");
    expect(got.data).toEqual({ a: "1" });
    const updated = await c.update(Resources.configMaps, { ...got, data: { a: "2" } });
    expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(Number(got.metadata.resourceVersion));
    // The first read is stale now: compare-and-swap refuses it.
    await expect(c.update(Resources.configMaps, { ...got, data: { a: "3" } })).rejects.toSatisfy(isConflict);
    const patched = await c.patch(Resources.configMaps, "crud", "one", "merge", { data: { b: "x" } });
    expect(patched.data).toEqual({ a: "2", b: "x" });
    const gone = await c.delete(Resources.configMaps, "crud", "one");
    expect(gone.metadata.name).toBe("one");
    await expect(c.get(Resources.configMaps, "crud", "one")).rejects.toSatisfy(isNotFound);
    await expect(c.delete(Resources.configMaps, "crud", "one")).rejects.toSatisfy(isNotFound);
    await expect(c.update(Resources.configMaps, { ...got, data: {} })).rejects.toSatisfy(isNotFound);
    // A namespaced resource needs a namespace.
    await expect(c.get(Resources.configMaps, undefined, "one")).rejects.toThrow("namespace is required");
    // Cluster-scoped objects have none.
    const ns = await c.get(Resources.namespaces, undefined, "crud");
    expect(ns.metadata.name).toBe("crud");
  });

  it("binds a pod to a node, and deletes a collection by label", async () => {
    const c = newClient("bind-test");
    await ensureNamespace(c, "bind");
    const p = await c.create<KubeObject>(Resources.pods, { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "bind" }, spec: { containers: [{ name: "c", image: "nginx" }] } });
    await c.bind("bind", "p", "kubemu", { uid: p.metadata.uid! });
    const bound = await c.get<KubeObject & { spec: { nodeName?: string } }>(Resources.pods, "bind", "p");
    expect(bound.spec.nodeName).toBe("kubemu");
    await expect(c.bind("bind", "p", "other")).rejects.toSatisfy(isConflict);
    // The status subresource: status changes land, spec changes are ignored.
    type PodLike = KubeObject & { spec: { nodeName?: string; containers: { name: string; image: string }[] }; status?: { phase?: string; message?: string } };
    const withStatus = await c.updateStatus<PodLike>(Resources.pods, { ...bound, spec: { ...bound.spec, containers: [{ name: "c", image: "changed" }] }, status: { phase: "Running" } } as PodLike);
    expect(withStatus.status?.phase).toBe("Running");
    expect(withStatus.spec.containers[0]!.image).toBe("nginx");
    const patchedStatus = await c.patch<PodLike>(Resources.pods, "bind", "p", "merge", { status: { message: "hi" }, spec: { nodeName: "elsewhere" } }, { subresource: "status" });
    expect(patchedStatus.status).toMatchObject({ phase: "Running", message: "hi" });
    expect(patchedStatus.spec.nodeName).toBe("kubemu");
    for (const [n, tier] of [["a", "web"], ["b", "web"], ["c", "db"]] as const) await c.create(Resources.configMaps, cm(n, "bind", { tier }));
    const deleted = await c.deleteCollection(Resources.configMaps, { namespace: "bind", labelSelector: "tier=web" });
    expect(deleted.items.map((i) => i.metadata.name).sort()).toEqual(["a", "b"]);
    const left = await c.list(Resources.configMaps, { namespace: "bind", labelSelector: "tier" });
    expect(left.items.map((i) => i.metadata.name)).toEqual(["c"]);
  });

  it("lists with label and field selectors, and listAll reads every page at one revision", async () => {
    const c = newClient("list-test");
    await ensureNamespace(c, "lists");
    for (let i = 0; i < 23; i++) await c.create(Resources.configMaps, cm(`cm-${String(i).padStart(2, "0")}`, "lists", { parity: i % 2 === 0 ? "even" : "odd", group: String(i % 3) }));
    const even = await c.list(Resources.configMaps, { namespace: "lists", labelSelector: "parity=even" });
    expect(even.items).toHaveLength(12);
    expect(even.kind).toBe("ConfigMapList");
    const set = await c.list(Resources.configMaps, { namespace: "lists", labelSelector: "parity=odd,group in (0,1)" });
    expect(set.items.map((i) => i.metadata.name)).toEqual(["cm-01", "cm-03", "cm-07", "cm-09", "cm-13", "cm-15", "cm-19", "cm-21"]);
    const byName = await c.list(Resources.configMaps, { namespace: "lists", fieldSelector: "metadata.name=cm-05" });
    expect(byName.items.map((i) => i.metadata.name)).toEqual(["cm-05"]);
    const notName = await c.list(Resources.configMaps, { namespace: "lists", fieldSelector: "metadata.name!=cm-05", labelSelector: "group=2" });
    expect(notName.items.map((i) => i.metadata.name)).toEqual(["cm-02", "cm-08", "cm-11", "cm-14", "cm-17", "cm-20"]);
    const page = await c.list(Resources.configMaps, { namespace: "lists", limit: 5 });
    expect(page.items).toHaveLength(5);
    expect(page.metadata.continue).toBeTruthy();
    const all = await c.listAll(Resources.configMaps, { namespace: "lists", pageSize: 4 });
    expect(all.items.map((i) => i.metadata.name)).toEqual(Array.from({ length: 23 }, (_, i) => `cm-${String(i).padStart(2, "0")}`));
    expect(all.metadata.continue).toBeUndefined();
    const rv = Number(all.metadata.resourceVersion);
    expect(rv).toBeGreaterThanOrEqual(Math.max(...all.items.map((i) => Number(i.metadata.resourceVersion))));
    // Pages of one listAll come from one revision: a write between pages does not show.
    const spy = newClient("list-spy");
    const first = await spy.list(Resources.configMaps, { namespace: "lists", limit: 10 });
    await c.create(Resources.configMaps, cm("zz-late", "lists"));
    const rest = await spy.list(Resources.configMaps, { namespace: "lists", limit: 100, continue: first.metadata.continue! });
    expect([...first.items, ...rest.items].map((i) => i.metadata.name)).not.toContain("zz-late");
    const filtered = await c.listAll(Resources.configMaps, { namespace: "lists", labelSelector: "group=1", pageSize: 2 });
    expect(filtered.items.map((i) => i.metadata.name)).toEqual(["cm-01", "cm-04", "cm-07", "cm-10", "cm-13", "cm-16", "cm-19", "cm-22"]);
  });

  it("an informer on pods syncs and sees adds, updates and deletes; its indexes follow", async () => {
    const c = newClient("informer-test");
    await ensureNamespace(c, "inf");
    await c.create(Resources.pods, { apiVersion: "v1", kind: "Pod", metadata: { name: "before", namespace: "inf", labels: { app: "a" } }, spec: { containers: [{ name: "c", image: "nginx" }] } });
    const factory = new InformerFactory(c, { freeze: true });
    const pods = factory.informerFor(Resources.pods, { namespace: "inf" });
    const seen: string[] = [];
    pods.addEventHandler({
      onAdd: (o, initial) => seen.push(`add ${o.metadata.name}${initial ? " initial" : ""}`),
      onUpdate: (a, b) => {
        if (a.metadata.resourceVersion !== b.metadata.resourceVersion) seen.push(`update ${b.metadata.name}`);
      },
      onDelete: (o) => seen.push(`delete ${deletedObject(o).metadata.name}`),
    });
    const stop = new AbortController();
    factory.start(stop.signal);
    try {
      expect(await factory.waitForCacheSync()).toBe(true);
      expect(seen).toEqual(["add before initial"]);
      expect(pods.lister.get("inf", "before")!.metadata.managedFields).toBeUndefined();
      await c.create(Resources.pods, { apiVersion: "v1", kind: "Pod", metadata: { name: "after", namespace: "inf" }, spec: { containers: [{ name: "c", image: "nginx" }] } });
      await until("the add", () => pods.lister.get("inf", "after"));
      await c.bind("inf", "after", "kubemu-m02");
      await until("the bind", () => pods.lister.byIndex("spec.nodeName", "kubemu-m02").length === 1);
      await c.delete(Resources.pods, "inf", "before", { gracePeriodSeconds: 0 });
      await until("the delete", () => pods.lister.get("inf", "before") === undefined);
      expect(seen.filter((s) => !s.startsWith("update before"))).toEqual(["add before initial", "add after", "update after", "delete before"]);
      expect(pods.lister.list().map((p) => p.metadata.name)).toEqual(["after"]);
      expect(Number(pods.lastSyncResourceVersion)).toBeGreaterThan(0);
      expect(pods.stats.lists).toBe(1);
    } finally {
      stop.abort();
      await factory.stopped();
    }
  });

  it("EventRecorder writes through the real API: one Event per occurrence group, repeats patch its count", async () => {
    const c = newClient("events-test");
    await ensureNamespace(c, "ev");
    const p = await c.create<KubeObject>(Resources.pods, { apiVersion: "v1", kind: "Pod", metadata: { name: "evpod", namespace: "ev" }, spec: { containers: [{ name: "c", image: "nginx" }] } });
    const n = { apiVersion: "v1", kind: "Node", metadata: { name: "ev-node", uid: "u-node" } };
    const rec = new EventRecorder({ client: c, component: "test-controller", host: "kubemu", reportingInstance: "test-0" });
    rec.event(p, "Normal", "Testing", "hello");
    rec.event(p, "Normal", "Testing", "hello");
    rec.event(p, "Warning", "Broken", "oh no", "spec.containers{c}");
    rec.event(n, "Normal", "NodeReady", "Node ev-node status is now: NodeReady");
    await rec.flush();
    const inNs = (await c.list<CoreEvent>(Resources.events, { namespace: "ev" })).items.filter((e) => e.involvedObject.name === "evpod");
    expect(inNs.map((e) => `${e.reason} x${e.count}`).sort()).toEqual(["Broken x1", "Testing x2"]);
    const testing = inNs.find((e) => e.reason === "Testing")!;
    expect(testing).toMatchObject({ type: "Normal", message: "hello", source: { component: "test-controller", host: "kubemu" }, involvedObject: { kind: "Pod", namespace: "ev", uid: p.metadata.uid } });
    expect(testing.metadata.name).toMatch(/^evpod\.[0-9a-f]+$/);
    expect(inNs.find((e) => e.reason === "Broken")!.involvedObject.fieldPath).toBe("spec.containers{c}");
    const nodeEvents = (await c.list<CoreEvent>(Resources.events, { namespace: "default" })).items.filter((e) => e.involvedObject.name === "ev-node");
    expect(nodeEvents.map((e) => e.reason)).toEqual(["NodeReady"]);
  });

  it("SIGKILL of the apiserver a watch is on: the watch continues on the other one with no event lost or duplicated", async () => {
    const watcher = newClient("watch-test", ENDPOINTS, { requestTimeoutMs: 15_000 });
    // The writer talks only to the apiserver that survives, so writes go on during the kill.
    const writer = newClient("watch-writer", [wireUrl(PLAIN[1]!.ip)]);
    await watcher.ready(10_000);
    expect(watcher.wire.state.endpoint).toBe(ENDPOINTS[0]);
    await ensureNamespace(writer, "watch");
    const start = await writer.list(Resources.configMaps, { namespace: "watch" });
    const stop = new AbortController();
    const stream = watcher.watch(Resources.configMaps, { namespace: "watch", resourceVersion: start.metadata.resourceVersion!, signal: stop.signal });
    const got: { type: string; name: string; rv: number }[] = [];
    const bookmarks: number[] = [];
    let failure: unknown;
    const reading = (async () => {
      try {
        for await (const ev of stream) {
          const rv = Number(eventResourceVersion(ev));
          if (ev.type === "BOOKMARK") bookmarks.push(rv);
          else got.push({ type: ev.type, name: (ev.object as KubeObject).metadata.name!, rv });
        }
      } catch (e) {
        failure = e;
      }
    })();
    const created: { name: string; rv: number }[] = [];
    const make = async (name: string) => {
      const o = await writer.create(Resources.configMaps, cm(name, "watch"));
      created.push({ name, rv: Number(o.metadata.resourceVersion) });
    };
    for (let i = 0; i < 20; i++) await make(`before-${i}`);
    await until("the watch to catch up", () => got.length >= 20);
    // Keep writing while the watcher's apiserver dies.
    let writing = true;
    const during = (async () => {
      for (let i = 0; writing; i++) {
        await make(`during-${i}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    const victim = proc(PLAIN[0]!.name);
    killByPid(victim, "SIGKILL");
    await victim.exited;
    await new Promise((r) => setTimeout(r, 1500));
    writing = false;
    await during;
    for (let i = 0; i < 20; i++) await make(`after-${i}`);
    try {
      await until("every event", () => failure !== undefined || got.length >= created.length, 30_000);
      expect(failure).toBeUndefined();
      expect(watcher.wire.state.endpoint).toBe(ENDPOINTS[1]);
      expect(stream.resumes).toBeGreaterThanOrEqual(1);
      // Exactly the creates, once each, in revision order.
      const rvs = got.map((g) => g.rv);
      expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
      expect(new Set(rvs).size).toBe(rvs.length);
      expect(got.map((g) => `${g.type} ${g.name}@${g.rv}`)).toEqual([...created].sort((a, b) => a.rv - b.rv).map((c) => `ADDED ${c.name}@${c.rv}`));
      expect(created.filter((c) => c.name.startsWith("during-")).length).toBeGreaterThan(5);
    } finally {
      stop.abort();
      await reading;
      // Bring the victim back for the tests after this one.
      await startApiserver(PLAIN[0]!.name, PLAIN[0]!.ip);
    }
  });

  it("wss:// with a client certificate works; no certificate, or one from another CA, is refused", async () => {
    const url = `wss://${TLS.ip}:6443/kubemu/wire`;
    const good = newClient("tls-test", [url], { tls: { ca: pki!.ca.cert, cert: pki!.admin.cert, key: pki!.admin.key } });
    await good.ready(10_000);
    const created = await good.create(Resources.configMaps, cm("over-tls", "default", {}, { secure: "yes" }));
    // Same store: the plain apiservers see it.
    const plain = newClient("tls-check");
    expect((await plain.get(Resources.configMaps, "default", "over-tls")).metadata.uid).toBe(created.metadata.uid);
    const anonymous = newClient("tls-anon", [url], { tls: { ca: pki!.ca.cert }, requestTimeoutMs: 2000 });
    await expect(anonymous.ready(2000)).rejects.toThrow();
    await expect(anonymous.get(Resources.configMaps, "default", "over-tls")).rejects.toThrow();
    const intruder = newClient("tls-intruder", [url], { tls: { ca: pki!.ca.cert, cert: pki!.other.cert, key: pki!.other.key }, requestTimeoutMs: 2000 });
    await expect(intruder.ready(2000)).rejects.toThrow();
    // A client that does not trust the server's CA refuses it.
    const wrongCa = newClient("tls-wrong-ca", [url], { tls: { ca: pki!.other.cert, cert: pki!.admin.cert, key: pki!.admin.key }, requestTimeoutMs: 2000 });
    await expect(wrongCa.ready(2000)).rejects.toThrow();
  });
});

// ---- leader election across processes ----

interface Line {
  event: string;
  identity: string;
  leader?: string;
  at: number;
  pid: number;
}

interface Elector {
  p: Proc;
  lines: Line[];
  identity: string;
}

const electors: Elector[] = [];

afterEach(async () => {
  for (const e of electors.splice(0)) killByPid(e.p);
  await Promise.all(procs.filter((p) => p.name.startsWith("elector")).map((p) => p.exited));
});

const LEASE_MS = 3000;
const RENEW_MS = 2000;
const RETRY_MS = 500;

async function startElector(name: string, lease: string): Promise<Elector> {
  const p = spawnProc(`elector-${name}`, ["--import", "tsx", ELECTOR, name, ENDPOINTS.join(","), lease, String(LEASE_MS), String(RENEW_MS), String(RETRY_MS)]);
  const lines: Line[] = [];
  createInterface({ input: p.child.stdout! }).on("line", (l) => {
    try {
      lines.push(JSON.parse(l) as Line);
    } catch {
      // a log line
    }
  });
  const ready = await until(`${name} to start`, () => {
    if (!alive(p)) throw new Error(`${name} exited: ${p.output.join("")}`);
    return lines.find((l) => l.event === "ready");
  }, 20_000);
  const e = { p, lines, identity: ready.identity };
  electors.push(e);
  return e;
}

const startedAt = (e: Elector) => e.lines.find((l) => l.event === "started")?.at;

async function leaseRecord(c: ApiClient, lease: string): Promise<LeaderElectionRecord> {
  const [ns, name] = lease.split("/") as [string, string];
  return (await c.get(Resources.leases, ns, name)).spec as LeaderElectionRecord;
}

describe("LeaderElector across real processes", { timeout: 90_000 }, () => {
  it("SIGKILL of the leader: the standby leads within leaseDuration + retryPeriod (+ slack); leaseTransitions goes up", async () => {
    const c = newClient("lease-reader");
    const lease = "kube-system/le-kill";
    const a = await startElector("a", lease);
    await until("a to lead", () => startedAt(a), 15_000);
    const b = await startElector("b", lease);
    await until("b to see a", () => b.lines.find((l) => l.event === "new-leader" && l.leader === a.identity));
    await new Promise((r) => setTimeout(r, 2 * LEASE_MS)); // b stays a standby while a renews
    expect(startedAt(b)).toBeUndefined();
    const before = await leaseRecord(c, lease);
    expect(before.holderIdentity).toBe(a.identity);
    const killedAt = Date.now();
    killByPid(a.p, "SIGKILL");
    await a.p.exited;
    const took = await until("b to lead", () => startedAt(b), 15_000);
    const waited = took - killedAt;
    expect(waited, "ms from the kill to the standby leading").toBeLessThanOrEqual(LEASE_MS + 2 * 1.2 * RETRY_MS + 1500);
    // Not before a's lease ran out, counted from a renew at most a retry period before the kill.
    expect(waited, "ms from the kill to the standby leading").toBeGreaterThanOrEqual(LEASE_MS - 1.2 * RETRY_MS - 200);
    const after = await leaseRecord(c, lease);
    expect(after.holderIdentity).toBe(b.identity);
    expect(after.leaseTransitions).toBe(before.leaseTransitions + 1);
    expect(b.lines.filter((l) => l.event === "stopped")).toEqual([]);
  });

  it("graceful SIGTERM of the leader releases the lease: the standby leads within about a retryPeriod", async () => {
    const c = newClient("lease-reader-2");
    const lease = "kube-system/le-term";
    const a = await startElector("a", lease);
    await until("a to lead", () => startedAt(a), 15_000);
    const b = await startElector("b", lease);
    await until("b to see a", () => b.lines.find((l) => l.event === "new-leader" && l.leader === a.identity));
    await new Promise((r) => setTimeout(r, 1000));
    const before = await leaseRecord(c, lease);
    const stopAt = Date.now();
    killByPid(a.p, "SIGTERM");
    await a.p.exited;
    expect(a.p.child.exitCode).toBe(0);
    expect(a.lines.map((l) => l.event)).toEqual(expect.arrayContaining(["started", "stopped", "run-ended", "exit"]));
    const took = await until("b to lead", () => startedAt(b), 10_000);
    expect(took - stopAt, "ms from SIGTERM to the standby leading").toBeLessThanOrEqual(1.2 * RETRY_MS + 1500);
    const after = await leaseRecord(c, lease);
    expect(after.holderIdentity).toBe(b.identity);
    expect(after.leaseTransitions).toBe(before.leaseTransitions + 1);
    // And the next leader change the same way.
    const d = await startElector("d", lease);
    await until("d to see b", () => d.lines.find((l) => l.event === "new-leader" && l.leader === b.identity));
    killByPid(b.p, "SIGTERM");
    await until("d to lead", () => startedAt(d), 10_000);
    expect((await leaseRecord(c, lease)).leaseTransitions).toBe(before.leaseTransitions + 2);
  });
});
