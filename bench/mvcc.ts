/**
 * MVCC store benchmark: the in-memory MvccStore alone (no Raft, no disk, no network) under a
 * Kubernetes-shaped load: 10k pods under /registry/pods/default/, three revisions each, ~1 KiB of
 * JSON per value. Measures put, get, compare-and-swap txn, LIST of the 10k prefix (latest and at
 * an old revision, and a 500-item page), watch catch-up over every event, compact, and snapshot
 * encode / restore / hash.
 *
 *   npm run bench -- mvcc [--keys 10000]
 *
 * These were timed assertions in packages/etcd-raft/test/mvcc/perf.test.ts; speed is measured
 * here instead, never asserted in tests. The correctness checks that rode along (the LIST count,
 * old-revision versions, restored hash) still fail the benchmark loudly if they break.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { MvccStore, prefixEnd } from "@kubemu/etcd-raft";

const prefix = "/registry/pods/default/";

interface Row {
  measurement: string;
  /** Operations timed (1 for whole-store operations). */
  ops: number;
  /** Median wall time of one repetition, in ms. */
  totalMs: number;
  /** Per operation, in µs. */
  perOpUs: number;
  note?: string;
}

function podJson(i: number, gen: number): string {
  return JSON.stringify({
    kind: "Pod",
    apiVersion: "v1",
    metadata: { name: `pod-${i}`, namespace: "default", labels: { app: `app-${i % 50}`, gen: String(gen) } },
    spec: { containers: [{ name: "main", image: "nginx", command: ["sh", "-c", "sleep 3600"] }], nodeName: `node-${i % 3}` },
    status: { phase: "Running", podIP: `127.244.${i % 3}.${i % 250}`, conditions: [{ type: "Ready", status: "True" }] },
    pad: "x".repeat(600),
  });
}

function time<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}

/** Median of `reps` runs of fn (after one warm-up run), in ms. */
function median(reps: number, fn: () => unknown): number {
  fn();
  const t = Array.from({ length: reps }, () => time(fn)[1]).sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)]!;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`mvcc bench: ${what}`);
}

function row(measurement: string, ops: number, totalMs: number, note?: string): Row {
  return { measurement, ops, totalMs: round(totalMs, 2), perOpUs: round((totalMs * 1000) / ops, 2), ...(note ? { note } : {}) };
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

function table(rows: Row[]): string {
  const head = ["measurement", "ops", "total ms", "µs/op", "note"];
  const body = rows.map((r) => [r.measurement, String(r.ops), r.totalMs.toFixed(2), r.perOpUs.toFixed(2), r.note ?? ""]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

export async function run(args: string[]): Promise<void> {
  const i = args.indexOf("--keys");
  const n = i >= 0 ? Number(args[i + 1]) : 10_000;
  if (!Number.isInteger(n) || n < 1000 || n > 1_000_000) throw new Error("--keys needs a whole number from 1000 to 1000000");
  const rows: Row[] = [];
  const s = new MvccStore();
  const values = [0, 1, 2].map((gen) => Array.from({ length: n }, (_, k) => podJson(k, gen)));
  const key = (k: number) => `${prefix}pod-${k}`;

  const [, putMs] = time(() => {
    for (let gen = 0; gen < 3; gen++) for (let k = 0; k < n; k++) s.apply({ type: "put", key: key(k), value: values[gen]![k]! });
  });
  rows.push(row("put (1 KiB value)", 3 * n, putMs, `${n} keys × 3 revisions`));

  const gets = Math.min(n, 10_000);
  rows.push(row("get (one key)", gets, median(5, () => {
    for (let k = 0; k < gets; k++) s.range({ key: key(k) });
  })));

  const cas = Math.min(n, 5_000);
  const [, casMs] = time(() => {
    for (let k = 0; k < cas; k++) {
      const mod = s.range({ key: key(k) }).kvs[0]!.modRevision;
      s.apply({ type: "txn", compare: [{ key: key(k), target: "modRevision", result: "=", value: mod }], success: [{ type: "put", key: key(k), value: values[2]![k]! }], failure: [{ type: "range", key: key(k) }] });
    }
  });
  rows.push(row("txn: get + CAS put", cas, casMs, "compare modRevision, as the apiserver updates"));

  const list = () => s.range({ key: prefix, rangeEnd: prefixEnd(prefix) });
  check(list().count === n, `LIST returned ${list().count} keys, expected ${n}`);
  rows.push(row(`LIST ${n} keys (latest)`, 1, median(5, list)));
  const oldRev = 1 + n; // right after the first generation was written
  const listOld = () => s.range({ key: prefix, rangeEnd: prefixEnd(prefix), revision: oldRev });
  check(listOld().kvs.every((kv) => kv.version === 1), "LIST at the old revision saw a later version");
  rows.push(row(`LIST ${n} keys at old revision`, 1, median(5, listOld), `revision ${oldRev}`));
  rows.push(row("LIST page of 500", 1, median(9, () => s.range({ key: prefix, rangeEnd: prefixEnd(prefix), limit: 500 }))));

  const w = s.watch({ key: prefix, rangeEnd: prefixEnd(prefix), startRevision: 2, bufferEvents: 10 * n });
  const [events, catchUpMs] = time(() => {
    let count = 0;
    while (w.pending > 0) for (const m of w.poll()) count += m.kind === "events" ? m.events.length : 0;
    return count;
  });
  w.cancel();
  check(events === s.revision - 1, `watch catch-up delivered ${events} events, expected ${s.revision - 1}`);
  rows.push(row("watch catch-up from rev 2", events, catchUpMs, `${events} events`));

  const [snap, snapMs] = time(() => s.toSnapshot());
  rows.push(row("snapshot encode", 1, snapMs, `${(snap.length / 1e6).toFixed(1)} MB`));
  const [restored, restoreMs] = time(() => MvccStore.fromSnapshot(snap));
  rows.push(row("snapshot restore", 1, restoreMs));
  const [hash, hashMs] = time(() => s.hash());
  rows.push(row("hash", 1, hashMs));
  check(restored.hash() === hash, "restored store hashes differently");
  const [, compactMs] = time(() => s.apply({ type: "compact", revision: s.revision }));
  rows.push(row("compact to latest", 1, compactMs, `${3 * n + cas} revisions`));

  const result = {
    benchmark: "mvcc",
    date: new Date().toISOString(),
    node: process.version,
    setup: `MvccStore in this process (no Raft, disk or network); ${n} keys under ${prefix}, ~1 KiB JSON values; medians of 5 runs where repeatable`,
    keys: n,
    snapshotBytes: snap.length,
    loadAverage: loadavg().map((l) => round(l, 2)),
    rows,
  };
  console.log(table(rows));
  mkdirSync(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
  writeFileSync(fileURLToPath(new URL("./results/mvcc.json", import.meta.url)), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`BENCH mvcc ${JSON.stringify(result)}`);
}
