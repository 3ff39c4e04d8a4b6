/**
 * The apiserver benchmark's authorization comparison (`npm run bench -- apiserver --only authz`):
 * one TLS cluster of the same shape (3 kubemu-etcd, 2 kubemu-apiserver with Node,RBAC and the
 * bootstrap policy, apiserver-lb passing TLS through), and the same requests sent as
 *
 * - `masters`: a client certificate in system:masters (the privileged-group authorizer allows
 *   before Node or RBAC are asked);
 * - `rbac-user`: a client certificate of an ordinary user (CN bench-user, no O) granted the
 *   bench's work by RoleBindings to the `edit` ClusterRole in the two namespaces, so every request
 *   walks RBAC: the ClusterRoleBindings naming system:authenticated (basic-user, discovery,
 *   public-info-viewer), then the namespace's RoleBindings, then edit's aggregated rules;
 * - `serviceaccount`: a TokenRequest token of ServiceAccount bench-rate/bench in the same bindings
 *   (HTTP only; components use certificates on the wire API), so each request also verifies a JWT
 *   and looks its service account up.
 *
 * The identities are interleaved request by request inside each run, every identity on its own
 * connections: they share one time window, so whatever else the machine does falls on each alike
 * (sequential runs per identity were dominated by that noise: masters' own p99 moved 25–1500 %
 * between rounds). Measured per identity:
 * - open-loop creates at --rate/s in all (request i as identity i mod n) from the separate driver
 *   process, over HTTP (JSON, as kubectl) and over the wire API (msgpack on wss://, as the
 *   components): p50/p99 from due time, pooled over the rounds;
 * - LIST `?limit=100` with 32 closed-loop workers (where one authorization decision is the
 *   largest share of a request), each worker taking the identities in turn, over HTTP, and as
 *   ApiClient.list over the wire;
 * - LIST of all --pods pods from the store and from the watch cache (resourceVersion=0) over HTTP.
 * Deltas are against `masters`, in % (positive = slower).
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiClient, Resources, WIRE_API_PATH, type KeyPair } from "@kubemu/common";
import { ApiCluster } from "./apiserver-cluster.js";
import { KubeHttp, podBody, type KubeHttpCredentials } from "./apiserver-http.js";
import { closedLoop, percentile } from "./load.js";
import type { OpenLoopResult, OpenLoopSpec } from "./open-loop-driver.js";
import { sleep, spawnChild } from "./procs.js";

export interface AuthzOptions {
  profile: "fast" | "realistic";
  /** First three octets of the cluster's loopback subnet. */
  subnet: string;
  ratePerSec: number;
  warmupSeconds: number;
  secondsPerRun: number;
  rounds: number;
  pods: number;
  /** Seconds of each closed-loop LIST ?limit=100 row per identity per round. */
  listSeconds: number;
  /** V8 CPU profiles of the API servers into this directory (written at exit). */
  cpuProfDir?: string;
}

const CONCURRENCY = 32;
/** Full LISTs of each kind per identity per round. */
const LIST_ALL_PER_ROUND = 4;
const RATE_NAMESPACE = "bench-rate";
const PODS = "/api/v1/namespaces/default/pods";
const DRIVER = fileURLToPath(new URL("./open-loop-driver.ts", import.meta.url));
const USER = "bench-user";
const SERVICE_ACCOUNT = "bench";
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

type Identity = "masters" | "rbac-user" | "serviceaccount";
const IDENTITIES: readonly Identity[] = ["masters", "rbac-user", "serviceaccount"];
/** The wire API takes certificates only. */
const WIRE_IDENTITIES: readonly Identity[] = ["masters", "rbac-user"];

interface Dist {
  count: number;
  p50ms: number;
  p99ms: number;
  maxms: number;
}

function dist(samples: number[]): Dist {
  const s = [...samples].sort((a, b) => a - b);
  return { count: s.length, p50ms: round(percentile(s, 0.5)), p99ms: round(percentile(s, 0.99)), maxms: round(s[s.length - 1] ?? NaN) };
}

