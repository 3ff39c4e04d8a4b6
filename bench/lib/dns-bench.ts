/**
 * The cluster-DNS rows of `npm run bench -- network`: two coredns processes (the images program,
 * minikube's Corefile with the kubernetes plugin pointed at the bench's API servers) on
 * 127.0.185.11/.12, Service kube-dns on 127.96.223.10 (53/UDP) with an EndpointSlice naming both,
 * served by the bench's kube-proxies. Rows: A queries for a service name from many (--dns-clients)
 * and from 8 concurrent clients, straight to one pod and through the ClusterIP (q/s, p50, p99),
 * the load generator being this one Node process on the same machine; then open loop, 10,000 q/s
 * in all over --dns-clients sockets from a process of its own (dns-open-loop-driver.ts, sends
 * paced by Atomics.wait to the due time; once more direct with timer pacing to show what that costs),
 * latency from each query's due time (the goal's figure). Then one coredns is
 * SIGKILLed mid-traffic and its endpoint dropped from the slice at once (as the EndpointSlice
 * controller does when the pod goes): the queries lost and how long until every query is answered.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Resources, type ApiClient } from "@kubemu/common";
import { dnsLoad, type DnsOutcome } from "./dns-load.js";
import type { DnsOpenLoopResult, DnsOpenLoopSpec } from "./dns-open-loop-driver.js";
import { percentile } from "./load.js";
import { sleep, spawnChild, stopChild, type Child } from "./procs.js";

const DRIVER = fileURLToPath(new URL("./dns-open-loop-driver.ts", import.meta.url));
const corednsJs = fileURLToPath(new URL("../../packages/images/dist/programs/coredns.js", import.meta.url));
const DNS_PODS = ["127.0.185.11", "127.0.185.12"];
const KUBE_DNS = "127.96.223.10";
const NAME = "rr.default.svc.cluster.local";
const FEW_CLIENTS = 8;
/** The goal's rate, sent open loop. */
const GOAL_QPS = 10_000;

