/**
 * A 3-member store serving its client and peer ports over TLS with client-certificate
 * authentication (etcd's --cert-file ... --peer-client-cert-auth flags), run in process on
 * 127.1.240.x: the members find each other over wss:// with their peer certificate, a client
 * with a certificate from the trusted CA reads and writes (a write sent to a follower is
 * redirected to the leader's wss:// URL), and a client without one — plain ws://, wss:// with no
 * certificate, or a certificate from another CA — cannot even connect. The flags are checked
 * as etcd pairs them.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, createLogger, issueCertificate, type KeyPair, WireClient } from "@kubemu/common";
import { EtcdClient } from "../../src/index.js";
import { ConfigError, parseArgs } from "../../src/server/config.js";
import { EtcdServer } from "../../src/server/server.js";

const SUBNET = "127.1.240";
const IPS = [1, 2, 3].map((i) => `${SUBNET}.${i}`);
/** The members of the plain-then-TLS cluster. */
const MOVED_IPS = [1, 2, 3].map((i) => `127.1.247.${i}`);
const log = createLogger({ component: "etcd-tls-test", level: "silent", silentConsole: true });

let dir = "";
let ca: KeyPair;
let clientPair: KeyPair;
let foreignPair: KeyPair;
let foreignCa: KeyPair;
const servers: EtcdServer[] = [];
const clients: EtcdClient[] = [];

function write(name: string, pair: KeyPair): { cert: string; key: string } {
  writeFileSync(join(dir, `${name}.crt`), pair.cert);
  writeFileSync(join(dir, `${name}.key`), pair.key, { mode: 0o600 });
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

type Files = { server: { cert: string; key: string }; peer: { cert: string; key: string }; ca: string };
let files: Files;

function plainArgs(i: number, ips = IPS, data = "etcd"): string[] {
  return [
    "--name", `etcd-${i}`, "--data-dir", join(dir, `${data}-${i}`),
    "--listen-client-urls", `ws://${ips[i]}:2379`, "--listen-peer-urls", `ws://${ips[i]}:2380`,
    "--initial-cluster", ips.map((ip, j) => `etcd-${j}=ws://${ip}:2380`).join(","),
  ];
}

function memberArgs(i: number, f: Files, ips = IPS, data = "etcd"): string[] {
  return [
    "--name", `etcd-${i}`, "--data-dir", join(dir, `${data}-${i}`),
    "--listen-client-urls", `wss://${ips[i]}:2379`, "--listen-peer-urls", `wss://${ips[i]}:2380`,
    "--initial-cluster", ips.map((ip, j) => `etcd-${j}=wss://${ip}:2380`).join(","),
    "--cert-file", f.server.cert, "--key-file", f.server.key, "--trusted-ca-file", f.ca, "--client-cert-auth",
    "--peer-cert-file", f.peer.cert, "--peer-key-file", f.peer.key, "--peer-trusted-ca-file", f.ca, "--peer-client-cert-auth", "--peer-cert-allowed-cn", "kube-etcd-peer",
  ];
}

function client(endpoints: string[], tls?: { ca?: string; cert?: string; key?: string }, timeoutMs = 10_000): EtcdClient {
  const c = new EtcdClient({ endpoints, name: "tls-test", requestTimeoutMs: timeoutMs, ...(tls ? { tls } : {}) });
  clients.push(c);
  return c;
}

const now = new Date();

/** Retries fn until it resolves (an election, a first connection), up to 30 s. */
async function eventuallyOk<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
const tlsOf = (pair: KeyPair, caPair: KeyPair) => ({ ca: caPair.cert, cert: pair.cert, key: pair.key });

/** A raft message sent to target's peer port with these credentials is refused, and the connection never comes up. */
async function expectPeerPortRefuses(target: EtcdServer, tls: { ca: string; cert?: string; key?: string }): Promise<void> {
  const wire = new WireClient({ name: "intruder", endpoints: [target.peerUrl], tls, connectTimeoutMs: 1000, requestTimeoutMs: 2000, maxRedirects: 0 });
  wire.on("connectError", () => {});
  try {
    await expect(wire.request("raft.messages", { to: target.id, msgs: [] }, { timeoutMs: 2000 })).rejects.toThrow();
    expect(wire.state.connected).toBe(false);
  } finally {
    await wire.close();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "kubemu-etcd-tls-"));
  ca = await createCertificateAuthority("etcd-ca", now, 10);
  foreignCa = await createCertificateAuthority("other-ca", now, 10);
  const ips = [...IPS, ...MOVED_IPS];
  const server = write("server", await issueCertificate(ca, { commonName: "kube-etcd", use: { kind: "server", dnsNames: ["localhost"], ips }, validDays: 1 }, now));
  const peer = write("peer", await issueCertificate(ca, { commonName: "kube-etcd-peer", use: { kind: "server", dnsNames: ["localhost"], ips, clientAuth: true }, validDays: 1 }, now));
  writeFileSync(join(dir, "ca.crt"), ca.cert);
  clientPair = await issueCertificate(ca, { commonName: "kube-apiserver-etcd-client", use: { kind: "client" }, validDays: 1 }, now);
  foreignPair = await issueCertificate(foreignCa, { commonName: "kube-apiserver-etcd-client", use: { kind: "client" }, validDays: 1 }, now);
  files = { server, peer, ca: join(dir, "ca.crt") };
  for (let i = 0; i < 3; i++) servers.push(await EtcdServer.start({ config: parseArgs(memberArgs(i, files)), log }));
}, 30_000);

