/**
 * Cluster DNS end to end: real etcd, API server, scheduler, controller-manager (deployment,
 * replicaset, statefulset, endpointslice, serviceaccount controllers), two kubelets and two
 * kube-proxies; the coredns Deployment `up` creates runs as two pods behind kube-dns. Queries come
 * from a busybox pod (its ClusterFirst resolv.conf) and from the host through kube-proxy. The
 * cluster's own addresses: etcd 127.1.160.x, API 127.1.161.x, scheduler 127.1.162.x, nodes
 * 127.1.163.N, controller-manager 127.1.164.1, pods 127.230.N.0/24, a fake upstream resolver on
 * 127.1.169.53; Services get ClusterIPs 127.96.160.x chosen here (kube-proxy binds them on the
 * shared host, so never the 127.96.0.x a user's cluster uses) and `kubernetes` is not proxied.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { fileURLToPath } from "node:url";
import dnsPacket from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resources } from "@kubemu/common";
import { coreDns } from "../src/addons/coredns.js";
import { eventually, KubeletHarness, pidsMentioning } from "../../kubelet/test/e2e/harness.js";

const MANAGER_MAIN = fileURLToPath(new URL("../../controller-manager/dist/main.js", import.meta.url));
const PROXY_MAIN = fileURLToPath(new URL("../../kube-proxy/dist/main.js", import.meta.url));
const COREDNS_MAIN = fileURLToPath(new URL("../../images/dist/programs/coredns.js", import.meta.url));
const DNS_IP = "127.96.160.10";
const KUBIA_IP = "127.96.160.20";
const UPSTREAM = "127.1.169.53";
const BUSYBOX_INSTALLED = (process.env.PATH ?? "").split(":").some((d) => d !== "" && existsSync(`${d}/busybox`));
const NODES = [
  { name: "dns-1", n: 1 },
  { name: "dns-2", n: 2 },
];

const h = new KubeletHarness(
  { etcd: "127.1.160", api: "127.1.161", scheduler: "127.1.162" },
  NODES.map((n) => ({ ...n, args: ["--cluster-dns", DNS_IP] })),
  { nodes: "127.1.163", pods: "127.230" },
);

const COREFILE = (api: string) => `.:53 {
    log
    errors
    health {
       lameduck 2s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       endpoint ${api}
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . ${UPSTREAM} {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;

const APPS = `apiVersion: v1
kind: Service
metadata:
  name: nginx
spec:
  clusterIP: None
  selector: {app: nginx}
  ports:
  - {name: web, port: 80}
---
apiVersion: v1
kind: Service
metadata:
  name: kubia-public
spec:
  clusterIP: ${KUBIA_IP}
  selector: {app: kubia}
  ports:
  - {name: http, port: 80, targetPort: 8080}
---
apiVersion: v1
kind: Service
metadata:
  name: kubia
spec:
  clusterIP: None
  selector: {app: kubia}
  ports:
  - {name: http, port: 80}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: kubia
spec:
  serviceName: kubia
  podManagementPolicy: Parallel
  replicas: 2
  selector:
    matchLabels: {app: kubia}
  template:
    metadata:
      labels: {app: kubia}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: kubia
        image: luksa/kubia-pet-peers
        ports:
        - {containerPort: 8080, name: http}
        volumeMounts:
        - {name: data, mountPath: /var/data}
      volumes:
      - name: data
        emptyDir: {}
---
apiVersion: v1
kind: Service
metadata:
  name: external-service
spec:
  type: ExternalName
  externalName: example.test
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  podManagementPolicy: Parallel
  replicas: 2
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: nginx
        image: registry.k8s.io/nginx-slim:0.8
        ports:
        - {containerPort: 80, name: web}
---
apiVersion: v1
kind: Pod
metadata:
  name: dns-test
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: dns-test
    image: busybox:1.28
    command: [sleep, "3600"]
`;

/** A resolver for everything outside the cluster: example.test is 127.1.169.99, the rest NXDOMAIN. */
class FakeUpstream {
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  queries: string[] = [];

