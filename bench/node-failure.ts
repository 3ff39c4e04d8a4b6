/**
 * `npm run bench -- node-failure`: how long a real cluster takes to notice a dead node and put its
 * pods back (issue 11's timed test, as a benchmark row rather than a timed assertion).
 *
 * Real processes on private loopback addresses (lib/node-cluster.ts): 3 kubemu-etcd, 2
 * kubemu-apiserver, 1 kubemu-scheduler, 1 kubemu-controller-manager (every controller) on
 * 127.1.120.x, and 3 kubemu-kubelets (nodes 127.1.121.N, pods 127.247.N.0/24), all --profile
 * fast. A Deployment of 6 pause pods (a soft hostname spread) runs Ready on the 3 nodes; then,
 * per run, the kubelet with the most of them is SIGKILLed (its containers die with it) and the
 * benchmark times, from the kill, as a client watching the API sees it:
 *   (a) the Node's Ready condition Unknown (kubectl: NotReady),
 *   (b) the node tainted node.kubernetes.io/unreachable:NoExecute,
 *   (c) every pod of the killed node deleted or terminating (evicted),
 *   (d) 6 Ready pods again on the surviving nodes,
 * and the steps between (pods marked not Ready, replacements created and bound).
 *
 * Between runs the killed kubelet is started again on the same root dir and the run waits until
 * its node is Ready and untainted and its evicted pods are gone (the kubelet confirms their
 * deletion), so every run starts from 3 Ready nodes. Because the node lifecycle controller taints
 * at --node-eviction-rate (0.1 nodes/s, burst 1, upstream's default), a kill is never sooner than
 * 11 s after the previous run's taint, or the taint would wait for the rate limiter. Each kill
 * comes after a random 0–1 s pause: the steps before it end on events of the controller's own
 * 1 s monitor pass (the taint removed), and without the pause every kill would land at the same
 * point of that pass and of the kubelet's 1 s Lease renewal, which decide (a) within ±1 s.
 *
 * Options: --runs 3.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { ApiClient, Indexes, Resources, TIMING_PROFILES, type KubeObject } from "@kubemu/common";
import { ClusterWatch, condition, podReady, terminating, type Listers, type Node, type Pod } from "./lib/cluster-watch.js";
import { NodeCluster } from "./lib/node-cluster.js";
import { sleep } from "./lib/procs.js";

const NODES = ["kubemu", "kubemu-m02", "kubemu-m03"];
const NAMESPACE = "default";
const APP = "nf-pause";
const REPLICAS = 6;
const PROFILE = "fast" as const;
/** The node lifecycle controller's defaults that are not in the profile (its --node-eviction-rate, upstream's NodeEvictionPeriod). */
const NODE_EVICTION_RATE = 0.1;
const NODE_EVICTION_PERIOD_MS = 100;
const TAINT_SPACING_MS = 11_000;
const GOALS = { notReadySeconds: 5, replacedSeconds: 15, profile: PROFILE };

const UNREACHABLE = "node.kubernetes.io/unreachable";

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const secs = (ms: number) => round(ms / 1000);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function deployment(): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: APP, namespace: NAMESPACE },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: APP } },
      template: {
        metadata: { labels: { app: APP } },
        spec: {
          containers: [{ name: "pause", image: "registry.k8s.io/pause:3.10", resources: { requests: { cpu: "10m", memory: "16Mi" } } }],
          // Soft, so the replacements still fit on two nodes while the third is gone.
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { app: APP } } }],
        },
      },
    },
  };
}

const appPods = (l: Listers) => l.pods.list({ namespace: NAMESPACE }).filter((p) => p.metadata.labels?.["app"] === APP);
const hasTaint = (n: Node | undefined, key: string, effect: string) => !!n?.spec?.taints?.some((t) => t.key === key && t.effect === effect);
const readyOn = (l: Listers, nodes: (n: string | undefined) => boolean) => appPods(l).filter((p) => !terminating(p) && podReady(p) && nodes(p.spec.nodeName)).length;

/** Host pids whose command line mentions s: a container's bwrap carries its pod's uid in its arguments. */
function pidsMentioning(s: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", s], { encoding: "utf8" }).split("\n").filter(Boolean).map(Number).filter((p) => p !== process.pid);
  } catch {
    return [];
  }
}