/** Latency samples of one row of one identity, over every round. */
class Row {
  readonly samples: number[] = [];
  errors = 0;
  firstError: string | undefined;
  /** Per-round p50/p99 (and load), to show the spread. */
  readonly rounds: { p50ms: number; p99ms: number; loadavg1m: number }[] = [];
  add(lat: number[], errors: number, firstError?: string): void {
    this.samples.push(...lat);
    this.errors += errors;
    this.firstError ??= firstError;
    const d = dist(lat);
    this.rounds.push({ p50ms: d.p50ms, p99ms: d.p99ms, loadavg1m: round(loadavg()[0]!) });
  }
  summary(): Dist & { errors: number; firstError?: string; rounds: Row["rounds"] } {
    return { ...dist(this.samples), errors: this.errors, ...(this.firstError ? { firstError: this.firstError } : {}), rounds: this.rounds };
  }
}

type RowName = "createHttp" | "createWire" | "listLimit100Http" | "listLimit100Wire" | "listAllFromStore" | "listAllFromWatchCache";
const ROW_TITLES: Record<RowName, string> = {
  createHttp: "create, open loop, HTTP (JSON)",
  createWire: "create, open loop, wire (msgpack/wss)",
  listLimit100Http: `LIST ?limit=100, c=${CONCURRENCY}, HTTP`,
  listLimit100Wire: `LIST limit 100, c=${CONCURRENCY}, wire`,
  listAllFromStore: "LIST all, from store, HTTP",
  listAllFromWatchCache: "LIST all, resourceVersion=0, HTTP",
};

/** Every identity's credentials and clients. */
interface Clients {
  creds: Record<Identity, KubeHttpCredentials>;
  http: Record<Identity, KubeHttp>;
  wire: Partial<Record<Identity, ApiClient>>;
}

const pem = (k: KeyPair) => ({ cert: k.cert, key: k.key });

/** Namespaces, the bindings of bench-user and the service account, its token. */
async function setUp(admin: KubeHttp): Promise<{ token: string; policy: Record<string, number> }> {
  await admin.call("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: RATE_NAMESPACE } });
  await admin.call("POST", `/api/v1/namespaces/${RATE_NAMESPACE}/serviceaccounts`, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: SERVICE_ACCOUNT } });
  for (const ns of ["default", RATE_NAMESPACE])
    await admin.call("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "bench-edit" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
      subjects: [
        { kind: "User", apiGroup: "rbac.authorization.k8s.io", name: USER },
        { kind: "ServiceAccount", name: SERVICE_ACCOUNT, namespace: RATE_NAMESPACE },
      ],
    });
  const { obj } = await admin.call<{ status: { token: string } }>("POST", `/api/v1/namespaces/${RATE_NAMESPACE}/serviceaccounts/${SERVICE_ACCOUNT}/token`, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { expirationSeconds: 3600 },
  });
  const count = async (path: string) => (await admin.call<{ items: unknown[] }>("GET", path)).obj.items.length;
  const policy = {
    clusterRoles: await count("/apis/rbac.authorization.k8s.io/v1/clusterroles"),
    clusterRoleBindings: await count("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"),
    roles: await count("/apis/rbac.authorization.k8s.io/v1/roles"),
    roleBindings: await count("/apis/rbac.authorization.k8s.io/v1/rolebindings"),
  };
  return { token: obj.status.token, policy };
}

/** Until both API servers' RBAC caches hold the bindings: 10 answers in a row (the balancer alternates connections). */
async function waitGranted(http: KubeHttp, name: string): Promise<void> {
  const deadline = performance.now() + 30_000;
  let ok = 0;
  let last = "";
  while (ok < 10) {
    try {
      await http.call("GET", `/api/v1/namespaces/${RATE_NAMESPACE}/pods?limit=1`);
      await http.call("GET", `${PODS}?limit=1`);
      ok++;
    } catch (e) {
      ok = 0;
      last = e instanceof Error ? e.message : String(e);
      if (performance.now() > deadline) throw new Error(`${name} still refused after 30 s: ${last}`);
      await sleep(200);
    }
  }
}