afterAll(async () => {
  for (const c of clients) await c.close();
  for (const s of servers) await s.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("kubemu-etcd over TLS with client certificates", () => {
  it("the members elect a leader over wss:// peer connections and publish wss:// client URLs", async () => {
    const c = client(IPS.map((ip) => `wss://${ip}:2379`), tlsOf(clientPair, ca));
    let members: { name: string; clientUrls: string[]; peerUrls: string[] }[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      members = (await c.memberList().catch(() => ({ members: [] }))).members;
      if (members.length === 3 && members.every((m) => m.clientUrls.length === 1) && servers.every((s) => s.processStatus().leader !== "")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(members.map((m) => m.clientUrls[0]).sort()).toEqual(IPS.map((ip) => `wss://${ip}:2379`));
    expect(members.map((m) => m.peerUrls[0]).sort()).toEqual(IPS.map((ip) => `wss://${ip}:2380`));
    expect(new Set(servers.map((s) => s.processStatus().leader)).size).toBe(1);
    expect(servers.map((s) => s.clientUrl).sort()).toEqual(IPS.map((ip) => `wss://${ip}:2379`));
  }, 30_000);

  it("a client with a certificate from the trusted CA writes and reads, also through a follower's redirect", async () => {
    const follower = servers.find((s) => s.processStatus().role !== "leader")!;
    const c = client([follower.clientUrl], tlsOf(clientPair, ca));
    await c.put("/registry/tls-test", "v1");
    expect(Buffer.from((await c.get("/registry/tls-test"))!.value).toString()).toBe("v1");
  }, 20_000);

  it("no certificate, a foreign certificate, or plain ws:// cannot read or write", async () => {
    const leader = servers.find((s) => s.processStatus().role === "leader")!;
    const port = leader.clientUrl;
    const attempts: [string, EtcdClient][] = [
      ["ws:// on the TLS port", client([port.replace("wss://", "ws://")], undefined, 2000)],
      ["wss:// without a certificate", client([port], { ca: ca.cert }, 2000)],
      ["wss:// with another CA's certificate", client([port], tlsOf(foreignPair, ca), 2000)],
    ];
    for (const [what, c] of attempts) {
      await expect(c.put("/registry/namespaces/evil", "x"), what).rejects.toThrow();
      await expect(c.get("/registry/tls-test"), what).rejects.toThrow();
    }
    const c = client([port], tlsOf(clientPair, ca));
    expect(await c.get("/registry/namespaces/evil")).toBeUndefined();
  }, 30_000);

  it("the peer port takes no raft messages from a connection without a peer certificate", async () => {
    await expectPeerPortRefuses(servers[0]!, { ca: ca.cert });
  }, 20_000);

  it("the peer port cuts off a certificate from the same CA that is not a peer's (--peer-cert-allowed-cn)", async () => {
    const target = servers[0]!;
    // The API servers' store client certificate: signed by the store CA, but CN kube-apiserver-etcd-client.
    await expectPeerPortRefuses(target, tlsOf(clientPair, ca));
    // The same certificate is still good on the client port, and the members still talk to each other.
    const c = client([target.clientUrl], tlsOf(clientPair, ca));
    await eventuallyOk(() => c.put("/registry/after-impostor", "ok"));
  }, 20_000);

  it("a cluster made plain restarts with TLS on its data: the registry's ws:// peer URLs are dialed as wss://", async () => {
    const plain: EtcdServer[] = [];
    for (let i = 0; i < 3; i++) plain.push(await EtcdServer.start({ config: parseArgs(plainArgs(i, MOVED_IPS, "moved")), log }));
    const before = client(MOVED_IPS.map((ip) => `ws://${ip}:2379`));
    await eventuallyOk(() => before.put("/registry/before-tls", "kept"));
    for (const s of plain) await s.stop();
    for (let i = 0; i < 3; i++) servers.push(await EtcdServer.start({ config: parseArgs(memberArgs(i, files, MOVED_IPS, "moved")), log }));
    const after = client(MOVED_IPS.map((ip) => `wss://${ip}:2379`), tlsOf(clientPair, ca));
    const kv = await eventuallyOk(() => after.get("/registry/before-tls"));
    expect(Buffer.from(kv!.value).toString()).toBe("kept");
    await eventuallyOk(() => after.put("/registry/after-tls", "written"));
  }, 60_000);

  it("checks the TLS flags as etcd pairs them", () => {
    const base = ["--name", "etcd-0", "--data-dir", "/tmp/x", "--initial-cluster", `etcd-0=ws://${IPS[0]}:2380`];
    const cases: [string[], RegExp][] = [
      [[...base, "--listen-client-urls", `wss://${IPS[0]}:2379`], /--listen-client-urls use wss:\/\/ but --cert-file and --key-file are not given/],
      [[...base, "--listen-client-urls", `ws://${IPS[0]}:2379`, "--cert-file", "a", "--key-file", "b"], /--listen-client-urls must use wss:\/\//],
      [[...base, "--listen-client-urls", `wss://${IPS[0]}:2379`, "--cert-file", "a"], /go together/],
      [[...base, "--listen-client-urls", `wss://${IPS[0]}:2379`, "--cert-file", "a", "--key-file", "b", "--client-cert-auth"], /--client-cert-auth needs --trusted-ca-file/],
      [[...base, "--listen-client-urls", `ws://${IPS[0]}:2379`, "--peer-cert-file", "a", "--peer-key-file", "b"], /every --initial-cluster URL must use wss:\/\//],
      [[...base, "--listen-client-urls", `ws://${IPS[0]}:2379`, "--peer-cert-allowed-cn", "kube-etcd-peer"], /--peer-cert-allowed-cn needs --peer-client-cert-auth/],
    ];
    for (const [args, message] of cases) expect(() => parseArgs(args), args.join(" ")).toThrow(message);
    expect(() => parseArgs([...base, "--listen-client-urls", `ws://${IPS[0]}:2379`, "--client-cert-auth"])).toThrow(ConfigError);
    const plain = parseArgs([...base, "--listen-client-urls", `ws://${IPS[0]}:2379`]);
    expect(plain.clientTls).toBeUndefined();
    expect(plain.peerTls).toBeUndefined();
  });
});
