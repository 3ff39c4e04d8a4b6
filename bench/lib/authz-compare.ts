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
 * Runs are interleaved round by round (the order rotates every round, so neither identity always
 * goes first) so the shared machine's load falls on each alike. Measured per identity:
 * - open-loop creates at --rate/s from the separate driver process, over HTTP (JSON, as kubectl)
 *   and over the wire API (msgpack on wss://, as the components): p50/p99 from due time;
 * - LIST `?limit=100` with 32 closed-loop workers (where one authorization decision is the
 *   largest share of a request) over HTTP, and as ApiClient.list over the wire;
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
  /** An open-loop run: the driver hands back its percentiles, not its samples. */
  addRun(res: OpenLoopResult): void {
    this.rounds.push({ p50ms: res.latency.p50ms, p99ms: res.latency.p99ms, loadavg1m: res.loadavg1m });
    this.errors += res.errors;
    this.firstError ??= res.firstError;
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

async function openLoop(cluster: ApiCluster, clients: Clients, who: Identity, transport: "http" | "wire", o: AuthzOptions, run: number): Promise<OpenLoopResult> {
  const name = `authz-${transport}-${who}-${run}`;
  const out = join(cluster.root, `${name}.json`);
  const spec: OpenLoopSpec = {
    url: cluster.url,
    namespace: RATE_NAMESPACE,
    ratePerSec: o.ratePerSec,
    warmupSeconds: o.warmupSeconds,
    seconds: o.secondsPerRun,
    prefix: `${transport[0]}${who[0]}${run}`,
    out,
    credentials: clients.creds[who],
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
  /** (identity p − masters p) / masters p, in %, per row: p50 and p99. */
  deltaPct: Record<RowName, Partial<Record<Exclude<Identity, "masters">, { p50: number; p99: number }>>>;
  goal: { maxDeltaPct: number; rows: string[]; pass: boolean };
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
  who: Identity;
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

    console.log(`open loop: ${o.rounds} rounds × (${IDENTITIES.length} HTTP + ${WIRE_IDENTITIES.length} wire runs) at ${o.ratePerSec}/s, ${o.warmupSeconds} s warm-up + ${o.secondsPerRun} s each`);
    let run = 0;
    for (let r = 0; r < o.rounds; r++) {
      const plan: [Identity, "http" | "wire"][] = [...rotate(IDENTITIES, r).map((w) => [w, "http"] as [Identity, "http"]), ...rotate(WIRE_IDENTITIES, r).map((w) => [w, "wire"] as [Identity, "wire"])];
      for (const [who, transport] of plan) {
        const res = await openLoop(cluster, all, who, transport, o, run++);
        row(transport === "http" ? "createHttp" : "createWire", who).addRun(res);
        openLoopRuns.push({ who, transport, round: r, ok: res.ok, errors: res.errors, p50ms: res.latency.p50ms, p99ms: res.latency.p99ms, maxms: res.latency.maxms, sendLagP99ms: res.sendLag.p99ms, loadavg1m: res.loadavg1m });
        console.log(`  round ${r + 1} ${transport} ${who}: ${res.ok}/${res.scheduled} ok, p50 ${res.latency.p50ms} p99 ${res.latency.p99ms} ms, load ${res.loadavg1m}`);
        await sleep(500);
      }
    }

    const fillSeconds = await fill(admin, o.pods);
    console.log(`filled default to ${o.pods} pods in ${fillSeconds} s`);
    for (let r = 0; r < o.rounds; r++) {
      for (const who of rotate(IDENTITIES, r)) {
        const http = all.http[who];
        const s = await closedLoop(async () => void (await http.call("GET", `${PODS}?limit=100`)), CONCURRENCY, o.listSeconds * 1000, 300);
        row("listLimit100Http", who).add(s.lat, s.errors);
      }
      for (const who of rotate(WIRE_IDENTITIES, r)) {
        const client = all.wire[who]!;
        const s = await closedLoop(async () => void (await client.list(Resources.pods, { namespace: "default", limit: 100 })), CONCURRENCY, o.listSeconds * 1000, 300);
        row("listLimit100Wire", who).add(s.lat, s.errors);
      }
      // Two full LISTs of each kind per identity per round (the balancer alternates servers); the first round's are warm-up.
      for (const who of rotate(IDENTITIES, r)) {
        const store: number[] = [];
        const cache: number[] = [];
        for (let i = 0; i < 2; i++) {
          store.push(await timedListAll(all.http[who], "", o.pods));
          cache.push(await timedListAll(all.http[who], "?resourceVersion=0", o.pods));
        }
        if (r === 0) continue;
        row("listAllFromStore", who).add(store, 0);
        row("listAllFromWatchCache", who).add(cache, 0);
      }
      console.log(`  LIST round ${r + 1}: ` + IDENTITIES.map((w) => `${w} limit100 p50 ${rows.listLimit100Http[w]!.rounds[r]!.p50ms}`).join(", "));
    }

    const summaries = {} as AuthzResult["rows"];
    const deltaPct = {} as AuthzResult["deltaPct"];
    for (const [name, byWho] of Object.entries(rows) as [RowName, Partial<Record<Identity, Row>>][]) {
      summaries[name] = {};
      deltaPct[name] = {};
      for (const [who, r] of Object.entries(byWho) as [Identity, Row][]) summaries[name][who] = isCreate(name) ? openLoopSummary(r) : r.summary();
      const base = summaries[name].masters!;
      for (const who of IDENTITIES) {
        const s = summaries[name][who];
        if (who === "masters" || !s) continue;
        deltaPct[name][who] = { p50: pct(s.p50ms, base.p50ms), p99: pct(s.p99ms, base.p99ms) };
      }
    }
    const goalRows: RowName[] = ["createHttp", "createWire", "listLimit100Http", "listLimit100Wire", "listAllFromStore", "listAllFromWatchCache"];
    const pass = goalRows.every((n) => Object.values(deltaPct[n] ?? {}).every((d) => d.p99 <= 5));
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
        interleaving: "every round runs each identity once, in an order rotated each round",
        loadavg1mAtEnd: round(loadavg()[0]!),
      },
      rows: summaries,
      deltaPct,
      goal: { maxDeltaPct: 5, rows: ["create p99 (HTTP and wire)", "LIST p99 (limit 100 and all, HTTP and wire)"], pass },
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

const isCreate = (name: RowName) => name === "createHttp" || name === "createWire";

/** An open-loop row: the driver reports percentiles per run, so the row's p50/p99 are the medians of its runs'. */
function openLoopSummary(r: Row): ReturnType<Row["summary"]> {
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  return {
    count: r.rounds.length,
    p50ms: round(med(r.rounds.map((x) => x.p50ms))),
    p99ms: round(med(r.rounds.map((x) => x.p99ms))),
    maxms: round(Math.max(...r.rounds.map((x) => x.p99ms))),
    errors: r.errors,
    ...(r.firstError ? { firstError: r.firstError } : {}),
    rounds: r.rounds,
  };
}

const pct = (v: number, base: number) => round(((v - base) / base) * 100, 1);

export function printAuthz(res: AuthzResult): void {
  const who = IDENTITIES;
  const line = (...c: string[]) => console.log(c.map((x, i) => (i === 0 ? x.padEnd(38) : x.padStart(19))).join(""));
  line("measurement (p50 / p99 ms)", ...who, "Δ rbac-user p99", "Δ token p99");
  for (const [name, byWho] of Object.entries(res.rows) as [RowName, AuthzResult["rows"][RowName]][]) {
    const d = res.deltaPct[name];
    line(
      ROW_TITLES[name],
      ...who.map((w) => (byWho[w] ? `${byWho[w].p50ms} / ${byWho[w].p99ms}` : "-")),
      d["rbac-user"] ? `${d["rbac-user"].p99 > 0 ? "+" : ""}${d["rbac-user"].p99}%` : "-",
      d.serviceaccount ? `${d.serviceaccount.p99 > 0 ? "+" : ""}${d.serviceaccount.p99}%` : "-",
    );
  }
  console.log("create rows: medians over the rounds of each run's p50 / p99 (each run open loop from due time); LIST rows: every sample of every round");
  for (const c of res.serverCpu ?? [])
    console.log(`${c.name} CPU (busy ${"busyMs" in c ? c.busyMs : "?"} ms): ` + ("sharePct" in c ? Object.entries(c.sharePct).map(([k, v]) => `${k} ${v}%`).join(", ") : c.error));
  console.log(`noise: masters' own p99 spread between rounds (max − min) / median: ` + Object.entries(res.mastersP99SpreadPct).map(([n, v]) => `${n} ${v}%`).join(", "));
  console.log(`goal: RBAC costs ≤ ${res.goal.maxDeltaPct} % on create p99 and LIST p99: ${res.goal.pass ? "PASS" : "FAIL"} (only meaningful where the deltas exceed that noise)`);
}