interface Run {
  run: number;
  node: string;
  pods: number;
  /** How long before the kill its Lease was last seen renewed (the controller's last heartbeat). */
  heartbeatAgeAtKillMs: number;
  /** The random pause before the kill. */
  jitterMs: number;
  /** From the kill (ms). */
  containersGoneMs: number;
  notReadyMs: number;
  noScheduleTaintMs: number;
  podsMarkedNotReadyMs: number;
  noExecuteTaintMs: number;
  firstEvictedMs: number;
  evictedMs: number;
  replacementsCreatedMs: number;
  replacementsBoundMs: number;
  replacedMs: number;
  /** Where the time went. */
  breakdown: { heartbeatToNotReadyMs: number; notReadyToTaintMs: number; taintToEvictedMs: number; evictedToReadyMs: number };
  /** After the kubelet was started again (ms from its start). */
  recovery: { nodeReadyMs: number; untaintedMs: number; evictedPodsGoneMs: number };
}

function victimOf(l: Listers, lastKilled: Map<string, number>): string {
  const count = (n: string) => appPods(l).filter((p) => !terminating(p) && p.spec.nodeName === n).length;
  // Most pods first; among equals the one killed longest ago.
  return [...NODES].sort((a, b) => count(b) - count(a) || (lastKilled.get(a) ?? -1) - (lastKilled.get(b) ?? -1))[0]!;
}

async function oneRun(runNo: number, cluster: NodeCluster, w: ClusterWatch, lastKilled: Map<string, number>): Promise<Run> {
  const l = w.listers;
  const victim = victimOf(l, lastKilled);
  const pods = appPods(l).filter((p) => !terminating(p) && p.spec.nodeName === victim);
  const uids = new Set(pods.map((p) => p.metadata.uid!));
  if (pods.length === 0) throw new Error(`no pod of ${APP} on ${victim}`);
  for (const u of uids) if (pidsMentioning(u).length === 0) throw new Error(`pod ${u} on ${victim} has no container process`);
  const gone = (p: Pod | undefined) => !p || terminating(p);
  const victimPods = () => pods.map((p) => l.pods.get(NAMESPACE, p.metadata.name!)).map((p) => (p && uids.has(p.metadata.uid!) ? p : undefined));
  const survivors = (n: string | undefined) => !!n && n !== victim;
  const replacements = () => appPods(l).filter((p) => !terminating(p) && !uids.has(p.metadata.uid!));

  // A uniformly random phase against the 1 s monitor pass and Lease renewal (see the header).
  const jitterMs = Math.random() * 1000;
  await sleep(jitterMs);
  const heartbeatAt = w.leaseRenewedAt.get(victim) ?? Number.NaN;
  const t0 = performance.now();
  await cluster.killKubelet(victim);
  lastKilled.set(victim, t0);
  const timeout = 120_000;
  const wait = (what: string, test: (l: Listers) => boolean) => w.within(`${what} (run ${runNo}, ${victim})`, timeout, test).then((t) => t - t0);
  const containersGone = (async () => {
    while ([...uids].some((u) => pidsMentioning(u).length > 0)) {
      if (performance.now() - t0 > 30_000) throw new Error(`containers of ${victim} still running 30 s after its kubelet was killed`);
      await sleep(50);
    }
    return performance.now() - t0;
  })();
  const node = () => l.nodes.get(undefined, victim);
  const [containersGoneMs, notReadyMs, noScheduleTaintMs, podsMarkedNotReadyMs, noExecuteTaintMs, firstEvictedMs, evictedMs, replacementsCreatedMs, replacementsBoundMs, replacedMs] = await Promise.all([
    containersGone,
    wait("Ready Unknown", () => condition(node(), "Ready")?.status === "Unknown"),
    wait("the unreachable NoSchedule taint", () => hasTaint(node(), UNREACHABLE, "NoSchedule")),
    wait("its pods not Ready", () => victimPods().every((p) => !p || condition(p, "Ready")?.status !== "True")),
    wait("the unreachable NoExecute taint", () => hasTaint(node(), UNREACHABLE, "NoExecute")),
    wait("a pod evicted", () => victimPods().some(gone)),
    wait("every pod evicted", () => victimPods().every(gone)),
    wait("replacements created", () => replacements().length >= REPLICAS),
    wait("replacements bound", () => replacements().filter((p) => survivors(p.spec.nodeName)).length >= REPLICAS),
    wait(`${REPLICAS} Ready on the other nodes`, () => readyOn(l, survivors) >= REPLICAS),
  ]);
  const r: Omit<Run, "recovery"> = {
    run: runNo,
    node: victim,
    pods: pods.length,
    heartbeatAgeAtKillMs: round(t0 - heartbeatAt, 0),
    jitterMs: round(jitterMs, 0),
    containersGoneMs: round(containersGoneMs, 0),
    notReadyMs: round(notReadyMs, 0),
    noScheduleTaintMs: round(noScheduleTaintMs, 0),
    podsMarkedNotReadyMs: round(podsMarkedNotReadyMs, 0),
    noExecuteTaintMs: round(noExecuteTaintMs, 0),
    firstEvictedMs: round(firstEvictedMs, 0),
    evictedMs: round(evictedMs, 0),
    replacementsCreatedMs: round(replacementsCreatedMs, 0),
    replacementsBoundMs: round(replacementsBoundMs, 0),
    replacedMs: round(replacedMs, 0),
    breakdown: {
      heartbeatToNotReadyMs: round(notReadyMs + (t0 - heartbeatAt), 0),
      notReadyToTaintMs: round(noExecuteTaintMs - notReadyMs, 0),
      taintToEvictedMs: round(evictedMs - noExecuteTaintMs, 0),
      evictedToReadyMs: round(replacedMs - evictedMs, 0),
    },
  };
  console.log(`  run ${runNo}: killed ${victim} (${pods.length} pods): NotReady ${secs(notReadyMs)} s, tainted ${secs(noExecuteTaintMs)} s, evicted ${secs(evictedMs)} s, replaced ${secs(replacedMs)} s`);

  // Back to 3 Ready nodes: the same kubelet again, which confirms its evicted pods' deletion.
  const r0 = performance.now();
  cluster.startKubelet(victim);
  await cluster.waitKubeletReady(victim);
  const back = (what: string, test: (l: Listers) => boolean) => w.within(`${what} (recovery ${runNo}, ${victim})`, timeout, test).then((t) => t - r0);
  const [nodeReadyMs, untaintedMs, evictedPodsGoneMs] = await Promise.all([
    back("node Ready", () => condition(node(), "Ready")?.status === "True"),
    back("taints removed", () => condition(node(), "Ready")?.status === "True" && !node()?.spec?.taints?.some((t) => t.key === UNREACHABLE)),
    back("evicted pods gone", () => l.pods.byIndex(Indexes.nodeName, victim).filter((p) => p.metadata.namespace === NAMESPACE).length === 0),
  ]);
  await w.within(`${REPLICAS} Ready (recovery ${runNo})`, timeout, () => readyOn(l, () => true) >= REPLICAS && appPods(l).length === REPLICAS);
  return { ...r, recovery: { nodeReadyMs: round(nodeReadyMs, 0), untaintedMs: round(untaintedMs, 0), evictedPodsGoneMs: round(evictedPodsGoneMs, 0) } };
}