/** One open-loop run of creates with `lanes` interleaved request by request. */
async function openLoop(cluster: ApiCluster, clients: Clients, lanes: Identity[], transport: "http" | "wire", o: AuthzOptions, run: number): Promise<OpenLoopResult> {
  const name = `authz-${transport}-${run}`;
  const out = join(cluster.root, `${name}.json`);
  const spec: OpenLoopSpec = {
    url: cluster.url,
    namespace: RATE_NAMESPACE,
    ratePerSec: o.ratePerSec,
    warmupSeconds: o.warmupSeconds,
    seconds: o.secondsPerRun,
    prefix: `${transport[0]}${run}`,
    out,
    lanes: lanes.map((who) => ({ name: who, credentials: clients.creds[who] })),
    transport,
  };
  const driver = spawnChild(name, process.execPath, ["--import", "tsx", DRIVER, JSON.stringify(spec)], join(cluster.root, `${name}.out`));
  const { code } = await driver.exited;
  if (code !== 0) throw new Error(`open-loop driver ${name} exited ${code} (log: ${join(cluster.root, `${name}.out`)})`);
  return JSON.parse(readFileSync(out, "utf8")) as OpenLoopResult;
}

/** Creates pods in default (as masters, 32 workers) until it holds `target`. */
async function fill(http: KubeHttp, target: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < target) {
      const i = next++;
      await http.call("POST", PODS, podBody(`f-${i.toString(36).padStart(5, "0")}`));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return round((performance.now() - t0) / 1000, 1);
}

async function timedListAll(http: KubeHttp, query: string, expected: number): Promise<number> {
  const t = performance.now();
  const { obj } = await http.call<{ items: unknown[] }>("GET", `${PODS}${query}`, undefined, 60_000);
  const ms = performance.now() - t;
  if (obj.items.length < expected) throw new Error(`LIST${query} returned ${obj.items.length} pods, expected ${expected}`);
  return ms;
}

/** The order of round r: rotated, so each identity is first as often as the others. */
const rotate = <T>(list: readonly T[], r: number): T[] => list.map((_, i) => list[(i + r) % list.length]!);

export interface AuthzResult {
  setup: Record<string, unknown>;
  rows: Record<RowName, Partial<Record<Identity, ReturnType<Row["summary"]>>>>;
  /** (identity p − masters p) / masters p, in %, per row: p50 and p99, with the p99 delta's 95 % bootstrap interval. */
  deltaPct: Record<RowName, Partial<Record<Exclude<Identity, "masters">, { p50: number; p99: number; p99Ci95: [number, number] }>>>;
  /**
   * pass: every p99 delta ≤ 5 %; consistentWithGoal: every interval reaches ≤ 5 % (the data do not
   * rule the goal out); shownWithin95: every interval lies ≤ 5 % (the data show it).
   */
  goal: { maxDeltaPct: number; rows: string[]; pass: boolean; consistentWithGoal: boolean; shownWithin95: boolean };
  /**
   * The measurement's own noise per row: the spread of masters' per-round p99s, (max − min) /
   * median in %. A delta smaller than this says nothing either way.
   */
  mastersP99SpreadPct: Partial<Record<RowName, number>>;
  /** Every open-loop run, in the order run. */
  openLoopRuns: OpenLoopRun[];
  /** With --cpu-prof: each API server's CPU share spent authenticating and authorizing. */
  serverCpu?: ({ name: string } & ReturnType<typeof authShares>)[];
}

interface OpenLoopRun {
  lanes: Identity[];
  transport: "http" | "wire";
  round: number;
  ok: number;
  errors: number;
  p50ms: number;
  p99ms: number;
  maxms: number;
  sendLagP99ms: number;
  loadavg1m: number;
}

export async function authorizationComparison(o: AuthzOptions): Promise<AuthzResult> {
  const res = await compare(o);
  // The profiles are written as the servers exit (cluster.stop).
  if (o.cpuProfDir) res.serverCpu = ["apiserver-0", "apiserver-1"].map((name) => ({ name, ...authShares(join(o.cpuProfDir!, `authz-${name}.cpuprofile`)) }));
  return res;
}

