/**
 * The open-loop DNS load generator, run as its own process so that nothing else (the bench's
 * bookkeeping, its GC, other rows' sockets) shares its event loop:
 *
 *   node --import tsx bench/lib/dns-open-loop-driver.ts '<DnsOpenLoopSpec as JSON>'
 *
 * `ratePerSec` A queries in all, query i due at t0 + i/rate whatever the answers, sent in turn
 * from `clients` UDP sockets (many outstanding per socket, matched by id). Each latency counts
 * from the query's due time, so a late send or a queue in the server shows up (no coordinated
 * omission); the latency from the actual send and the sender's own lateness are kept beside it to
 * tell the two apart. An answer later than `timeoutMs` after its due time is a timeout. The first
 * `warmupSeconds` are sent but not counted (this process's JIT, the server's caches).
 *
 * Pacing: timers fire on a millisecond grid and often a millisecond late, which at 10,000 q/s
 * sends bursts of 10–30 queries at once ("timer": sleep on setTimeout until 1 ms before the next
 * due time; the old in-process sender's lateness was p99 ~2.5 ms). "sleep" blocks the thread in
 * Atomics.wait (which takes fractions of a ms) until the next due time, then gives the event loop
 * one turn to read the answers: lateness p99 ~0.2 ms on a quiet machine for ~25% of a core. "spin"
 * yields with setImmediate between sends: lateness ~0 but a whole core busy, which on this 2-core
 * machine starves the server and kube-proxy (in one run through the ClusterIP: p99 57 ms, 297 lost).
 * `cpuPct` reports the driver's CPU.
 * The result (DnsOpenLoopResult) is written as JSON to `spec.out`.
 */
import { createSocket, type Socket } from "node:dgram";
import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { pathToFileURL } from "node:url";
import dnsPacket from "dns-packet";
import { percentile } from "./load.js";

export interface DnsOpenLoopSpec {
  server: string;
  port: number;
  /** The A name asked for. */
  name: string;
  clients: number;
  ratePerSec: number;
  warmupSeconds: number;
  seconds: number;
  timeoutMs: number;
  pacing: "spin" | "sleep" | "timer";
  /** Where the DnsOpenLoopResult JSON goes. */
  out: string;
}

/** Percentiles in ms. */
export interface Dist {
  count: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  p999ms: number;
  maxms: number;
}

export interface DnsOpenLoopResult {
  ratePerSec: number;
  seconds: number;
  pacing: DnsOpenLoopSpec["pacing"];
  /** Queries due in the measured window. */
  scheduled: number;
  /** NOERROR answers with at least one record, within timeoutMs of their due time. */
  ok: number;
  /** Other rcodes or empty answers. */
  errors: number;
  timeouts: number;
  achievedPerSec: number;
  /** From due time to the answer (the goal's figure). */
  fromDue: Dist;
  /** From the actual send to the answer. */
  fromSend: Dist;
  /** From due time to the send: this driver's own lateness. */
  sendLag: Dist;
  /** This process's CPU over the measured window, % of one core. */
  cpuPct: number;
  loadavg1m: number;
}

const r3 = (n: number) => Math.round(n * 1000) / 1000;

export function dist(samples: Float64Array | number[]): Dist {
  const s = Array.from(samples).sort((a, b) => a - b);
  const at = (p: number) => r3(percentile(s, p));
  return { count: s.length, p50ms: at(0.5), p90ms: at(0.9), p99ms: at(0.99), p999ms: at(0.999), maxms: r3(s[s.length - 1] ?? NaN) };
}

function parseSpec(arg: string | undefined): DnsOpenLoopSpec {
  if (arg === undefined) throw new Error("usage: dns-open-loop-driver.ts '<json spec>'");
  const s = JSON.parse(arg) as Partial<DnsOpenLoopSpec>;
  for (const k of ["server", "name", "out"] as const) if (typeof s[k] !== "string") throw new Error(`spec.${k} must be a string`);
  for (const k of ["port", "clients", "ratePerSec", "seconds", "timeoutMs"] as const) if (typeof s[k] !== "number" || !(s[k] > 0)) throw new Error(`spec.${k} must be a number > 0`);
  if (typeof s.warmupSeconds !== "number" || !(s.warmupSeconds >= 0)) throw new Error("spec.warmupSeconds must be a number ≥ 0");
  if (s.pacing !== "spin" && s.pacing !== "sleep" && s.pacing !== "timer") throw new Error('spec.pacing must be "spin", "sleep" or "timer"');
  return s as DnsOpenLoopSpec;
}

const bind = (): Promise<Socket> =>
  new Promise((resolve) => {
    const s = createSocket("udp4");
    s.on("error", () => undefined); // a refused send is a query without an answer: a timeout
    s.bind(0, "127.0.0.1", () => resolve(s));
  });