function printTable(runs: Run[]): void {
  const cols: [string, (r: Run) => string][] = [
    ["run", (r) => String(r.run)],
    ["node", (r) => r.node],
    ["pods", (r) => String(r.pods)],
    ["hb age", (r) => secs(r.heartbeatAgeAtKillMs).toFixed(2)],
    ["(a) NotReady", (r) => secs(r.notReadyMs).toFixed(2)],
    ["(b) tainted", (r) => secs(r.noExecuteTaintMs).toFixed(2)],
    ["(c) evicted", (r) => secs(r.evictedMs).toFixed(2)],
    ["(d) replaced", (r) => secs(r.replacedMs).toFixed(2)],
    ["hb→a", (r) => secs(r.breakdown.heartbeatToNotReadyMs).toFixed(2)],
    ["a→b", (r) => secs(r.breakdown.notReadyToTaintMs).toFixed(2)],
    ["b→c", (r) => secs(r.breakdown.taintToEvictedMs).toFixed(2)],
    ["c→d", (r) => secs(r.breakdown.evictedToReadyMs).toFixed(2)],
  ];
  const rows = [cols.map(([h]) => h), ...runs.map((r) => cols.map(([, f]) => f(r)))];
  const widths = cols.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  console.log("  seconds from the SIGKILL (hb age: its Lease's last renewal before the kill)");
  for (const row of rows) console.log("  " + row.map((c, i) => c.padStart(widths[i]!)).join("  "));
}