  private answer(msg: Buffer): Buffer {
    const q = dnsPacket.decode(msg);
    const question = q.questions![0]!;
    this.queries.push(`${question.type} ${question.name}`);
    const found = question.name.toLowerCase() === "example.test" && question.type === "A";
    return dnsPacket.encode({ type: "response", id: q.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (found ? 0 : 3), questions: q.questions, answers: found ? [{ name: "example.test", type: "A", ttl: 300, class: "IN", data: "127.1.169.99" }] : [] });
  }

  async start(): Promise<void> {
    this.udp = createSocket("udp4");
    this.udp.on("message", (m, r) => this.udp!.send(this.answer(m), r.port, r.address));
    await new Promise<void>((r) => this.udp!.bind(53, UPSTREAM, r));
    this.tcp = createServer((c) => {
      c.on("error", () => undefined);
      c.on("data", (d: Buffer) => c.write(dnsPacket.streamEncode(dnsPacket.decode(this.answer(d.subarray(2))))));
    });
    await new Promise<void>((r) => this.tcp!.listen(53, UPSTREAM, r));
  }

  stop(): void {
    this.udp?.close();
    this.tcp?.close();
    this.udp = undefined;
    this.tcp = undefined;
  }
}
const upstream = new FakeUpstream();

function dig(args: string[]): Promise<{ out: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => execFile("dig", ["+time=3", "+tries=1", ...args], { timeout: 15_000 }, (_e, stdout) => resolve({ out: stdout.toString(), ms: Date.now() - t0 })));
}

const json = async (args: string[]) => JSON.parse(await h.kubectl.ok([...args, "-o", "json"])) as Record<string, any>;
const exec = (pod: string, cmd: string[]) => h.kubectl.run(["exec", pod, "--", ...cmd], { timeoutMs: 20_000 });
let dnsPods: { name: string; ip: string }[] = [];

/** What each coredns pod answers for a name, the slices it should come from, and the pods' logs (for failure messages). */
async function diagnose(name: string): Promise<string> {
  const out: string[] = [];
  for (const p of dnsPods) out.push(`@${p.ip}: ${(await dig([`@${p.ip}`, "+noall", "+answer", "+comments", name])).out}`);
  out.push((await h.kubectl.run(["get", "endpointslices", "-o", "yaml"])).stdout);
  for (const p of dnsPods) out.push((await h.kubectl.run(["-n", "kube-system", "logs", p.name])).stdout.split("\n").filter((l) => !l.includes("[INFO] 127.")).join("\n"));
  return out.join("\n");
}

