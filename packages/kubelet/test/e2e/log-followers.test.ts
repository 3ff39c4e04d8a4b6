/**
 * Issue 13: 200 concurrent `kubectl logs -f` followers are served without stalling the API
 * server's other requests. One busybox pod prints a numbered line every 200 ms; 200 follow GETs
 * (`pods/ticker/log?follow=true&tailLines=0`, what kubectl sends) go through the API server to the
 * kubelet, plus 3 real `kubectl logs -f` processes. Before and while they stream, `kubectl get pods`
 * and plain GETs (the pod list, one node) are timed. Asserted: every follower receives lines written
 * after the measurement began, and every other request answers. The latencies are printed, not
 * asserted (the machine is shared); `KUBEMU_LOG_FOLLOWERS_OUT=<file>` also writes them as JSON.
 * Subnets: etcd 127.2.51.x, API 127.2.52.1, scheduler/controller-manager 127.2.53.1, node
 * 127.2.55.5, pods 127.241.5.0/24.
 */
import { Agent, get, type ClientRequest } from "node:http";
import { writeFileSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { eventually, kubeletHarnessForFile } from "./harness.js";

const FOLLOWERS = 200;
const KUBECTL_FOLLOWERS = 3;
const h = kubeletHarnessForFile({ etcd: "127.2.51", api: "127.2.52", scheduler: "127.2.53" }, [{ name: "followers", n: 5 }], { nodes: "127.2.55", pods: "127.241" });

/** One follow stream: the highest tick number seen and how many lines came. */
interface Follower {
  lastTick: number;
  lines: number;
  status: number;
  req: ClientRequest;
}

const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
const followers: Follower[] = [];
const kubectls: { child: ChildProcess; output: () => string }[] = [];

afterAll(() => {
  for (const f of followers) f.req.destroy();
  for (const k of kubectls) k.child.kill("SIGKILL");
  agent.destroy();
});

const tickOf = (line: string) => Number(/^tick (\d+)$/.exec(line.trim())?.[1] ?? -1);
const lastTickIn = (text: string) => Math.max(-1, ...text.split("\n").map(tickOf));

function follow(url: string): Follower {
  const f: Follower = { lastTick: -1, lines: 0, status: 0, req: undefined as unknown as ClientRequest };
  let rest = "";
  f.req = get(url, { agent }, (res) => {
    f.status = res.statusCode ?? 0;
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) {
        f.lines++;
        f.lastTick = Math.max(f.lastTick, tickOf(line));
      }
    });
    res.on("error", () => undefined);
  });
  f.req.on("error", () => undefined);
  return f;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
const summary = (xs: number[]) => ({ n: xs.length, p50: Math.round(quantile(xs, 0.5)), p95: Math.round(quantile(xs, 0.95)), max: Math.round(Math.max(...xs)) });

/** Times each call; every one must answer (a stalled or failed request fails the test). */
async function timed(n: number, call: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call();
    out.push(performance.now() - t0);
  }
  return out;
}

async function measure(api: string): Promise<Record<string, ReturnType<typeof summary>>> {
  const getOk = (path: string) => async () => {
    const r = await fetch(`${api}${path}`, { signal: AbortSignal.timeout(15_000) });
    expect(r.status, path).toBe(200);
    await r.arrayBuffer();
  };
  return {
    "GET /api/v1/namespaces/default/pods": summary(await timed(30, getOk("/api/v1/namespaces/default/pods"))),
    "GET /api/v1/nodes/followers": summary(await timed(30, getOk("/api/v1/nodes/followers"))),
    "kubectl get pods": summary(await timed(8, async () => void (await h.kubectl.ok(["get", "pods"])))),
  };
}

describe(`${FOLLOWERS} log followers through the API server`, () => {
  it("every follower gets new lines while kubectl get pods and other GETs keep answering", async () => {
    const api = h.cluster.apiservers[0]!.url;
    await h.kubectl.ok(["run", "ticker", "--image=busybox", "--restart=Never", "--", "sh", "-c", 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done']);
    await eventually(async () => (await h.kubectl.run(["logs", "ticker", "--tail=1"])).stdout, (s) => tickOf(s) >= 0, "ticker logging", 40_000);

    const before = await measure(api);

    const t0 = performance.now();
    for (let i = 0; i < FOLLOWERS; i++) followers.push(follow(`${api}/api/v1/namespaces/default/pods/ticker/log?follow=true&tailLines=0`));
    for (let i = 0; i < KUBECTL_FOLLOWERS; i++) kubectls.push(h.kubectl.spawn(["logs", "-f", "ticker", "--tail=0"]));
    await eventually(async () => followers.filter((f) => f.lines > 0).length, (n) => n === FOLLOWERS, `all ${FOLLOWERS} followers receiving`, 40_000);
    const allStreamingMs = Math.round(performance.now() - t0);
    expect(followers.every((f) => f.status === 200)).toBe(true);

    const startTick = Math.max(...followers.map((f) => f.lastTick));
    const during = await measure(api);
    // Every stream, HTTP or kubectl, has moved on past the tick current when the measuring began.
    const endTick = await eventually(async () => Math.min(...followers.map((f) => f.lastTick)), (t) => t > startTick + 2, "every follower past the start tick", 30_000);
    for (const [i, k] of kubectls.entries()) {
      await eventually(async () => lastTickIn(k.output()), (t) => t > startTick, `kubectl logs -f #${i} past tick ${startTick}`, 30_000);
    }
    const linesPerFollower = followers.map((f) => f.lines);
    const result = {
      followers: FOLLOWERS,
      kubectlFollowers: KUBECTL_FOLLOWERS,
      tickIntervalMs: 200,
      allStreamingMs,
      ticks: { atMeasureStart: startTick, slowestFollowerAtEnd: endTick, fastestFollowerAtEnd: Math.max(...followers.map((f) => f.lastTick)) },
      linesPerFollower: { min: Math.min(...linesPerFollower), max: Math.max(...linesPerFollower) },
      latencyMs: { before, during },
    };
    console.log(JSON.stringify(result, null, 2));
    if (process.env.KUBEMU_LOG_FOLLOWERS_OUT) writeFileSync(process.env.KUBEMU_LOG_FOLLOWERS_OUT, `${JSON.stringify(result, null, 2)}\n`);
  }, 240_000);
});
