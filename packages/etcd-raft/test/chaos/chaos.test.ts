/**
 * Chaos against the replicated store: three real kubemu-etcd processes, five concurrent clients
 * doing get / put / compare-and-swap on five keys, two watchers recording every change from
 * revision 1 — while a nemesis SIGKILLs and restarts the leader, partitions members and moves
 * leadership. Afterwards, with the cluster healed and converged, it asserts:
 *  1. the recorded history (plus a final read of every key) is linearizable;
 *  2. no acknowledged write is lost: each one's revision holds exactly that write in every
 *     member's history (a range at that revision returns it), and no write executed twice;
 *  3. each watcher saw strictly increasing revisions with no duplicate, and exactly the change
 *     history every member replays from revision 1.
 *
 * Duration: KUBEMU_CHAOS_SECONDS (default 30), or 300 with KUBEMU_SOAK=1; the nemesis always
 * completes at least five steps (three leader kills, a partition, a transfer). KUBEMU_CHAOS_SEED
 * replays the choices (ops, keys, fault order and durations; timing still varies).
 * Needs dist/ (npx tsc -b). Members live on 127.0.95.x.
 */
import { performance } from "node:perf_hooks";
import { randomRng, SeededRng } from "@kubemu/common";
import { afterAll, describe, expect, it } from "vitest";
import type { EtcdClient } from "../../src/index.js";
import { TestCluster } from "../server/cluster.js";
import { checkLinearizable, kvModel } from "../support/linearizability.js";
import { Nemesis } from "./nemesis.js";
import { firstDifference, RecordingWatcher, replayHistory, streamProblems, type SeenEvent } from "./watchers.js";
import { Workload } from "./workload.js";

const SUBNET = "127.0.95";
const PREFIX = "/chaos/";
const KEYS = Array.from({ length: 5 }, (_, i) => `${PREFIX}k${i}`);
const CLIENTS = 5;
/** kill, partition, kill, transfer, kill: every fault kind and three leader kills, however short the run. */
const MIN_NEMESIS_STEPS = 5;

function chaosSeconds(): number {
  const raw = process.env.KUBEMU_CHAOS_SECONDS;
  if (raw !== undefined && raw !== "") {
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`KUBEMU_CHAOS_SECONDS must be a positive number, got "${raw}"`);
    return n;
  }
  return process.env.KUBEMU_SOAK === "1" ? 300 : 30;
}

function chaosSeed(): number {
  const raw = process.env.KUBEMU_CHAOS_SEED;
  if (raw === undefined || raw === "") return randomRng().seed;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`KUBEMU_CHAOS_SEED must be an integer, got "${raw}"`);
  return n;
}

const SECONDS = chaosSeconds();

