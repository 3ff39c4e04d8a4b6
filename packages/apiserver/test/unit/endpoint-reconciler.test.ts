/**
 * The `kubernetes` Endpoints follow the live API servers: two in-process servers share one store
 * (as two apiserver processes share the Raft store), each renewing its lease; a graceful stop
 * withdraws at once, and a server that dies without withdrawing drops out when its lease expires.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MvccStore } from "@kubemu/etcd-raft";
import { ApiServer } from "../../src/apiserver.js";
import { KvStorageFactory, MvccBackend } from "../../src/storage/index.js";

const servers: ApiServer[] = [];

afterEach(async () => {
  for (const s of servers.splice(0).reverse()) await s.stop().catch(() => undefined);
});

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("kubernetes endpoints reconciler", () => {
  it("lists both servers, drops a withdrawn one at once and an expired one after its lease", async () => {
    const backend = new MvccBackend(new MvccStore());
    const start = async (name: string, ip: string) => {
      const s = new ApiServer({ name, storage: new KvStorageFactory({ backend }), compactionIntervalMs: 0, endpointLeaseSeconds: 1 });
      servers.push(s);
      const addr = await s.start("127.0.0.1", 0, { ip, port: 6443 });
      return { server: s, url: `http://127.0.0.1:${addr.port}` };
    };
    const a = await start("apiserver-a", "127.0.20.1");
    const b = await start("apiserver-b", "127.0.20.2");
    const ips = async () => {
      const r = await fetch(`${a.url}/api/v1/namespaces/default/endpoints/kubernetes`);
      const ep = (await r.json()) as { subsets?: { addresses: { ip: string }[]; ports: { port: number }[] }[] };
      return (ep.subsets ?? []).flatMap((s) => s.addresses.map((x) => `${x.ip}:${s.ports[0]!.port}`)).sort();
    };
    await eventually(ips, (v) => v.length === 2, "both servers listed");
    expect(await ips()).toEqual(["127.0.20.1:6443", "127.0.20.2:6443"]);
    // The EndpointSlice beside it (what kube-proxy reads), as upstream's endpoints adapter writes it.
    const sliceIps = async () => {
      const r = await fetch(`${a.url}/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes`);
      const sl = (await r.json()) as { metadata?: { labels?: Record<string, string> }; addressType?: string; endpoints?: { addresses: string[]; conditions: { ready: boolean } }[]; ports?: { name: string; port: number }[] };
      return { labels: sl.metadata?.labels, addressType: sl.addressType, ips: (sl.endpoints ?? []).map((e) => `${e.addresses[0]}:${String(e.conditions.ready)}`).sort(), ports: sl.ports };
    };
    const slice = await eventually(sliceIps, (v) => v.ips.length === 2, "both servers in the slice");
    expect(slice).toEqual({ labels: { "kubernetes.io/service-name": "kubernetes" }, addressType: "IPv4", ips: ["127.0.20.1:true", "127.0.20.2:true"], ports: [{ name: "https", port: 6443, protocol: "TCP" }] });

    // Graceful stop: B leaves the Endpoints before it is gone.
    await b.server.stop();
    servers.splice(servers.indexOf(b.server), 1);
    expect(await ips()).toEqual(["127.0.20.1:6443"]);
    expect((await sliceIps()).ips).toEqual(["127.0.20.1:true"]);

    // A third server that stops renewing without withdrawing (a crash) drops out once its 1 s lease expires.
    const c = await start("apiserver-c", "127.0.20.3");
    await eventually(ips, (v) => v.includes("127.0.20.3:6443"), "C listed");
    const lease = await (await fetch(`${a.url}/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/apiserver-apiserver-c`)).json();
    expect((lease as { spec: { holderIdentity: string } }).spec.holderIdentity).toBe("127.0.20.3:6443");
    // Simulate the crash: C's lease stops being renewed (renewTime far in the past) and C is never asked to withdraw.
    (c.server as unknown as { reconciler?: { stop(): void } }).reconciler?.stop();
    await fetch(`${a.url}/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/apiserver-apiserver-c`, {
      method: "PATCH",
      headers: { "content-type": "application/merge-patch+json" },
      body: JSON.stringify({ spec: { renewTime: "2020-01-01T00:00:00.000000Z" } }),
    });
    await eventually(ips, (v) => !v.includes("127.0.20.3:6443"), "expired C dropped");
    expect(await ips()).toEqual(["127.0.20.1:6443"]);
  });
});