/**
 * Where the API servers' CPU went, as % of their busy sampled time (inclusive: a function and what
 * it calls): the machine's load blurs latencies, not these shares.
 */
const AUTH_FUNCTIONS: Record<string, RegExp> = {
  "authorization chain (masters, Node, RBAC)": /^authorizeOrThrow .*\/auth\/authorizer\.js$/,
  "RBAC authorizer": /^authorize .*\/auth\/rbac\.js$/,
  "Node authorizer": /^authorize .*\/auth\/node\/node-authorizer\.js$/,
  "authentication (certificate or token)": /^authenticate .*\/http\/authn\.js$/,
  "service account token check": /^authenticate .*\/serviceaccount\/tokens\.js$/,
  "impersonation headers": /^impersonate .*\/auth\/impersonation\.js$|^distinctHeaders /,
};

export function authShares(file: string): { busyMs: number; sharePct: Record<string, number> } | { error: string } {
  let p: { nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[]; samples: number[]; timeDeltas: number[] };
  try {
    p = JSON.parse(readFileSync(file, "utf8")) as typeof p;
  } catch (e) {
    return { error: `${file}: ${(e as Error).message}` };
  }
  const parent = new Map<number, number>();
  const frame = new Map<number, string>();
  for (const n of p.nodes) {
    frame.set(n.id, `${n.callFrame.functionName} ${n.callFrame.url}`);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const selfUs = new Map<number, number>();
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  let busy = 0;
  const spent = Object.fromEntries(Object.keys(AUTH_FUNCTIONS).map((k) => [k, 0]));
  for (const [id, us] of selfUs) {
    if (frame.get(id)!.startsWith("(idle) ")) continue;
    busy += us;
    const hit = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur))
      for (const [k, re] of Object.entries(AUTH_FUNCTIONS)) if (re.test(frame.get(cur)!)) hit.add(k);
    for (const k of hit) spent[k]! += us;
  }
  return { busyMs: Math.round(busy / 1000), sharePct: Object.fromEntries(Object.entries(spent).map(([k, us]) => [k, round((us / busy) * 100)])) };
}