/** Runs the schedule; resolves once every query is answered or past its timeout. */
export async function runDnsOpenLoop(spec: DnsOpenLoopSpec): Promise<DnsOpenLoopResult> {
  const query = dnsPacket.encode({ type: "query", id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: spec.name, type: "A" }] });
  const sockets = await Promise.all(Array.from({ length: spec.clients }, bind));
  const interval = 1000 / spec.ratePerSec;
  const warm = Math.round(spec.ratePerSec * spec.warmupSeconds);
  const total = warm + Math.round(spec.ratePerSec * spec.seconds);
  // Query seq goes out on socket seq % clients with id (seq / clients + 1) mod 2^16; the
  // outstanding seq per (socket, id) finds it again (-1: none, or already answered).
  const outstanding = sockets.map(() => new Int32Array(65536).fill(-1));
  const sentAt = new Float64Array(total);
  const answeredAt = new Float64Array(total).fill(NaN);
  const good = new Uint8Array(total);
  let waiting = 0;
  const t0 = performance.now() + 20;
  const due = (seq: number) => t0 + seq * interval;
  sockets.forEach((s, i) =>
    s.on("message", (m) => {
      if (m.length < 12) return;
      const id = m.readUInt16BE(0);
      const seq = outstanding[i]![id]!;
      if (seq < 0) return;
      outstanding[i]![id] = -1;
      waiting--;
      answeredAt[seq] = performance.now();
      good[seq] = (m[3]! & 0xf) === 0 && m.readUInt16BE(6) > 0 ? 1 : 0;
    }),
  );

  let sent = 0;
  let cpuAtWindow: NodeJS.CpuUsage | undefined;
  let windowAt = 0;
  const sendDue = () => {
    const now = performance.now();
    while (sent < total && due(sent) <= now) {
      if (sent === warm) {
        cpuAtWindow = process.cpuUsage();
        windowAt = now;
      }
      const i = sent % sockets.length;
      const id = (Math.floor(sent / sockets.length) + 1) & 0xffff;
      const buf = Buffer.from(query);
      buf.writeUInt16BE(id, 0);
      if (outstanding[i]![id]! < 0) waiting++; // else: unanswered 65,536 queries ago on this socket, a timeout
      outstanding[i]![id] = sent;
      sentAt[sent] = performance.now();
      sockets[i]!.send(buf, spec.port, spec.server);
      sent++;
    }
  };
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (sent < total) {
    sendDue();
    const wait = due(sent) - performance.now();
    // A timer may fire a millisecond late: sleep on one only when the next send is further off than that.
    if (spec.pacing === "timer" || wait > 2) await new Promise((r) => setTimeout(r, Math.max(0, wait - 1)));
    else {
      // "sleep": block the thread until the next due time (Atomics.wait takes fractions of a ms),
      // then one event-loop turn reads whatever answers came meanwhile.
      if (spec.pacing === "sleep" && wait > 0) Atomics.wait(nap, 0, 0, wait);
      await new Promise((r) => setImmediate(r));
    }
  }
  const lastDue = due(total - 1);
  while (performance.now() < lastDue + spec.timeoutMs && waiting > 0) await new Promise((r) => setTimeout(r, 20));
  const elapsed = lastDue + interval - windowAt;
  const cpu = process.cpuUsage(cpuAtWindow);
  for (const s of sockets) s.close();

  const fromDue: number[] = [];
  const fromSend: number[] = [];
  const lag: number[] = [];
  let errors = 0;
  let timeouts = 0;
  for (let seq = warm; seq < total; seq++) {
    lag.push(sentAt[seq]! - due(seq));
    const ms = answeredAt[seq]! - due(seq);
    if (!(ms <= spec.timeoutMs)) timeouts++;
    else if (!good[seq]) errors++;
    else {
      fromDue.push(ms);
      fromSend.push(answeredAt[seq]! - sentAt[seq]!);
    }
  }
  return {
    ratePerSec: spec.ratePerSec,
    seconds: spec.seconds,
    pacing: spec.pacing,
    scheduled: total - warm,
    ok: fromDue.length,
    errors,
    timeouts,
    achievedPerSec: Math.round((fromDue.length / elapsed) * 1000),
    fromDue: dist(fromDue),
    fromSend: dist(fromSend),
    sendLag: dist(lag),
    cpuPct: Math.round(((cpu.user + cpu.system) / 1000 / elapsed) * 100),
    loadavg1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}

// Run as a process (not when imported for its types).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const spec = parseSpec(process.argv[2]);
  runDnsOpenLoop(spec)
    .then((r) => writeFileSync(spec.out, JSON.stringify(r)))
    .catch((e: unknown) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exitCode = 1;
    });
}