beforeAll(async () => {
  for (const f of [MANAGER_MAIN, PROXY_MAIN, COREDNS_MAIN]) if (!existsSync(f)) throw new Error(`${f} is missing: run "npx tsc -b" before these tests`);
  await upstream.start();
  await h.start();
  const urls = h.cluster.apiservers.map((a) => a.url).join(",");
  // This cluster's `kubernetes` Service (127.96.0.1) must not be proxied here: a real cluster may hold it.
  await h.client.patch(Resources.services, "default", "kubernetes", "merge", { metadata: { labels: { "service.kubernetes.io/service-proxy-name": "none" } } });
  h.cluster.spawn("controller-manager-0", [
    MANAGER_MAIN, "--name", "controller-manager-0", "--bind-address", "127.1.164.1", "--port", "10257", "--apiserver-urls", urls, "--profile", "fast", "--log-level", "info",
    "--controllers", "deployment-controller,replicaset-controller,statefulset-controller,endpointslice-controller,serviceaccount-controller",
  ]);
  for (const n of NODES) {
    h.cluster.spawn(`kube-proxy-${n.name}`, [PROXY_MAIN, "--name", `kube-proxy-${n.name}`, "--node-name", n.name, "--node-ip", `127.1.163.${n.n}`, "--apiserver-urls", urls, "--log-level", "info"]);
  }
  await h.cluster.waitReady("http://127.1.164.1:10257");

  // The addon objects `up` creates, with this cluster's API (plain HTTP on its own address, so the
  // Corefile's endpoint rather than in-cluster config), its DNS address and the fake upstream.
  for (const a of coreDns()) {
    const o = structuredClone(a.object) as Record<string, any>;
    if (o.kind === "ConfigMap") o.data.Corefile = COREFILE(h.cluster.apiservers[0]!.url);
    if (o.kind === "Service") o.spec.clusterIP = DNS_IP;
    if (o.kind === "Deployment") o.spec.template.spec.terminationGracePeriodSeconds = 5;
    await h.kubectl.ok(["create", "-f", "-"], { input: JSON.stringify(o) });
  }
  await h.kubectl.ok(["apply", "-f", "-"], { input: APPS });
  await eventually(() => json(["-n", "kube-system", "get", "deployment", "coredns"]), (d) => d.status?.readyReplicas === 2, "coredns 2/2 ready", 90_000).catch(async (e: Error) => {
    const all = await h.kubectl.run(["get", "pods,rs,deploy,ev", "-A", "-o", "wide"]);
    throw new Error(`${e.message.slice(0, 300)}\n${all.stdout}${all.stderr}\n${h.output("controller-manager-0").slice(-3000)}\n${h.output("kubelet-dns-1").slice(-3000)}`);
  });
  const pods = await json(["-n", "kube-system", "get", "pods", "-l", "k8s-app=kube-dns"]);
  dnsPods = pods.items.map((p: any) => ({ name: p.metadata.name, ip: p.status.podIP }));
  await eventually(() => json(["get", "pods"]), (l) => l.items.length === 5 && l.items.every((p: any) => p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True")), "web-0, web-1, kubia-0, kubia-1 and dns-test ready", 90_000).catch(async (e: Error) => {
    const all = await h.kubectl.run(["get", "pods,sts", "-o", "wide"]);
    const crashed = await h.kubectl.run(["logs", "web-0", "--previous"]);
    all.stdout += `\nweb-0's last container:\n${crashed.stdout}${crashed.stderr}`;
    throw new Error(`${e.message.slice(0, 200)}\n${all.stdout}${all.stderr}\n${h.output("controller-manager-0").slice(-3000)}`);
  });
  // Both pods of each headless service in its slice before any query (a NXDOMAIN would be cached 30 s).
  for (const svc of ["nginx", "kubia"]) {
    await eventually(
      () => json(["get", "endpointslices", "-l", `kubernetes.io/service-name=${svc}`]),
      (l) => l.items.flatMap((s: any) => s.endpoints ?? []).filter((e: any) => e.conditions?.ready && e.hostname).length === 2,
      `${svc}'s two endpoints ready`,
      60_000,
    );
  }
}, 240_000);

afterAll(async () => {
  upstream.stop();
  await h.stop();
}, 30_000);

