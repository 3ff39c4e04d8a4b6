import dnsPacket, { type Answer } from "dns-packet";
import { describe, expect, it } from "vitest";
import { ResponseCache } from "../src/coredns/cache.js";
import { compressMessage } from "../src/coredns/compress.js";
import { serverConfig, type KubernetesConfig } from "../src/coredns/config.js";
import { parseCorefile } from "../src/coredns/corefile.js";
import { answerKubernetes, type KubernetesContext } from "../src/coredns/kubernetes.js";
import { ClusterModel, endpointSetFromApi, serviceFromApi } from "../src/coredns/model.js";
import { decodeQuery, encodeFitted, replyPacket, udpLimit } from "../src/coredns/wire.js";

const MINIKUBE = `.:53 {
    log
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    hosts {
       192.168.49.1 host.minikube.internal
       fallthrough
    }
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;

function kubeConfig(): KubernetesConfig {
  return serverConfig(parseCorefile(MINIKUBE, "/etc/coredns/Corefile")[0]!).kubernetes!;
}

function cluster(): ClusterModel {
  const m = new ClusterModel(() => 1_700_000_000);
  for (const ns of ["default", "kube-system"]) m.addNamespace(ns);
  m.upsertService(serviceFromApi({ metadata: { name: "kubia", namespace: "default" }, spec: { clusterIP: "127.96.3.4", clusterIPs: ["127.96.3.4"], ports: [{ name: "http", port: 80, protocol: "TCP" }, { name: "https", port: 443, protocol: "TCP" }] } }));
  m.upsertService(serviceFromApi({ metadata: { name: "nginx", namespace: "default" }, spec: { clusterIP: "None", ports: [{ name: "web", port: 80 }] } }));
  m.upsertEndpoints(
    endpointSetFromApi({
      metadata: { name: "nginx-abcde", namespace: "default", labels: { "kubernetes.io/service-name": "nginx" } },
      endpoints: [
        { addresses: ["127.230.1.5"], hostname: "web-0", conditions: { ready: true }, targetRef: { name: "web-0" } },
        { addresses: ["127.230.2.7"], hostname: "web-1", conditions: { ready: true }, targetRef: { name: "web-1" } },
        { addresses: ["127.230.2.9"], hostname: "web-2", conditions: { ready: false }, targetRef: { name: "web-2" } },
      ],
      ports: [{ name: "web", port: 80, protocol: "TCP" }],
    })!,
  );
  m.upsertEndpoints(
    endpointSetFromApi({
      metadata: { name: "kubia-xyz", namespace: "default", labels: { "kubernetes.io/service-name": "kubia" } },
      endpoints: [{ addresses: ["127.230.1.8"], conditions: { ready: true } }],
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    })!,
  );
  m.upsertService(serviceFromApi({ metadata: { name: "external-service", namespace: "default" }, spec: { type: "ExternalName", externalName: "api.somecompany.com" } }));
  m.upsertService(serviceFromApi({ metadata: { name: "alias", namespace: "default" }, spec: { type: "ExternalName", externalName: "kubia.default.svc.cluster.local" } }));
  return m;
}

function ctx(model = cluster(), synced = true): KubernetesContext & { lookups: string[] } {
  const lookups: string[] = [];
  return {
    model,
    config: kubeConfig(),
    synced: () => synced,
    localIPs: ["127.230.1.2"],
    lookups,
    lookup: async (name, type) => {
      lookups.push(`${name} ${type}`);
      return name === "api.somecompany.com" ? [{ name, type: "A", ttl: 60, class: "IN", data: "203.0.113.7" }] : undefined;
    },
  };
}

const data = (as: Answer[]) => as.map((a) => `${a.name} ${(a as { ttl?: number }).ttl} ${a.type} ${typeof (a as { data?: unknown }).data === "object" ? JSON.stringify((a as { data: unknown }).data) : String((a as { data?: unknown }).data)}`);
const SOA = 'cluster.local 30 SOA {"mname":"ns.dns.cluster.local","rname":"hostmaster.cluster.local","serial":1700000000,"refresh":7200,"retry":1800,"expire":86400,"minimum":30}';

describe("coredns kubernetes plugin: records", () => {
  it("a ClusterIP service's A record is its ClusterIP, TTL 30 (Corefile ttl), authoritative", async () => {
    const r = (await answerKubernetes(ctx(), "kubia.default.svc.cluster.local", "A"))!;
    expect(r.rcode).toBe("NOERROR");
    expect(r.authoritative).toBe(true);
    expect(data(r.answers)).toEqual(["kubia.default.svc.cluster.local 30 A 127.96.3.4"]);
  });

  it("keeps the question's case and matches names case-insensitively", async () => {
    const r = (await answerKubernetes(ctx(), "KUBIA.Default.svc.cluster.local", "A"))!;
    expect(data(r.answers)).toEqual(["KUBIA.Default.svc.cluster.local 30 A 127.96.3.4"]);
  });

  it("a headless service's A records are its ready endpoints only", async () => {
    const r = (await answerKubernetes(ctx(), "nginx.default.svc.cluster.local", "A"))!;
    expect(data(r.answers).sort()).toEqual(["nginx.default.svc.cluster.local 30 A 127.230.1.5", "nginx.default.svc.cluster.local 30 A 127.230.2.7"]);
  });

  it("a StatefulSet pod's hostname.subdomain name is its endpoint's address; a not-ready one is NXDOMAIN", async () => {
    const c = ctx();
    expect(data((await answerKubernetes(c, "web-0.nginx.default.svc.cluster.local", "A"))!.answers)).toEqual(["web-0.nginx.default.svc.cluster.local 30 A 127.230.1.5"]);
    const r = (await answerKubernetes(c, "web-2.nginx.default.svc.cluster.local", "A"))!;
    expect(r.rcode).toBe("NXDOMAIN");
    expect(data(r.authorities)).toEqual([SOA]);
  });

  it("an endpoint without hostname is named by its dashed address", async () => {
    const r = (await answerKubernetes(ctx(), "127-230-1-8.kubia.default.svc.cluster.local", "A"))!;
    expect(data(r.answers)).toEqual(["127-230-1-8.kubia.default.svc.cluster.local 30 A 127.230.1.8"]);
  });

  it("SRV _port._proto of a ClusterIP service: the service name and port, its address in extra", async () => {
    const r = (await answerKubernetes(ctx(), "_https._tcp.kubia.default.svc.cluster.local", "SRV"))!;
    expect(data(r.answers)).toEqual(['_https._tcp.kubia.default.svc.cluster.local 30 SRV {"priority":0,"weight":100,"port":443,"target":"kubia.default.svc.cluster.local"}']);
    expect(data(r.additionals)).toEqual(["kubia.default.svc.cluster.local 30 A 127.96.3.4"]);
  });

  it("plain SRV of a ClusterIP service: one record per port, weight 100/n", async () => {
    const r = (await answerKubernetes(ctx(), "kubia.default.svc.cluster.local", "SRV"))!;
    expect(data(r.answers)).toEqual([
      'kubia.default.svc.cluster.local 30 SRV {"priority":0,"weight":50,"port":80,"target":"kubia.default.svc.cluster.local"}',
      'kubia.default.svc.cluster.local 30 SRV {"priority":0,"weight":50,"port":443,"target":"kubia.default.svc.cluster.local"}',
    ]);
    expect(data(r.additionals)).toEqual(["kubia.default.svc.cluster.local 30 A 127.96.3.4"]);
  });

  it("SRV of a headless service: one target per ready pod, the pods' A records in extra", async () => {
    for (const q of ["nginx.default.svc.cluster.local", "_web._tcp.nginx.default.svc.cluster.local"]) {
      const r = (await answerKubernetes(ctx(), q, "SRV"))!;
      expect(data(r.answers)).toEqual([
        `${q} 30 SRV {"priority":0,"weight":50,"port":80,"target":"web-0.nginx.default.svc.cluster.local"}`,
        `${q} 30 SRV {"priority":0,"weight":50,"port":80,"target":"web-1.nginx.default.svc.cluster.local"}`,
      ]);
      expect(data(r.additionals)).toEqual(["web-0.nginx.default.svc.cluster.local 30 A 127.230.1.5", "web-1.nginx.default.svc.cluster.local 30 A 127.230.2.7"]);
    }
    expect((await answerKubernetes(ctx(), "_web._udp.nginx.default.svc.cluster.local", "SRV"))!.rcode).toBe("NXDOMAIN");
  });

  it("an ExternalName service is a CNAME; an outside target is resolved through the rest of the server", async () => {
    const c = ctx();
    const r = (await answerKubernetes(c, "external-service.default.svc.cluster.local", "A"))!;
    expect(data(r.answers)).toEqual(["external-service.default.svc.cluster.local 30 CNAME api.somecompany.com", "api.somecompany.com 60 A 203.0.113.7"]);
    expect(c.lookups).toEqual(["api.somecompany.com A"]);
    const cn = (await answerKubernetes(c, "external-service.default.svc.cluster.local", "CNAME"))!;
    expect(data(cn.answers)).toEqual(["external-service.default.svc.cluster.local 30 CNAME api.somecompany.com"]);
    // a target inside the zone is followed without leaving the plugin
    const alias = (await answerKubernetes(c, "alias.default.svc.cluster.local", "A"))!;
    expect(data(alias.answers)).toEqual(["alias.default.svc.cluster.local 30 CNAME kubia.default.svc.cluster.local", "kubia.default.svc.cluster.local 30 A 127.96.3.4"]);
  });

  it("pod A records a-b-c-d.ns.pod.cluster.local (pods insecure): any address-shaped name", async () => {
    const r = (await answerKubernetes(ctx(), "127-230-9-9.default.pod.cluster.local", "A"))!;
    expect(data(r.answers)).toEqual(["127-230-9-9.default.pod.cluster.local 30 A 127.230.9.9"]);
    expect((await answerKubernetes(ctx(), "not-an-ip.default.pod.cluster.local", "A"))!.rcode).toBe("NXDOMAIN");
    expect((await answerKubernetes(ctx(), "127-230-9-9.nope.pod.cluster.local", "A"))!.rcode).toBe("NXDOMAIN");
  });

  it("PTR of a ClusterIP is the service; of an endpoint address its hostname.service name", async () => {
    expect(data((await answerKubernetes(ctx(), "4.3.96.127.in-addr.arpa", "PTR"))!.answers)).toEqual(["4.3.96.127.in-addr.arpa 30 PTR kubia.default.svc.cluster.local"]);
    expect(data((await answerKubernetes(ctx(), "5.1.230.127.in-addr.arpa", "PTR"))!.answers)).toEqual(["5.1.230.127.in-addr.arpa 30 PTR web-0.nginx.default.svc.cluster.local"]);
    expect(data((await answerKubernetes(ctx(), "8.1.230.127.in-addr.arpa", "PTR"))!.answers)).toEqual(["8.1.230.127.in-addr.arpa 30 PTR 127-230-1-8.kubia.default.svc.cluster.local"]);
    // not a cluster address: fallthrough in-addr.arpa hands it to the next plugin (forward)
    expect(await answerKubernetes(ctx(), "1.0.0.10.in-addr.arpa", "PTR")).toBeUndefined();
  });

  it("NXDOMAIN with the SOA for a missing service or a name of the wrong shape", async () => {
    for (const q of ["nope.default.svc.cluster.local", "kubia.nope.svc.cluster.local", "a.b.c.kubia.default.svc.cluster.local", "kubia.default.cluster.local"]) {
      const r = (await answerKubernetes(ctx(), q, "A"))!;
      expect(r.rcode, q).toBe("NXDOMAIN");
      expect(data(r.authorities)).toEqual([SOA]);
    }
  });

  it("NODATA (NOERROR, no answers, the SOA) for an existing name without records of the type", async () => {
    for (const [q, t] of [["kubia.default.svc.cluster.local", "AAAA"], ["kubia.default.svc.cluster.local", "TXT"], ["default.svc.cluster.local", "A"], ["svc.cluster.local", "A"], ["cluster.local", "A"], ["kubia.default.svc.cluster.local", "MX"]] as const) {
      const r = (await answerKubernetes(ctx(), q, t))!;
      expect([q, t, r.rcode, r.answers.length]).toEqual([q, t, "NOERROR", 0]);
      expect(data(r.authorities)).toEqual([SOA]);
    }
  });

  it("answers the zone's SOA, dns-version TXT and NS; refuses zone transfers", async () => {
    expect(data((await answerKubernetes(ctx(), "cluster.local", "SOA"))!.answers)).toEqual([SOA]);
    expect(data((await answerKubernetes(ctx(), "dns-version.cluster.local", "TXT"))!.answers)).toEqual(["dns-version.cluster.local 28800 TXT 1.1.0"]);
    const ns = (await answerKubernetes(ctx(), "cluster.local", "NS"))!;
    expect(data(ns.answers)).toEqual(["cluster.local 30 NS ns.dns.cluster.local"]);
    expect(data(ns.additionals)).toEqual(["ns.dns.cluster.local 30 A 127.230.1.2"]);
    expect((await answerKubernetes(ctx(), "cluster.local", "AXFR"))!.rcode).toBe("REFUSED");
  });

  it("before the first sync a name error is SERVFAIL; names outside the zones are not its to answer", async () => {
    expect((await answerKubernetes(ctx(cluster(), false), "nope.default.svc.cluster.local", "A"))!.rcode).toBe("SERVFAIL");
    expect(await answerKubernetes(ctx(), "example.com", "A")).toBeUndefined();
  });

  it("endpoint_pod_names, ignore empty_service and noendpoints", async () => {
    const m = cluster();
    m.upsertService(serviceFromApi({ metadata: { name: "empty", namespace: "default" }, spec: { clusterIP: "127.96.3.9", ports: [{ name: "http", port: 80 }] } }));
    m.upsertService(serviceFromApi({ metadata: { name: "pets", namespace: "default" }, spec: { clusterIP: "None", ports: [{ name: "http", port: 80 }] } }));
    m.upsertEndpoints(endpointSetFromApi({ metadata: { name: "pets-1", namespace: "default", labels: { "kubernetes.io/service-name": "pets" } }, endpoints: [{ addresses: ["127.230.4.4"], targetRef: { name: "pets-abcde" } }], ports: [{ name: "http", port: 80 }] })!);
    const with_ = (extra: Partial<KubernetesConfig>) => ({ ...ctx(m), config: { ...kubeConfig(), ...extra } });
    expect(data((await answerKubernetes(with_({ endpointPodNames: true }), "pets-abcde.pets.default.svc.cluster.local", "A"))!.answers)).toEqual(["pets-abcde.pets.default.svc.cluster.local 30 A 127.230.4.4"]);
    expect((await answerKubernetes(with_({}), "pets-abcde.pets.default.svc.cluster.local", "A"))!.rcode).toBe("NXDOMAIN");
    expect((await answerKubernetes(with_({}), "empty.default.svc.cluster.local", "A"))!.answers.length).toBe(1);
    expect((await answerKubernetes(with_({ ignoreEmptyService: true }), "empty.default.svc.cluster.local", "A"))!.rcode).toBe("NXDOMAIN");
    expect((await answerKubernetes(with_({ noEndpoints: true }), "nginx.default.svc.cluster.local", "A"))!.rcode).toBe("NXDOMAIN");
    expect((await answerKubernetes(with_({ noEndpoints: true }), "kubia.default.svc.cluster.local", "A"))!.answers.length).toBe(1);
  });

  it("follows the model: a deleted service and its endpoints are gone", async () => {
    const m = cluster();
    m.deleteService("default", "nginx");
    m.deleteEndpoints("default/nginx-abcde");
    expect((await answerKubernetes(ctx(m), "web-0.nginx.default.svc.cluster.local", "A"))!.rcode).toBe("NXDOMAIN");
    expect(await answerKubernetes(ctx(m), "5.1.230.127.in-addr.arpa", "PTR")).toBeUndefined();
  });
});

describe("coredns wire and cache", () => {
  const query = (name: string, type: string, edns?: number) =>
    decodeQuery(dnsPacket.encode({ type: "query", id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as never }], ...(edns ? { additionals: [{ name: ".", type: "OPT", udpPayloadSize: edns } as never] } : {}) }))!;

  it("drops what is not one well-formed query", () => {
    expect(decodeQuery(Buffer.from("hello"))).toBeUndefined();
    expect(decodeQuery(Buffer.alloc(12))).toBeUndefined();
    expect(decodeQuery(dnsPacket.encode({ type: "response", id: 1, questions: [{ name: "a", type: "A" }] }))).toBeUndefined();
  });

  it("a reply too big for 512 bytes drops answers and sets TC; over TCP (or with a large EDNS0 buffer) it is whole", () => {
    const q = query("big.default.svc.cluster.local", "A");
    const answers: Answer[] = Array.from({ length: 40 }, (_, i) => ({ name: "big.default.svc.cluster.local", type: "A", ttl: 30, class: "IN", data: `127.230.1.${i + 1}` }));
    const packet = replyPacket({ rcode: "NOERROR", answers, authorities: [], additionals: [], authoritative: true });
    const udp = encodeFitted(q, packet, udpLimit(q));
    expect(udp.buf.length).toBeLessThanOrEqual(512);
    expect(udp.truncated).toBe(true);
    const decoded = dnsPacket.decode(udp.buf);
    expect(decoded.flag_tc).toBe(true);
    expect(decoded.flag_aa).toBe(true);
    expect(decoded.flag_rd).toBe(true);
    expect(decoded.id).toBe(4242);
    expect(decoded.answers!.length).toBeLessThan(40);
    const tcp = dnsPacket.decode(encodeFitted(q, packet, undefined).buf);
    expect([tcp.flag_tc, tcp.answers!.length]).toEqual([false, 40]);
    const big = query("big.default.svc.cluster.local", "A", 4096);
    expect(dnsPacket.decode(encodeFitted(big, packet, udpLimit(big)).buf).answers!.length).toBe(40);
  });

  it("additional records go before answers do, without TC", () => {
    const q = query("nginx.default.svc.cluster.local", "SRV");
    const answers: Answer[] = Array.from({ length: 7 }, (_, i) => ({ name: "nginx.default.svc.cluster.local", type: "SRV", ttl: 30, class: "IN", data: { priority: 0, weight: 14, port: 80, target: `web-${i}.nginx.default.svc.cluster.local` } }));
    const extra: Answer[] = Array.from({ length: 7 }, (_, i) => ({ name: `web-${i}.nginx.default.svc.cluster.local`, type: "A", ttl: 30, class: "IN", data: `127.230.1.${i}` }));
    const e = encodeFitted(q, replyPacket({ rcode: "NOERROR", answers, authorities: [], additionals: extra, authoritative: true }), 512);
    expect(e.buf.length).toBeLessThanOrEqual(512);
    const d = dnsPacket.decode(e.buf);
    expect([d.flag_tc, d.answers!.length]).toEqual([false, 7]);
    expect(d.additionals!.length).toBeLessThan(7);
  });

  it("cache 30: replies served with TTLs counted down and gone after 30 s; denial kept for the SOA minimum", () => {
    let now = 1000;
    const c = new ResponseCache({ ttl: 30, denialTtl: 30, capacity: 100 }, () => now);
    const k = ResponseCache.key("kubia.default.svc.cluster.local.", "A", false);
    c.put(k, { rcode: "NOERROR", answers: [{ name: "kubia.default.svc.cluster.local", type: "A", ttl: 30, class: "IN", data: "127.96.3.4" }], authorities: [], additionals: [], authoritative: true }, false);
    now += 12;
    expect(data(c.get(k)!.reply.answers)).toEqual(["kubia.default.svc.cluster.local 18 A 127.96.3.4"]);
    now += 19;
    expect(c.get(k)).toBeUndefined();
    const nx = ResponseCache.key("nope.default.svc.cluster.local", "A", false);
    c.put(nx, { rcode: "NXDOMAIN", answers: [], authorities: [{ name: "cluster.local", type: "SOA", ttl: 30, class: "IN", data: { mname: "ns.dns.cluster.local", rname: "hostmaster.cluster.local", minimum: 30 } }], additionals: [], authoritative: true }, false);
    expect(c.get(nx)!.reply.rcode).toBe("NXDOMAIN");
    expect([c.hits, c.misses]).toEqual([2, 1]);
  });
});

describe("coredns name compression", () => {
  it("points repeated names at earlier ones; the message decodes to the same records, SRV targets written out", () => {
    const p = {
      type: "response" as const,
      id: 7,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: [{ name: "Alias.default.svc.cluster.local", type: "A" as const }],
      answers: [
        { name: "Alias.default.svc.cluster.local", type: "CNAME", ttl: 30, class: "IN", data: "kubia.default.svc.cluster.local" },
        { name: "kubia.default.svc.cluster.local", type: "A", ttl: 30, class: "IN", data: "127.96.3.4" },
        { name: "4.3.96.127.in-addr.arpa", type: "PTR", ttl: 30, class: "IN", data: "kubia.default.svc.cluster.local" },
        { name: "kubia.default.svc.cluster.local", type: "SRV", ttl: 30, class: "IN", data: { priority: 0, weight: 100, port: 80, target: "kubia.default.svc.cluster.local" } },
        { name: "cluster.local", type: "NS", ttl: 30, class: "IN", data: "ns.dns.cluster.local" },
      ] as Answer[],
      authorities: [{ name: "cluster.local", type: "SOA", ttl: 30, class: "IN", data: { mname: "ns.dns.cluster.local", rname: "hostmaster.cluster.local", serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 } }] as Answer[],
      additionals: [{ name: ".", type: "OPT", udpPayloadSize: 1232, flags: 0, options: [] } as unknown as Answer],
    };
    const plain = dnsPacket.encode(p);
    const packed = compressMessage(plain);
    expect(packed.length).toBeLessThan(plain.length * 0.6);
    const a = dnsPacket.decode(packed);
    const b = dnsPacket.decode(plain);
    const norm = (x: typeof a) => JSON.stringify([x.questions, x.answers, x.authorities, x.additionals]);
    expect(norm(a)).toBe(norm(b));
    // the SRV target is spelled out in full (RFC 2782)
    expect(packed.includes(Buffer.from("\x05kubia\x07default\x03svc\x07cluster\x05local\x00", "latin1"))).toBe(true);
    expect(compressMessage(Buffer.from("junk"))).toEqual(Buffer.from("junk"));
  });
});

describe("coredns Corefile", () => {
  it("parses minikube's Corefile into the plugins' settings", () => {
    const c = serverConfig(parseCorefile(MINIKUBE, "/etc/coredns/Corefile")[0]!, "/etc/coredns/Corefile");
    expect(c.zones).toEqual(["."]);
    expect(c.port).toBe(53);
    expect(c.plugins).toEqual(["log", "errors", "health", "ready", "kubernetes", "prometheus", "hosts", "forward", "cache", "loop", "reload", "loadbalance"]);
    expect(c.kubernetes).toMatchObject({ zones: ["cluster.local.", "in-addr.arpa.", "ip6.arpa."], pods: "insecure", fallthrough: ["in-addr.arpa.", "ip6.arpa."], ttl: 30 });
    expect(c.forward).toMatchObject({ from: ".", to: ["/etc/resolv.conf"], maxConcurrent: 1000 });
    expect(c.health).toEqual({ address: ":8080", lameduckMs: 5000 });
    expect(c.hosts!.inline).toEqual([{ ip: "192.168.49.1", names: ["host.minikube.internal."] }]);
    expect(c.cache!.ttl).toBe(30);
  });

  it("an unknown directive fails at start in CoreDNS's words", () => {
    expect(() => parseCorefile(".:53 {\n    errors\n    bogus\n}\n", "/etc/coredns/Corefile")).toThrow("/etc/coredns/Corefile:3 - Error during parsing: Unknown directive 'bogus'");
    expect(() => serverConfig(parseCorefile(".:53 {\n kubernetes cluster.local {\n   pods maybe\n }\n}\n", "Corefile")[0]!, "Corefile")).toThrow("wrong value for pods: maybe");
    expect(() => serverConfig(parseCorefile(".:53 {\n rewrite name a b\n}\n", "Corefile")[0]!, "Corefile")).toThrow("plugin/rewrite: Corefile:2 - not supported by kubemu's coredns");
    expect(() => serverConfig(parseCorefile(".:53 {\n forward . 1.2.3.4 {\n   health_check 5s\n }\n}\n", "Corefile")[0]!, "Corefile")).toThrow("plugin/forward: Corefile:3 - property 'health_check' is not supported by kubemu's coredns");
    expect(() => serverConfig(parseCorefile(".:53 {\n forward . 1.2.3.4 {\n   bogus\n }\n}\n", "Corefile")[0]!, "Corefile")).toThrow("plugin/forward: Corefile:3 - Error during parsing: unknown property 'bogus'");
  });
});