export async function run(args: string[]): Promise<void> {
  let runs = 3;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--runs" && Number(args[i + 1]) > 0) runs = Number(args[++i]);
    else throw new Error(`unknown option ${args[i]} (options: --runs N)`);
  }
  const profile = TIMING_PROFILES[PROFILE];
  const result: Record<string, unknown> = { name: "node-failure", date: new Date().toISOString(), loadavg1mAtStart: round(loadavg()[0]!) };
  const cluster = new NodeCluster({ subnet: "127.1.120", nodeSubnet: "127.1.121", podPrefix: "127.247", nodes: NODES, profile: PROFILE });
  let client: ApiClient | undefined;
  let watch: ClusterWatch | undefined;
  try {
    await cluster.start();
    client = new ApiClient({ name: "bench", endpoints: cluster.api.apiservers.map((u) => `${u.replace(/^http/, "ws")}/kubemu/wire`) });
    const w = (watch = new ClusterWatch(client, NAMESPACE));
    await w.start();
    const l = w.listers;
    await w.within("3 Ready nodes", 60_000, () => NODES.every((n) => condition(l.nodes.get(undefined, n), "Ready")?.status === "True"));
    const s0 = performance.now();
    await client.create(Resources.deployments, deployment());
    await w.within(`${REPLICAS} pods Running and Ready`, 120_000, () => readyOn(l, () => true) >= REPLICAS);
    const spread = Object.fromEntries(NODES.map((n) => [n, appPods(l).filter((p) => p.spec.nodeName === n).length]));
    console.log(`  ${REPLICAS} pods Ready in ${secs(performance.now() - s0)} s, spread ${JSON.stringify(spread)}`);
    const tolerations = (appPods(l)[0]!.spec as { tolerations?: { key?: string; effect?: string; tolerationSeconds?: number }[] }).tolerations ?? [];
    const tolerationOf = (key: string) => tolerations.find((t) => t.key === key && t.effect === "NoExecute")?.tolerationSeconds;

    const done: Run[] = [];
    const lastKilled = new Map<string, number>();
    let lastTaintAt = -Infinity;
    for (let i = 1; i <= runs; i++) {
      const wait = lastTaintAt + TAINT_SPACING_MS - performance.now();
      if (wait > 0) await sleep(wait);
      const r = await oneRun(i, cluster, w, lastKilled);
      lastTaintAt = lastKilled.get(r.node)! + r.noExecuteTaintMs;
      done.push(r);
    }
    printTable(done);

    const med = (f: (r: Run) => number) => round(median(done.map(f)), 0);
    const medians = {
      heartbeatAgeAtKillMs: med((r) => r.heartbeatAgeAtKillMs),
      containersGoneMs: med((r) => r.containersGoneMs),
      notReadyMs: med((r) => r.notReadyMs),
      podsMarkedNotReadyMs: med((r) => r.podsMarkedNotReadyMs),
      noExecuteTaintMs: med((r) => r.noExecuteTaintMs),
      evictedMs: med((r) => r.evictedMs),
      replacedMs: med((r) => r.replacedMs),
      heartbeatToNotReadyMs: med((r) => r.breakdown.heartbeatToNotReadyMs),
      notReadyToTaintMs: med((r) => r.breakdown.notReadyToTaintMs),
      taintToEvictedMs: med((r) => r.breakdown.taintToEvictedMs),
      evictedToReadyMs: med((r) => r.breakdown.evictedToReadyMs),
    };
    const unreachableToleration = tolerationOf(UNREACHABLE) ?? Number.NaN;
    const met = { notReady: medians.notReadyMs <= GOALS.notReadySeconds * 1000, replaced: medians.replacedMs <= GOALS.replacedSeconds * 1000 };
    const gracePeriod = profile.nodeMonitorGraceMs;
    const period = profile.nodeMonitorPeriodMs;
    const renew = profile.nodeLeaseRenewMs;
    const tolerationMs = unreachableToleration * 1000;
    const notReadyOk = done.filter((r) => r.notReadyMs <= GOALS.notReadySeconds * 1000).length;
    const list = (f: (r: Run) => number) => done.map((r) => f(r)).join(", ");
    const expectedMs = gracePeriod + period + tolerationMs + medians.evictedToReadyMs;
    const bestMs = gracePeriod - renew + period + tolerationMs;
    const why = [
      `(a) NotReady ${medians.notReadyMs} ms from the kill (median; runs ${list((r) => r.notReadyMs)}), ${notReadyOk} of ${done.length} runs within the ${GOALS.notReadySeconds} s goal. The controller times heartbeats by its own monitor passes (every ${period} ms): a node goes Unknown on the first pass more than the grace period (${gracePeriod} ms) after the pass that first saw its last Lease renewal, so ${gracePeriod}–${gracePeriod + period} ms after that renewal (measured ${list((r) => r.breakdown.heartbeatToNotReadyMs)}); the kill comes 0–${renew} ms after the renewal (measured ${list((r) => r.heartbeatAgeAtKillMs)}), so from the kill it is ${gracePeriod - renew}–${gracePeriod + period} ms, ${gracePeriod} ms on average. The goal equals the grace period, so it holds for about half of all kills; to hold always the fast profile's grace period would have to be ${GOALS.notReadySeconds * 1000 - period} ms or less.`,
      `(a)→(b) ${medians.notReadyToTaintMs} ms: the NoExecute taint comes one monitor pass after NotReady, as in upstream's monitorNodeHealth (the pass that writes Unknown judges the Ready condition it read, still True; the next pass sees Unknown and queues the node; the ${NODE_EVICTION_PERIOD_MS} ms tainting pass then writes the taint).`,
      `(b)→(c) ${medians.taintToEvictedMs} ms: the pods tolerate node.kubernetes.io/unreachable:NoExecute for ${unreachableToleration} s (the API server's DefaultTolerationSeconds, fast profile); the taint-eviction controller deletes them when that runs out.`,
      `(c)→(d) ${medians.evictedToReadyMs} ms: the ReplicaSet creates replacements as soon as the old pods are terminating; then scheduling, the simulated image pull (${profile.imagePullMinMs}–${profile.imagePullMaxMs} ms; pause is already pulled on the surviving nodes, 5–25 ms) and the kubelet's start and status.`,
      `(d) replaced ${medians.replacedMs} ms from the kill (median; runs ${list((r) => r.replacedMs)}): ${met.replaced ? "within" : "over"} the ${GOALS.replacedSeconds} s goal. The settings add up to grace ${gracePeriod} ms (± the 1 s phases above) + one monitor period ${period} ms + toleration ${tolerationMs} ms + the replacement's start ≈ ${expectedMs} ms, and at best (a kill just before a renewal) ${bestMs} ms plus the start: grace period and toleration alone are ${gracePeriod + tolerationMs} ms, so the goal cannot be met with the fast profile as it is; it needs a shorter grace period or toleration there, not a faster controller (the controllers' own work is the ~${medians.notReadyToTaintMs - period} ms beyond the monitor period in (a)→(b) and the ${medians.evictedToReadyMs} ms of (c)→(d)).`,
    ];
    for (const line of why) console.log(`  ${line}`);
    Object.assign(result, {
      cluster: { etcd: 3, apiservers: 2, schedulers: 1, controllerManagers: "1 (--controllers *)", kubelets: NODES.length, addresses: "control plane 127.1.120.x, nodes 127.1.121.N, pods 127.247.N.0/24", deployment: `${REPLICAS} × registry.k8s.io/pause:3.10, soft hostname spread`, initialSpread: spread },
      repeat: "after each run the killed kubelet is started again on the same root dir; the next run waits until its node is Ready and untainted, its evicted pods are gone and 6 pods are Ready, and until 11 s after the previous taint (--node-eviction-rate 0.1/s)",
      settings: {
        profile: PROFILE,
        nodeMonitorGracePeriodMs: profile.nodeMonitorGraceMs,
        nodeMonitorPeriodMs: profile.nodeMonitorPeriodMs,
        nodeLeaseRenewMs: profile.nodeLeaseRenewMs,
        nodeEvictionPeriodMs: NODE_EVICTION_PERIOD_MS,
        nodeEvictionRate: NODE_EVICTION_RATE,
        notReadyTolerationSeconds: tolerationOf("node.kubernetes.io/not-ready"),
        unreachableTolerationSeconds: unreachableToleration,
        imagePullMs: [profile.imagePullMinMs, profile.imagePullMaxMs],
      },
      runs: done,
      medians,
      goals: GOALS,
      goalsMet: met,
      analysis: why,
      loadavg1mAtEnd: round(loadavg()[0]!),
    });
  } catch (e) {
    console.error(cluster.tails(25));
    throw e;
  } finally {
    await watch?.close().catch(() => undefined);
    await client?.close().catch(() => undefined);
    await cluster.stop();
  }
  mkdirSync(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
  writeFileSync(fileURLToPath(new URL("./results/node-failure.json", import.meta.url)), JSON.stringify(result, null, 2) + "\n");
  console.log(`BENCH node-failure ${JSON.stringify(result)}`);
}