describe("cluster DNS (coredns pods behind kube-dns)", () => {
  it("a ClusterFirst pod's resolv.conf names kube-dns with the namespace's search list and ndots:5", async () => {
    const r = await exec("dns-test", ["cat", "/etc/resolv.conf"]);
    expect(r.stdout).toBe(`search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver ${DNS_IP}\noptions ndots:5\n`);
  }, 30_000);

  it("nslookup web-0.nginx from a busybox:1.28 pod answers the StatefulSet pod's address in 1.28's format", async () => {
    const web0 = await json(["get", "pod", "web-0"]);
    const r = await exec("dns-test", ["nslookup", "web-0.nginx"]);
    if (!r.stdout.includes("Name:")) throw new Error(`${r.stdout}\n${await diagnose("web-0.nginx.default.svc.cluster.local")}`);
    expect(r.stdout).toContain(DNS_IP);
    const ptr = await exec("dns-test", ["nslookup", web0.status.podIP]);
    expect(ptr.stdout).toContain("web-0.nginx.default.svc.cluster.local");
    if (BUSYBOX_INSTALLED) {
      // busybox:1.28's own format (seed 000): the server with its reverse name, the name as typed, numbered addresses with theirs.
      const server = `Server:    ${DNS_IP}\nAddress 1: ${DNS_IP} kube-dns.kube-system.svc.cluster.local\n\n`;
      expect(r.stdout).toBe(`${server}Name:      web-0.nginx\nAddress 1: ${web0.status.podIP} web-0.nginx.default.svc.cluster.local\n`);
      expect(ptr.stdout).toBe(`${server}Name:      ${web0.status.podIP}\nAddress 1: ${web0.status.podIP} web-0.nginx.default.svc.cluster.local\n`);
      const missing = await exec("dns-test", ["nslookup", "nosuch"]);
      expect(missing.stdout).toBe(server);
      // kubectl adds its own "command terminated with exit code 1" line after the program's.
      expect(missing.stderr.startsWith("nslookup: can't resolve 'nosuch'\n")).toBe(true);
      expect(missing.code).toBe(1);
    } else {
      // Without busybox the host's (bind9) nslookup answers, with the search list applied.
      expect(r.stdout).toMatch(new RegExp(`Name:\\s+web-0\\.nginx\\.default\\.svc\\.cluster\\.local\\s+Address:?\\s+${web0.status.podIP.replace(/\./g, "\\.")}`));
    }
    // seed 003's `curl stateful-pvc-0.stateful-headless:8080/hostname`: a pod by its stable name through the search list
    const http = await exec("dns-test", ["wget", "-qO-", "http://web-0.nginx/"]);
    expect(http.stdout).toContain("<title>Welcome to nginx!</title>");
  }, 30_000);

  // With busybox installed, busybox:latest gets its own nslookup (1.29+), which reads only the
  // nameserver lines of resolv.conf, as on a real cluster: the short name is NXDOMAIN, the FQDN resolves.
  it.skipIf(!BUSYBOX_INSTALLED)("kubectl run -i --rm --image=busybox -- nslookup: busybox 1.29+'s nslookup skips the search list (NXDOMAIN), the FQDN answers", async () => {
    const web0 = await json(["get", "pod", "web-0"]);
    const short = await h.kubectl.run(["run", "bb-short", "-i", "--rm", "--restart=Never", "--image=busybox", "--", "nslookup", "web-0.nginx"], { timeoutMs: 40_000 });
    expect(short.stdout).toMatch(new RegExp(`Server:\\s+${DNS_IP.replace(/\./g, "\\.")}\nAddress:\\s+${DNS_IP.replace(/\./g, "\\.")}:53`));
    expect(short.stdout).toContain("** server can't find web-0.nginx: NXDOMAIN");
    const fqdn = await h.kubectl.run(["run", "bb-fqdn", "-i", "--rm", "--restart=Never", "--image=busybox", "--", "nslookup", "web-0.nginx.default.svc.cluster.local"], { timeoutMs: 40_000 });
    expect(fqdn.stdout).toMatch(new RegExp(`Name:\\s+web-0\\.nginx\\.default\\.svc\\.cluster\\.local\nAddress: ${web0.status.podIP.replace(/\./g, "\\.")}`));
  }, 90_000);

  it("SRV records: a named port of a ClusterIP service, and one target per pod of the headless service with their addresses", async () => {
    const svc = await exec("dns-test", ["dig", "+noall", "+answer", "+additional", "SRV", "_http._tcp.kubia-public.default.svc.cluster.local"]);
    expect(svc.stdout).toMatch(/_http\._tcp\.kubia-public\.default\.svc\.cluster\.local\.\s+30\s+IN\s+SRV\s+0 100 80 kubia-public\.default\.svc\.cluster\.local\./);
    expect(svc.stdout).toMatch(new RegExp(`kubia-public\\.default\\.svc\\.cluster\\.local\\.\\s+30\\s+IN\\s+A\\s+${KUBIA_IP.replace(/\./g, "\\.")}`));
    const headless = await exec("dns-test", ["dig", "+noall", "+answer", "+additional", "SRV", "nginx.default.svc.cluster.local"]);
    const ips = Object.fromEntries((await json(["get", "pods", "-l", "app=nginx"])).items.map((p: any) => [p.metadata.name, p.status.podIP]));
    for (const pod of ["web-0", "web-1"]) {
      expect(headless.stdout).toMatch(new RegExp(`nginx\\.default\\.svc\\.cluster\\.local\\.\\s+30\\s+IN\\s+SRV\\s+0 50 80 ${pod}\\.nginx\\.default\\.svc\\.cluster\\.local\\.`));
      expect(headless.stdout).toMatch(new RegExp(`${pod}\\.nginx\\.default\\.svc\\.cluster\\.local\\.\\s+30\\s+IN\\s+A\\s+${String(ips[pod]).replace(/\./g, "\\.")}`));
    }
  }, 30_000);

  it("kubia-pet-peers (Kubernetes in Action ch. 10) finds its peers through the SRV records and shows every pod's data", async () => {
    const pods = (await json(["get", "pods", "-l", "app=kubia"])).items as any[];
    for (const p of pods) {
      const r = await fetch(`http://${p.status.podIP}:8080/`, { method: "POST", body: `data of ${p.metadata.name}` });
      expect(await r.text()).toBe(`Data stored on pod ${p.metadata.name}\n`);
    }
    const r = await exec("dns-test", ["wget", "-qO-", "kubia-public"]);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^You've hit kubia-[01]$/);
    expect(lines[1]).toBe("Data stored in the cluster:");
    expect(lines.slice(2, 4).sort()).toEqual(["- kubia-0.kubia.default.svc.cluster.local: data of kubia-0", "- kubia-1.kubia.default.svc.cluster.local: data of kubia-1"]);
  }, 30_000);

  it("an ExternalName service is a CNAME resolved through the upstream; other names are forwarded", async () => {
    const r = await exec("dns-test", ["dig", "+short", "external-service.default.svc.cluster.local"]);
    expect(r.stdout).toBe("example.test.\n127.1.169.99\n");
    const fwd = await dig([`@${DNS_IP}`, "+short", "example.test"]);
    expect(fwd.out).toBe("127.1.169.99\n");
  }, 30_000);

  it("from the host through kube-proxy and straight to each pod: A, NXDOMAIN with the SOA, PTR of the ClusterIP", async () => {
    for (const server of [DNS_IP, ...dnsPods.map((p) => p.ip)]) {
      expect((await dig([`@${server}`, "+short", "kubia-public.default.svc.cluster.local"])).out).toBe(`${KUBIA_IP}\n`);
    }
    const nx = await dig([`@${DNS_IP}`, "nope.default.svc.cluster.local"]);
    expect(nx.out).toContain("status: NXDOMAIN");
    expect(nx.out).toContain("flags: qr aa rd;");
    expect(nx.out).toMatch(/cluster\.local\.\s+30\s+IN\s+SOA\s+ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 30/);
    expect((await dig([`@${DNS_IP}`, "+short", "-x", KUBIA_IP])).out).toBe("kubia-public.default.svc.cluster.local.\n");
    expect((await dig([`@${DNS_IP}`, "+short", "-x", DNS_IP])).out).toBe("kube-dns.kube-system.svc.cluster.local.\n");
  }, 60_000);

  it("an answer too big for UDP is truncated and the client gets it whole over TCP (through kube-proxy too)", async () => {
    await h.kubectl.ok(["apply", "-f", "-"], {
      input: JSON.stringify({ apiVersion: "v1", kind: "Service", metadata: { name: "many" }, spec: { clusterIP: "None", ports: [{ name: "x", port: 9 }] } }),
    });
    await h.kubectl.ok(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name: "many-1", labels: { "kubernetes.io/service-name": "many", "endpointslice.kubernetes.io/managed-by": "e2e" } },
        addressType: "IPv4",
        ports: [{ name: "x", port: 9, protocol: "TCP" }],
        endpoints: Array.from({ length: 40 }, (_, i) => ({ addresses: [`127.230.9.${i + 1}`], conditions: { ready: true } })),
      }),
    });
    const udp = await eventually(() => dig([`@${DNS_IP}`, "+ignore", "+noedns", "many.default.svc.cluster.local"]), (r) => r.out.includes("flags: qr aa tc rd;"), "a truncated UDP answer", 20_000);
    expect(udp.out).toContain("status: NOERROR");
    const tcp = await dig([`@${DNS_IP}`, "+noedns", "+short", "many.default.svc.cluster.local"]);
    expect(tcp.out.trim().split("\n").sort()).toEqual(Array.from({ length: 40 }, (_, i) => `127.230.9.${i + 1}`).sort());
  }, 60_000);

  it("serves metrics, logs queries in CoreDNS's format, and answers SERVFAIL quickly when the upstream is gone", async () => {
    const metrics = await (await fetch(`http://${dnsPods[0]!.ip}:9153/metrics`)).text();
    expect(metrics).toMatch(/coredns_dns_requests_total\{server="dns:\/\/:53",zone=".",view="",proto="udp",family="1",type="A"\} \d+/);
    expect(metrics).toContain('coredns_build_info{version="1.11.3"');
    expect((await fetch(`http://${dnsPods[0]!.ip}:8181/ready`)).status).toBe(200);
    const logs = (await Promise.all(dnsPods.map((p) => h.kubectl.ok(["-n", "kube-system", "logs", p.name])))).join("\n");
    expect(logs).toContain("CoreDNS-1.11.3");
    expect(logs).toMatch(/\[INFO\] 127\.[\d.]+:\d+ - \d+ "A IN kubia-public\.default\.svc\.cluster\.local\. udp \d+ false \d+" NOERROR qr,aa,rd \d+ [\d.]+s/);
    upstream.stop();
    const r = await dig([`@${DNS_IP}`, "gone.test"]);
    expect(r.out).toContain("status: SERVFAIL");
    expect(r.ms).toBeLessThan(1500);
  }, 60_000);

  it("a coredns container SIGKILLed mid-traffic: the queries routed to it are lost until its pod leaves kube-dns's endpoints", async () => {
    const victim = dnsPods[1]!;
    const pid = pidsMentioning("programs/coredns.js").find((p) => {
      try {
        return readFileSync(`/proc/${p}/environ`, "utf8").split("\0").includes(`POD_IP=${victim.ip}`);
      } catch {
        return false;
      }
    });
    expect(pid).toBeDefined();
    const query = dnsPacket.encode({ type: "query", id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: "kubia-public.default.svc.cluster.local", type: "A" }] });
    const outcomes: { at: number; ok: boolean }[] = [];
    const t0 = performance.now();
    let killedAt = 0;
    const client = async () => {
      const s = createSocket("udp4");
      await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
      while (performance.now() - t0 < 14_000) {
        const at = performance.now() - t0;
        const ok = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), 300);
          s.once("message", (m) => {
            clearTimeout(t);
            resolve((m[3]! & 0xf) === 0 && m.readUInt16BE(6) > 0);
          });
          s.send(query, 53, DNS_IP);
        });
        s.removeAllListeners("message");
        outcomes.push({ at, ok });
      }
      s.close();
    };
    const load = Promise.all(Array.from({ length: 8 }, client));
    await new Promise((r) => setTimeout(r, 2000));
    killedAt = performance.now() - t0;
    process.kill(pid!, "SIGKILL");
    await load;
    const failed = outcomes.filter((o) => !o.ok);
    const lastFailure = failed.length ? Math.max(...failed.map((o) => o.at)) - killedAt : 0;
    console.log(`coredns pod ${victim.name} SIGKILLed: ${failed.length} of ${outcomes.length} queries lost (300 ms client timeout), the last one sent ${Math.round(lastFailure)} ms after the kill`);
    // Everything sent in the last seconds was answered: the pod left the endpoints (or came back).
    expect(outcomes.filter((o) => o.at > 11_000).every((o) => o.ok)).toBe(true);
    expect(failed.every((o) => o.at >= killedAt - 350)).toBe(true);
  }, 60_000);
});