describe("chaos: leader kills, partitions and leader transfers under load", () => {
  let cluster: TestCluster | undefined;

  afterAll(async () => {
    await cluster?.cleanup();
  });

  it(
    `histories linearize, no acknowledged write is lost, watchers see every change once (${SECONDS} s)`,
    async () => {
      const seed = chaosSeed();
      const rng = new SeededRng(seed);
      cluster = await new TestCluster({ subnet: SUBNET, size: 3 }).init();
      const c = cluster;
      c.startAll();
      await c.waitForLeader();
      const names = c.specs.map((s) => s.name);
      const rotated = (i: number) => [...names.slice(i % names.length), ...names.slice(0, i % names.length)];

      const watchers = [new RecordingWatcher("watcher-a", c.client(rotated(0)), PREFIX), new RecordingWatcher("watcher-b", c.client(rotated(2)), PREFIX)];
      for (const w of watchers) w.start();
      const workload = new Workload({
        clients: Array.from({ length: CLIENTS }, (_, i) => c.client(rotated(i), 3000)),
        keys: KEYS,
        rng: rng.fork(),
        now: () => performance.now(),
      });
      const nemesis = new Nemesis(c, rng.fork());
      const report: string[] = [`seed=${seed} (KUBEMU_CHAOS_SEED replays the choices)`];
      const fail = (what: string) => `${what}\n${report.join("\n")}\nnemesis:\n  ${nemesis.log.join("\n  ")}`;

      const explain = (what: string) => (e: unknown) => {
        throw new Error(fail(`${what}: ${e instanceof Error ? e.message : String(e)}`));
      };

      workload.start();
      const chaosStart = performance.now();
      try {
        await nemesis.run(SECONDS * 1000, MIN_NEMESIS_STEPS).catch(explain("a nemesis step did not recover"));
      } finally {
        await workload.stop();
      }
      const chaosSeconds = (performance.now() - chaosStart) / 1000;

      // Heal and converge: every member up, no fault rules, one leader, equal revision and hash.
      await nemesis.healAll();
      await c.waitForLeader().catch(explain("no leader after healing"));
      const converged = await c.waitConverged(30_000).catch(explain("no convergence after healing"));
      const perMember = await Promise.all(names.map((n) => withClient(c, n, (cl) => cl.hashKV())));
      for (const h of perMember) {
        expect(h.revision, fail("members disagree on the revision")).toBe(converged.revision);
        expect(h.hash, fail("members disagree on hashKV")).toBe(converged.hash);
      }
      const finalRevision = converged.revision;

      // A final linearizable read of every key joins the history: the end state must be explained too.
      const reader = c.client(undefined, 10_000);
      for (const key of KEYS) {
        const call = performance.now();
        const kv = await reader.get(key);
        workload.history.push({ client: CLIENTS, input: { op: "get", key }, call, output: { value: kv ? Buffer.from(kv.value).toString() : null }, ret: performance.now() });
      }

      // (3a) The watchers catch up to the final revision and saw a clean stream.
      await Promise.all(watchers.map((w) => w.waitFor(finalRevision, 30_000))).catch(explain("watchers did not catch up"));
      for (const w of watchers) await w.stop();
      for (const w of watchers) {
        expect(w.error, fail(`${w.name} ended with an error`)).toBeUndefined();
        expect(streamProblems(w), fail(`${w.name} stream problems`)).toEqual([]);
      }

      // Every member's own record of the history, read back by replaying a watch from revision 1.
      const replays = new Map<string, SeenEvent[]>();
      for (const n of names) replays.set(n, await withClient(c, n, (cl) => replayHistory(`replay-${n}`, cl, PREFIX, finalRevision, 30_000)));
      const reference = replays.get(names[0]!)!;
      for (const n of names.slice(1)) {
        expect(firstDifference(reference, replays.get(n)!), fail(`${n}'s history differs from ${names[0]}'s`)).toBeUndefined();
      }
      // (3b) Each watcher saw exactly that history.
      for (const w of watchers) {
        expect(firstDifference(w.events.filter((e) => e.revision <= finalRevision), reference), fail(`${w.name} differs from the replayed history`)).toBeUndefined();
      }

      // (2) No acknowledged write lost, none executed twice, nothing stored that nobody wrote.
      const byRevision = new Map<number, SeenEvent>();
      const valueCount = new Map<string, number>();
      for (const e of reference) {
        expect(byRevision.has(e.revision), fail(`revision ${e.revision} carries more than one change`)).toBe(false);
        byRevision.set(e.revision, e);
        valueCount.set(e.value, (valueCount.get(e.value) ?? 0) + 1);
        expect(workload.issuedValues.has(e.value), fail(`stored value ${e.value} at revision ${e.revision} was never written`)).toBe(true);
      }
      const twice = [...valueCount].filter(([, k]) => k > 1);
      expect(twice, fail("writes executed more than once")).toEqual([]);
      const lost = workload.acked.filter((a) => {
        const e = byRevision.get(a.revision);
        return !e || e.type !== "PUT" || e.key !== a.key || e.value !== a.value;
      });
      expect(lost.slice(0, 10), fail(`${lost.length} acknowledged writes are not in the history at their revision`)).toEqual([]);
      for (const n of names) {
        const misses = await withClient(c, n, (cl) => rangeMisses(cl, workload.acked));
        expect(misses.slice(0, 10), fail(`${n}: acknowledged writes not readable at their revision`)).toEqual([]);
      }

      // (1) Linearizability of everything the clients observed.
      const t0 = performance.now();
      const result = checkLinearizable(kvModel, workload.history);
      const checkerMs = performance.now() - t0;

      const s = workload.stats;
      // Unavailability: the longest stretch without any acknowledged write.
      const writeRets = workload.history.filter((op) => op.input.op !== "get" && op.ret !== Infinity && op.client < CLIENTS).map((op) => op.ret);
      writeRets.sort((a, b) => a - b);
      const maxWriteGapMs = writeRets.reduce((gap, t, j) => (j === 0 ? 0 : Math.max(gap, t - writeRets[j - 1]!)), 0);
      const summary =
        `chaos summary: ${chaosSeconds.toFixed(1)}s seed=${seed} ops ok=${s.ok} failed=${s.failed} unknown=${s.unknown} ` +
        `(gets=${s.gets} puts=${s.puts} cas=${s.cas} casOk=${s.casSucceeded}) acked=${workload.acked.length} ` +
        `kills=${nemesis.counts.kills} partitions=${nemesis.counts.partitions} transfers=${nemesis.counts.transfers} ` +
        `transferFailures=${nemesis.counts.transferFailures} revision=${finalRevision} ` +
        `watchReconnects=${watchers.map((w) => w.reconnects).join("/")} history=${workload.history.length} ` +
        `checker=${checkerMs.toFixed(0)}ms maxWriteGap=${maxWriteGapMs.toFixed(0)}ms errors=${JSON.stringify(Object.fromEntries(workload.errorReasons))}`;
      console.log(summary);
      report.push(summary);

      expect(result.exhausted ?? false, fail(`checker gave up: ${result.info}`)).toBe(false);
      expect(result.ok, fail(`not linearizable: ${result.info}`)).toBe(true);
      // The history constrains: one read answering a value nobody wrote must break it.
      const i = workload.history.findIndex((op) => op.input.op === "get" && op.output?.value != null);
      const tampered = workload.history.map((op, j) => (j === i ? { ...op, output: { value: "never-written" } } : op));
      expect(checkLinearizable(kvModel, tampered).ok).toBe(false);

      // The run exercised what it claims to.
      expect(nemesis.counts.kills, fail("too few leader kills")).toBeGreaterThanOrEqual(3);
      expect(nemesis.counts.partitions, fail("no partition")).toBeGreaterThanOrEqual(1);
      expect(nemesis.counts.transfers + nemesis.counts.transferFailures, fail("no leader transfer")).toBeGreaterThanOrEqual(1);
      expect(workload.acked.length, fail("too few acknowledged writes")).toBeGreaterThan(SECONDS * 5);
    },
    SECONDS * 1000 + 150_000,
  );
});

/** Runs fn with a client pinned to one member, closing it afterwards. */
async function withClient<T>(c: TestCluster, name: string, fn: (cl: EtcdClient) => Promise<T>): Promise<T> {
  const cl = c.client([name], 10_000);
  try {
    return await fn(cl);
  } finally {
    await cl.close();
  }
}

/** Acknowledged writes that a local range at their revision does not return (value and modRevision). */
async function rangeMisses(cl: EtcdClient, acked: { key: string; value: string; revision: number }[]): Promise<string[]> {
  const misses: string[] = [];
  const BATCH = 64;
  for (let i = 0; i < acked.length; i += BATCH) {
    await Promise.all(
      acked.slice(i, i + BATCH).map(async (a) => {
        const kv = await cl.get(a.key, { revision: a.revision, serializable: true });
        const got = kv ? `${Buffer.from(kv.value).toString()}@${kv.modRevision}` : "(absent)";
        if (got !== `${a.value}@${a.revision}`) misses.push(`${a.key} at ${a.revision}: want ${a.value}, got ${got}`);
      }),
    );
  }
  return misses;
}