async function compare(o: AuthzOptions): Promise<AuthzResult> {
  const profDir = o.cpuProfDir;
  const cluster = new ApiCluster({
    subnet: o.subnet,
    profile: o.profile,
    tls: true,
    ...(profDir ? { nodeFlags: (name: string) => (name.startsWith("apiserver-") && name !== "apiserver-lb" ? ["--cpu-prof", "--cpu-prof-dir", profDir, "--cpu-prof-name", `authz-${name}.cpuprofile`] : []) } : {}),
  });
  const openLoopRuns: OpenLoopRun[] = [];
  const clients: { creds?: Clients["creds"]; http: Partial<Record<Identity, KubeHttp>>; wire: Partial<Record<Identity, ApiClient>> } = { http: {}, wire: {} };
  try {
    const t0 = performance.now();
    await cluster.start();
    console.log(`TLS cluster up in ${round((performance.now() - t0) / 1000, 1)} s at ${cluster.url} (Node,RBAC, bootstrap policy)`);
    const ca = cluster.ca!.cert;
    const masters: KubeHttpCredentials = { ca, ...pem(await cluster.issueClient("kubemu-bench-admin", ["system:masters"])) };
    const admin = new KubeHttp(cluster.url, CONCURRENCY, masters);
    clients.http.masters = admin;
    const { token, policy } = await setUp(admin);
    const creds: Record<Identity, KubeHttpCredentials> = {
      masters,
      "rbac-user": { ca, ...pem(await cluster.issueClient(USER)) },
      serviceaccount: { ca, bearer: token },
    };
    clients.creds = creds;
    for (const who of IDENTITIES) clients.http[who] ??= new KubeHttp(cluster.url, CONCURRENCY, creds[who]);
    for (const who of IDENTITIES) if (who !== "masters") await waitGranted(clients.http[who]!, who);
    const wireUrl = cluster.url.replace(/^https:/, "wss:") + WIRE_API_PATH;
    for (const who of WIRE_IDENTITIES) {
      const c = creds[who];
      const client = new ApiClient({ name: `bench-${who}`, endpoints: [wireUrl], tls: { ca, cert: c.cert!, key: c.key! } });
      await client.ready(10_000);
      clients.wire[who] = client;
    }
    const all: Clients = { creds, http: clients.http as Record<Identity, KubeHttp>, wire: clients.wire };

    const rows = {} as Record<RowName, Partial<Record<Identity, Row>>>;
    const row = (name: RowName, who: Identity) => ((rows[name] ??= {})[who] ??= new Row());

    console.log(`open loop: ${o.rounds} rounds × (1 HTTP run of ${IDENTITIES.length} identities + 1 wire run of ${WIRE_IDENTITIES.length}) at ${o.ratePerSec}/s in all, interleaved request by request, ${o.warmupSeconds} s warm-up + ${o.secondsPerRun} s each`);
    let run = 0;
    for (let r = 0; r < o.rounds; r++) {
      for (const [transport, ids] of [["http", IDENTITIES], ["wire", WIRE_IDENTITIES]] as const) {
        const lanes = rotate(ids, r);
        const res = await openLoop(cluster, all, lanes, transport, o, run++);
        for (const who of lanes) {
          const lane = res.lanes![who]!;
          row(transport === "http" ? "createHttp" : "createWire", who).add(lane.latencies, lane.errors, lane.firstError);
        }
        openLoopRuns.push({ lanes, transport, round: r, ok: res.ok, errors: res.errors, p50ms: res.latency.p50ms, p99ms: res.latency.p99ms, maxms: res.latency.maxms, sendLagP99ms: res.sendLag.p99ms, loadavg1m: res.loadavg1m });
        const perLane = lanes.map((w) => `${w} p50 ${rows[transport === "http" ? "createHttp" : "createWire"][w]!.rounds[r]!.p50ms} p99 ${rows[transport === "http" ? "createHttp" : "createWire"][w]!.rounds[r]!.p99ms}`).join(", ");
        console.log(`  round ${r + 1} ${transport}: ${res.ok}/${res.scheduled} ok, ${perLane} ms, load ${res.loadavg1m}`);
        await sleep(500);
      }
    }

    const fillSeconds = await fill(admin, o.pods);
    console.log(`filled default to ${o.pods} pods in ${fillSeconds} s`);
    for (let r = 0; r < o.rounds; r++) {
      const http = await interleavedClosedLoop(IDENTITIES, async (who) => void (await all.http[who].call("GET", `${PODS}?limit=100`)), o.listSeconds);
      for (const who of IDENTITIES) row("listLimit100Http", who).add(http.byLabel?.[who] ?? [], http.errorsBy[who], http.firstErrorBy[who]);
      const wire = await interleavedClosedLoop(WIRE_IDENTITIES, async (who) => void (await all.wire[who]!.list(Resources.pods, { namespace: "default", limit: 100 })), o.listSeconds);
      for (const who of WIRE_IDENTITIES) row("listLimit100Wire", who).add(wire.byLabel?.[who] ?? [], wire.errorsBy[who], wire.firstErrorBy[who]);
      // Full LISTs, the identities taking turns (the order rotating); the first round's are warm-up.
      const store: Partial<Record<Identity, number[]>> = {};
      const cache: Partial<Record<Identity, number[]>> = {};
      for (let i = 0; i < LIST_ALL_PER_ROUND; i++)
        for (const who of rotate(IDENTITIES, r + i)) {
          (store[who] ??= []).push(await timedListAll(all.http[who], "", o.pods));
          (cache[who] ??= []).push(await timedListAll(all.http[who], "?resourceVersion=0", o.pods));
        }
      if (r > 0)
        for (const who of IDENTITIES) {
          row("listAllFromStore", who).add(store[who]!, 0);
          row("listAllFromWatchCache", who).add(cache[who]!, 0);
        }
      console.log(`  LIST round ${r + 1}: ` + IDENTITIES.map((w) => `${w} limit100 p50 ${rows.listLimit100Http[w]!.rounds[r]!.p50ms}`).join(", "));
    }

    const summaries = {} as AuthzResult["rows"];
    const deltaPct = {} as AuthzResult["deltaPct"];
    for (const [name, byWho] of Object.entries(rows) as [RowName, Partial<Record<Identity, Row>>][]) {
      summaries[name] = {};
      deltaPct[name] = {};
      for (const [who, r] of Object.entries(byWho) as [Identity, Row][]) summaries[name][who] = r.summary();
      const base = summaries[name].masters!;
      for (const who of IDENTITIES) {
        const s = summaries[name][who];
        if (who === "masters" || !s) continue;
        deltaPct[name][who] = { p50: pct(s.p50ms, base.p50ms), p99: pct(s.p99ms, base.p99ms), p99Ci95: p99DeltaCi(byWho[who]!.samples, byWho.masters!.samples) };
      }
    }
    const goalRows: RowName[] = ["createHttp", "createWire", "listLimit100Http", "listLimit100Wire", "listAllFromStore", "listAllFromWatchCache"];
    const pass = goalRows.every((n) => Object.values(deltaPct[n] ?? {}).every((d) => d.p99 <= 5));
    // Whether the data allow "≤ 5 %": every row's 95 % interval reaches down to 5 % or below.
    const consistent = goalRows.every((n) => Object.values(deltaPct[n] ?? {}).every((d) => d.p99Ci95[0] <= 5));
    const shown = goalRows.every((n) => Object.values(deltaPct[n] ?? {}).every((d) => d.p99Ci95[1] <= 5));
    const mastersP99SpreadPct: AuthzResult["mastersP99SpreadPct"] = {};
    for (const n of goalRows) {
      const p99s = (summaries[n]?.masters?.rounds ?? []).map((x) => x.p99ms).sort((a, b) => a - b);
      if (p99s.length > 1) mastersP99SpreadPct[n] = round(((p99s[p99s.length - 1]! - p99s[0]!) / p99s[Math.floor(p99s.length / 2)]!) * 100, 0);
    }
    return {
      setup: {
        profile: o.profile,
        processes: "3 kubemu-etcd + 2 kubemu-apiserver (HTTPS, client CA, --authorization-mode Node,RBAC) + apiserver-lb (TLS passed through), loopback",
        identities: {
          masters: "client certificate CN kubemu-bench-admin, O system:masters",
          "rbac-user": `client certificate CN ${USER}, no O; RoleBindings bench-edit (ClusterRole edit) in default and ${RATE_NAMESPACE}`,
          serviceaccount: `TokenRequest token of ${RATE_NAMESPACE}/${SERVICE_ACCOUNT} in the same RoleBindings (HTTP only)`,
        },
        policy,
        ratePerSec: o.ratePerSec,
        warmupSeconds: o.warmupSeconds,
        secondsPerRun: o.secondsPerRun,
        rounds: o.rounds,
        listLimit100SecondsPerRound: o.listSeconds,
        pods: o.pods,
        fillSeconds,
        interleaving: "identities interleaved request by request inside each run (open loop: request i as identity i mod n; closed loop: each worker takes them in turn), each on its own connections",
        loadavg1mAtEnd: round(loadavg()[0]!),
      },
      rows: summaries,
      deltaPct,
      goal: { maxDeltaPct: 5, rows: ["create p99 (HTTP and wire)", "LIST p99 (limit 100 and all, HTTP and wire)"], pass, consistentWithGoal: consistent, shownWithin95: shown },
      mastersP99SpreadPct,
      openLoopRuns,
    };
  } catch (e) {
    console.error(`authorization comparison failed; process logs were in ${cluster.root}`);
    throw e;
  } finally {
    for (const h of Object.values(clients.http)) h?.close();
    for (const c of Object.values(clients.wire)) await c?.close();
    await cluster.stop();
  }
}

