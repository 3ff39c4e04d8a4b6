/**
 * Wire protocol benchmark: request/response throughput and latency of WireClient/WireServer on
 * one connection, side by side with a bare `ws` echo (client packs the same msgpack payload, the
 * server echoes the bytes back, the client unpacks and matches the id). Both servers run in this
 * process, on 127.0.0.1, so both sides share the same CPU budget.
 *
 * Each row runs several alternating rounds of each side; "ratio" is wire req/s over bare req/s.
 *
 *   npm run bench -- wire [--seconds 2]
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { WebSocket, WebSocketServer } from "ws";
import { Packr } from "msgpackr";
import { WireClient, WireServer } from "@kubemu/common";

interface Figures {
  rps: number;
  p50us: number;
  p99us: number;
  /** Process CPU time (user + system) per request, both ends included. */
  cpuUsPerReq: number;
}
interface Row {
  payload: string;
  payloadBytes: number;
  inflight: number;
  wire: Figures;
  bare: Figures;
  ratio: number;
}

type Call = (payload: unknown) => Promise<unknown>;

/** Accumulated samples of one side of one row, over several rounds. */
class Sample {
  lat: number[] = [];
  requests = 0;
  elapsedMs = 0;
  cpuUs = 0;

  figures(): Figures {
    this.lat.sort((a, b) => a - b);
    const pct = (p: number) => (this.lat.length ? this.lat[Math.min(this.lat.length - 1, Math.floor(this.lat.length * p))]! * 1000 : 0);
    return {
      rps: Math.round((this.requests / this.elapsedMs) * 1000),
      p50us: Math.round(pct(0.5)),
      p99us: Math.round(pct(0.99)),
      cpuUsPerReq: Math.round((this.cpuUs / this.requests) * 10) / 10,
    };
  }
}

/** Runs `inflight` closed-loop workers for `ms` after a short warm-up, adding to `into`. */
async function measure(call: Call, payload: unknown, inflight: number, ms: number, into: Sample): Promise<void> {
  const warmEnd = performance.now() + Math.min(200, ms / 4);
  let stopAt = Infinity;
  let measuring = false;
  const worker = async () => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= stopAt) return;
      await call(payload);
      const t1 = performance.now();
      if (measuring && t1 <= stopAt) {
        into.lat.push(t1 - t0);
        into.requests++;
      }
    }
  };
  const workers = Array.from({ length: inflight }, worker);
  while (performance.now() < warmEnd) await new Promise((r) => setTimeout(r, 5));
  measuring = true;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  stopAt = start + ms;
  await Promise.all(workers);
  const cpu = process.cpuUsage(cpu0);
  into.elapsedMs += Math.min(performance.now(), stopAt) - start;
  into.cpuUs += cpu.user + cpu.system;
}

async function startWire(): Promise<{ call: Call; close: () => Promise<void> }> {
  const server = new WireServer({ name: "bench-server" });
  server.handle("echo", (p) => p);
  const { url } = await server.listen({ host: "127.0.0.1", port: 0 });
  const client = new WireClient({ name: "bench-client", endpoints: [url] });
  await client.ready();
  return {
    call: (p) => client.request("echo", p),
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

async function startBare(): Promise<{ call: Call; close: () => Promise<void> }> {
  const packr = new Packr({ useRecords: false });
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await new Promise((r) => wss.once("listening", r));
  wss.on("connection", (ws) => ws.on("message", (data) => ws.send(data as Buffer, { binary: true })));
  const port = (wss.address() as { port: number }).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  await new Promise((r) => ws.once("open", r));
  const pending = new Map<number, (v: unknown) => void>();
  let nextId = 1;
  ws.on("message", (data) => {
    const [id, payload] = packr.unpack(data as Buffer) as [number, unknown];
    const resolve = pending.get(id);
    pending.delete(id);
    resolve?.(payload);
  });
  return {
    call: (p) =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        ws.send(packr.pack([id, p]), { binary: true });
      }),
    close: async () => {
      ws.close();
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

function payloadOf(bytes: number): unknown {
  // A small Kubernetes-ish object padded to roughly `bytes` once msgpack-encoded.
  const base = { kind: "Pod", ns: "default", name: "web-0", rv: 12345, labels: { app: "web" } };
  const overhead = new Packr({ useRecords: false }).pack({ ...base, pad: "" }).length;
  return { ...base, pad: "x".repeat(Math.max(0, bytes - overhead - 2)) };
}

function table(rows: Row[]): string {
  const head = ["payload", "in-flight", "wire req/s", "p50 µs", "p99 µs", "CPU µs/req", "bare req/s", "p50 µs", "p99 µs", "CPU µs/req", "ratio"];
  const fig = (f: Figures) => [String(f.rps), String(f.p50us), String(f.p99us), f.cpuUsPerReq.toFixed(1)];
  const body = rows.map((r) => [r.payload, String(r.inflight), ...fig(r.wire), ...fig(r.bare), r.ratio.toFixed(2)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

export async function run(args: string[]): Promise<void> {
  const i = args.indexOf("--seconds");
  const seconds = i >= 0 ? Number(args[i + 1]) : 2;
  if (!(seconds > 0)) throw new Error("--seconds needs a positive number");
  const ms = seconds * 1000;
  const rounds = 4;
  const wire = await startWire();
  const bare = await startBare();
  const rows: Row[] = [];
  try {
    // Let the JIT settle on both code paths before anything is recorded.
    for (const side of [wire, bare, wire, bare]) {
      for (const inflight of [1, 64]) await measure(side.call, payloadOf(100), inflight, 400, new Sample());
    }
    for (const [label, bytes] of [["100 B", 100], ["1 KiB", 1024]] as const) {
      const payload = payloadOf(bytes);
      for (const inflight of [1, 64]) {
        // Several short rounds, alternating which side goes first, so load from other processes
        // on this machine hits both sides alike.
        const w = new Sample();
        const b = new Sample();
        for (let round = 0; round < rounds; round++) {
          const order = round % 2 === 0 ? [[bare, b], [wire, w]] as const : [[wire, w], [bare, b]] as const;
          for (const [side, sample] of order) await measure(side.call, payload, inflight, ms / rounds, sample);
        }
        const wf = w.figures();
        const bf = b.figures();
        rows.push({ payload: label, payloadBytes: bytes, inflight, wire: wf, bare: bf, ratio: Math.round((wf.rps / bf.rps) * 100) / 100 });
      }
    }
  } finally {
    await wire.close();
    await bare.close();
  }
  const result = {
    benchmark: "wire",
    date: new Date().toISOString(),
    node: process.version,
    setup:
      "servers and clients in one process (whatever @kubemu/common resolves to: dist/ under npm run bench), 127.0.0.1, one connection each; bare = ws client packs [id, payload] with msgpackr, server echoes the bytes, client unpacks",
    secondsPerRowPerSide: seconds,
    roundsPerRow: rounds,
    loadAverage: (await import("node:os")).loadavg().map((l) => Math.round(l * 100) / 100),
    rows,
  };
  console.log(table(rows));
  const out = fileURLToPath(new URL("./results/wire.json", import.meta.url));
  mkdirSync(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`BENCH wire ${JSON.stringify(result)}`);
}
