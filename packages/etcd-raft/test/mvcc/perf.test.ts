// Kubernetes-shaped load: 10k objects under /registry/pods/, three revisions each, ~1 KiB JSON.
// Prints the measurements; the assertions are loose ceilings (the machine is shared) that
// still catch an accidental O(n^2).
import { describe, expect, it } from "vitest";
import { MvccStore, prefixEnd } from "@kubemu/etcd-raft";

const N = 10_000;
const prefix = "/registry/pods/default/";

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

describe("MvccStore performance (10k keys)", () => {
  it("puts in microseconds and lists a 10k prefix well under 100 ms", () => {
    const s = new MvccStore();
    const values = [0, 1, 2].map((gen) => Array.from({ length: N }, (_, i) => podJson(i, gen)));
    const [, putMs] = time(() => {
      for (let gen = 0; gen < 3; gen++) for (let i = 0; i < N; i++) s.apply({ type: "put", key: `${prefix}pod-${i}`, value: values[gen]![i]! });
    });
    const perPutUs = (putMs * 1000) / (3 * N);

    const list = () => s.range({ key: prefix, rangeEnd: prefixEnd(prefix) });
    list(); // warm up
    const listTimes = Array.from({ length: 5 }, () => time(list)[1]).sort((a, b) => a - b);
    const listMs = listTimes[2]!;
    expect(list().count).toBe(N);
    const [old, oldListMs] = time(() => s.range({ key: prefix, rangeEnd: prefixEnd(prefix), revision: 1 + N }));
    expect(old.kvs.every((kv) => kv.version === 1)).toBe(true);
    const [, pageMs] = time(() => s.range({ key: prefix, rangeEnd: prefixEnd(prefix), limit: 500 }));

    const [, getMs] = time(() => {
      for (let i = 0; i < 1000; i++) s.range({ key: `${prefix}pod-${i}` });
    });
    const [, casMs] = time(() => {
      for (let i = 0; i < 1000; i++) {
        const key = `${prefix}pod-${i}`;
        const mod = s.range({ key }).kvs[0]!.modRevision;
        s.apply({ type: "txn", compare: [{ key, target: "modRevision", result: "=", value: mod }], success: [{ type: "put", key, value: values[2]![i]! }], failure: [{ type: "range", key }] });
      }
    });
    const w = s.watch({ key: prefix, rangeEnd: prefixEnd(prefix), startRevision: 2, bufferEvents: 100_000 });
    const [, catchUpMs] = time(() => {
      let n = 0;
      while (w.pending > 0) for (const m of w.poll()) n += m.kind === "events" ? m.events.length : 0;
      return n;
    });
    const [snap, snapMs] = time(() => s.toSnapshot());
    const [restored, restoreMs] = time(() => MvccStore.fromSnapshot(snap));
    const [, hashMs] = time(() => s.hash());
    expect(restored.hash()).toBe(s.hash());
    const [, compactMs] = time(() => s.apply({ type: "compact", revision: s.revision }));

    const report = {
      putUs: perPutUs.toFixed(1),
      list10kMs: listMs.toFixed(1),
      list10kAtOldRevMs: oldListMs.toFixed(1),
      listPage500Ms: pageMs.toFixed(2),
      getUs: ((getMs * 1000) / 1000).toFixed(1),
      casTxnUs: ((casMs * 1000) / 1000).toFixed(1),
      watchCatchUp31kEventsMs: catchUpMs.toFixed(1),
      snapshotMB: (snap.length / 1e6).toFixed(1),
      snapshotMs: snapMs.toFixed(1),
      restoreMs: restoreMs.toFixed(1),
      hashMs: hashMs.toFixed(1),
      compactMs: compactMs.toFixed(1),
    };
    console.log("mvcc perf", JSON.stringify(report));
    expect(listMs).toBeLessThan(100);
    expect(perPutUs).toBeLessThan(500);
    expect(casMs / 1000).toBeLessThan(1); // ms per read+CAS; O(keys) work per op would blow this
  });
});