/**
 * A closed loop of CONCURRENCY workers where each worker sends as the identities in turn (worker w
 * starts at identity w mod n), so every identity's LISTs share the same moments; latencies by
 * identity, and errors by identity (warm-up included).
 */
async function interleavedClosedLoop<T extends Identity>(ids: readonly T[], op: (who: T) => Promise<void>, seconds: number) {
  const next = Array.from({ length: CONCURRENCY }, (_, w) => w % ids.length);
  const errorsBy = Object.fromEntries(ids.map((w) => [w, 0])) as Record<T, number>;
  const firstErrorBy: Partial<Record<T, string>> = {};
  const sample = await closedLoop(
    async (w) => {
      const who = ids[next[w]!]!;
      next[w] = (next[w]! + 1) % ids.length;
      try {
        await op(who);
      } catch (e) {
        errorsBy[who]++;
        firstErrorBy[who] ??= e instanceof Error ? e.message : String(e);
        throw e;
      }
      return who;
    },
    CONCURRENCY,
    seconds * 1000,
    300,
  );
  return { ...sample, errorsBy, firstErrorBy };
}

/**
 * The 95 % percentile-bootstrap interval of the p99 delta in % (1000 resamples of each side, a
 * fixed seed so a rerun of the same samples gives the same interval): how far the p99 delta of two
 * finite samples can move by chance alone.
 */