const corefile = (api: string) => `.:53 {
    log
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       endpoint ${api}
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . 127.0.185.53 {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;

const r3 = (n: number) => Math.round(n * 1000) / 1000;

export interface DnsRow {
  qps: number;
  p50ms: number;
  p99ms: number;
  queries: number;
  failed: number;
  /** Open loop: how late the load generator itself sent, ms. */
  sendLagP50ms?: number;
  sendLagP99ms?: number;
  /** Open loop: from the actual send to the answer, ms. */
  fromSendP50ms?: number;
  fromSendP99ms?: number;
  /** Open loop: from due time. */
  p999ms?: number;
  maxms?: number;
  pacing?: DnsOpenLoopSpec["pacing"];
  /** Open loop: the driver process's CPU, % of one core. */
  driverCpuPct?: number;
}

/** One open-loop run in its own process (1 s warm-up sent, not counted). */
async function openLoop(root: string, key: string, server: string, clients: number, seconds: number, pacing: DnsOpenLoopSpec["pacing"]): Promise<DnsRow> {
  const out = join(root, `dns-open-loop-${key}.json`);
  const spec: DnsOpenLoopSpec = { server, port: 53, name: NAME, clients, ratePerSec: GOAL_QPS, warmupSeconds: 1, seconds, timeoutMs: 1000, pacing, out };
  const log = join(root, `dns-open-loop-${key}.out`);
  const { code } = await spawnChild(`dns-open-loop-${key}`, process.execPath, ["--import", "tsx", DRIVER, JSON.stringify(spec)], log).exited;
  if (code !== 0) throw new Error(`dns open-loop driver exited ${code} (log: ${log})`);
  const r = JSON.parse(readFileSync(out, "utf8")) as DnsOpenLoopResult;
  return {
    qps: r.achievedPerSec,
    p50ms: r.fromDue.p50ms,
    p99ms: r.fromDue.p99ms,
    queries: r.scheduled,
    failed: r.errors + r.timeouts,
    sendLagP50ms: r.sendLag.p50ms,
    sendLagP99ms: r.sendLag.p99ms,
    fromSendP50ms: r.fromSend.p50ms,
    fromSendP99ms: r.fromSend.p99ms,
    p999ms: r.fromDue.p999ms,
    maxms: r.fromDue.maxms,
    pacing: r.pacing,
    driverCpuPct: r.cpuPct,
  };
}

function row(outs: DnsOutcome[], seconds: number): DnsRow {
  const ok = outs.filter((x) => x.ok).map((x) => x.ms).sort((a, b) => a - b);
  return { qps: Math.round(ok.length / seconds), p50ms: r3(percentile(ok, 0.5)), p99ms: r3(percentile(ok, 0.99)), queries: outs.length, failed: outs.length - ok.length };
}

export async function dnsRows(root: string, apiserver: string, client: ApiClient, o: { seconds: number; clients: number }): Promise<Record<string, unknown>> {
  const conf = join(root, "Corefile");
  writeFileSync(conf, corefile(apiserver));
  const start = (ip: string) => spawnChild(`coredns-${ip}`, process.execPath, [corednsJs, "-conf", conf], join(root, `coredns-${ip}.out`), { ...process.env, POD_IP: ip });
  const pods: Child[] = DNS_PODS.map(start);
  const slice = (ips: string[]) => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "kube-dns-1", namespace: "kube-system", labels: { "kubernetes.io/service-name": "kube-dns" } },
    addressType: "IPv4",
    ports: [{ name: "dns", port: 53, protocol: "UDP" }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: "n1" })),
  });
  try {
    await client.create(Resources.services, { apiVersion: "v1", kind: "Service", metadata: { name: "kube-dns", namespace: "kube-system" }, spec: { clusterIP: KUBE_DNS, ports: [{ name: "dns", port: 53, protocol: "UDP", targetPort: 53 }] } });
    await client.create(Resources.endpointSlices, slice(DNS_PODS));
    for (const ip of DNS_PODS) {
      for (let i = 0; ; i++) {
        const ready = await fetch(`http://${ip}:8181/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200, () => false);
        if (ready) break;
        if (i > 300) throw new Error(`coredns on ${ip} not ready`);
        await sleep(100);
      }
    }
    // Warm up both paths (the cache fills, kube-proxy binds the ClusterIP).
    for (let i = 0; ; i++) {
      const w = await dnsLoad(KUBE_DNS, 53, NAME, { clients: 4, durationMs: 300, timeoutMs: 500 });
      if (w.length > 0 && w.every((x) => x.ok)) break;
      if (i > 100) throw new Error("kube-dns ClusterIP not answering");
    }
    const ms = o.seconds * 1000;
    // Closed loop: with every client waiting on its answer, latency at saturation is mostly queueing
    // (clients / rate), so the same rows are also taken with few clients.
    const rows: Record<string, DnsRow> = {};
    for (const clients of [o.clients, FEW_CLIENTS]) {
      rows[`direct${clients}`] = row(await dnsLoad(DNS_PODS[0]!, 53, NAME, { clients, durationMs: ms, timeoutMs: 1000 }), o.seconds);
      rows[`clusterIP${clients}`] = row(await dnsLoad(KUBE_DNS, 53, NAME, { clients, durationMs: ms, timeoutMs: 1000 }), o.seconds);
      const d = rows[`direct${clients}`]!;
      const c = rows[`clusterIP${clients}`]!;
      console.log(`DNS A ${NAME}, ${clients} clients for ${o.seconds} s: direct ${d.qps} q/s p50 ${d.p50ms} p99 ${d.p99ms} ms; via ${KUBE_DNS} ${c.qps} q/s p50 ${c.p50ms} p99 ${c.p99ms} ms`);
    }
    // Open loop at the goal's rate from many clients: the latency a client sees at 10,000 q/s.
    const openRuns = [
      ["openLoopDirect", DNS_PODS[0]!, "sleep"],
      ["openLoopClusterIP", KUBE_DNS, "sleep"],
      ["openLoopDirectTimerPaced", DNS_PODS[0]!, "timer"],
    ] as const;
    for (const [key, target, pacing] of openRuns) {
      const r = (rows[key] = await openLoop(root, key, target, o.clients, o.seconds, pacing));
      console.log(`DNS A ${NAME}, open loop ${GOAL_QPS} q/s over ${o.clients} clients for ${o.seconds} s (${pacing} pacing, driver ${r.driverCpuPct}% CPU), ${target === KUBE_DNS ? `via ${KUBE_DNS}` : "direct"}: ${r.qps} q/s answered, p50 ${r.p50ms} p99 ${r.p99ms} p99.9 ${r.p999ms} ms from due time (the sender's own lateness p50 ${r.sendLagP50ms} p99 ${r.sendLagP99ms} ms; from the actual send p50 ${r.fromSendP50ms} p99 ${r.fromSendP99ms} ms), ${r.failed} failed`);
    }

    // One coredns SIGKILLed 2 s into the run; its endpoint leaves the slice right away.
    const killAt = 2000;
    const load = dnsLoad(KUBE_DNS, 53, NAME, { clients: o.clients, durationMs: killAt + 4000, timeoutMs: 1000 });
    await sleep(killAt);
    const tKill = performance.now();
    pods[1]!.proc.kill("SIGKILL");
    const cur = await client.get(Resources.endpointSlices, "kube-system", "kube-dns-1");
    await client.update(Resources.endpointSlices, { ...slice([DNS_PODS[0]!]), metadata: { ...slice([]).metadata, resourceVersion: cur.metadata.resourceVersion } });
    const sliceUpdatedMs = performance.now() - tKill;
    const outs = await load;
    const failed = outs.filter((x) => !x.ok);
    const lastFailedSentAt = failed.length ? Math.max(...failed.map((x) => x.sentAt)) : killAt;
    const kill = {
      queries: outs.length,
      failed: failed.length,
      timeouts: failed.filter((x) => x.timeout).length,
      sliceUpdatedAfterMs: Math.round(sliceUpdatedMs),
      allAnsweredAgainAfterMs: Math.max(0, Math.round(lastFailedSentAt - killAt)),
      clientTimeoutMs: 1000,
    };
    console.log(`coredns SIGKILLed mid-traffic: ${kill.failed} of ${kill.queries} queries lost (${kill.timeouts} timed out), slice updated after ${kill.sliceUpdatedAfterMs} ms, every query answered again ${kill.allAnsweredAgainAfterMs} ms after the kill`);
    return { name: NAME, clients: o.clients, seconds: o.seconds, corefile: "minikube's (log, cache 30, loadbalance, …)", rows, killOne: kill, goal: { qps: GOAL_QPS, p99ms: 5 }, meetsGoal: Object.fromEntries(Object.entries(rows).filter(([k]) => k !== "openLoopDirectTimerPaced").map(([k, r]) => [k, r.qps >= GOAL_QPS * 0.99 && r.p99ms <= 5])) };
  } finally {
    for (const p of pods) await stopChild(p, "SIGKILL", 3000);
  }
}