function p99DeltaCi(samples: number[], base: number[]): [number, number] {
  if (samples.length === 0 || base.length === 0) return [NaN, NaN];
  let seed = 0x9e3779b9;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const resampledP99 = (xs: number[]) => {
    const r = Float64Array.from({ length: xs.length }, () => xs[Math.floor(rand() * xs.length)]!).sort();
    return percentile(Array.from(r), 0.99);
  };
  const deltas = Array.from({ length: 1000 }, () => pct(resampledP99(samples), resampledP99(base))).sort((a, b) => a - b);
  return [deltas[25]!, deltas[974]!];
}

const pct = (v: number, base: number) => round(((v - base) / base) * 100, 1);

export function printAuthz(res: AuthzResult): void {
  const who = IDENTITIES;
  const signed = (v: number) => `${v > 0 ? "+" : ""}${round(v, 1)}%`;
  const line = (...c: string[]) => console.log(c.map((x, i) => (i === 0 ? x.padEnd(38) : x.padStart(i > who.length ? 28 : 19))).join(""));
  line("measurement (p50 / p99 ms)", ...who, "Δ rbac-user p99 [95 %]", "Δ token p99 [95 %]");
  for (const [name, byWho] of Object.entries(res.rows) as [RowName, AuthzResult["rows"][RowName]][]) {
    const d = res.deltaPct[name];
    line(
      ROW_TITLES[name],
      ...who.map((w) => (byWho[w] ? `${byWho[w].p50ms} / ${byWho[w].p99ms}` : "-")),
      ...(["rbac-user", "serviceaccount"] as const).map((w) => {
        const x = d[w];
        return x ? `${signed(x.p99)} [${signed(x.p99Ci95[0])}, ${signed(x.p99Ci95[1])}]` : "-";
      }),
    );
  }
  console.log("every row: every sample of every round (creates from due time, open loop; identities interleaved request by request)");
  for (const c of res.serverCpu ?? [])
    console.log(`${c.name} CPU (busy ${"busyMs" in c ? c.busyMs : "?"} ms): ` + ("sharePct" in c ? Object.entries(c.sharePct).map(([k, v]) => `${k} ${v}%`).join(", ") : c.error));
  console.log(`noise: masters' own p99 spread between rounds (max − min) / median: ` + Object.entries(res.mastersP99SpreadPct).map(([n, v]) => `${n} ${v}%`).join(", "));
  const g = res.goal;
  console.log(`goal: RBAC costs ≤ ${g.maxDeltaPct} % on create p99 and LIST p99: point estimates ${g.pass ? "PASS" : "FAIL"}; 95 % intervals ${g.shownWithin95 ? "all within the goal (shown)" : g.consistentWithGoal ? "all reach the goal (consistent with it, not shown)" : "some exclude the goal (RBAC costs more)"}`);
}
