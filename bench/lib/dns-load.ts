/**
 * A closed-loop DNS load: `clients` UDP sockets, each sending one A query, waiting for its answer
 * (or `timeoutMs`) and sending the next, for `durationMs`. The query is encoded once; only the id
 * changes. An answer counts when it is NOERROR with at least one record; SERVFAIL/other rcodes are
 * errors. Every outcome is kept with its send time so a disturbance (a killed server) can be
 * located in the run.
 */
import { createSocket } from "node:dgram";
import dnsPacket from "dns-packet";

export interface DnsOutcome {
  /** ms since the run started, when the query was sent. */
  sentAt: number;
  ms: number;
  ok: boolean;
  timeout: boolean;
}

export async function dnsLoad(server: string, port: number, name: string, o: { clients: number; durationMs: number; timeoutMs: number }): Promise<DnsOutcome[]> {
  const query = dnsPacket.encode({ type: "query", id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: "A" }] });
  const outcomes: DnsOutcome[] = [];
  const start = performance.now();
  // One sweep finds the queries past their timeout (a timer per query would cost the client more than the server).
  const waiting = new Set<{ deadline: number; expire: () => void }>();
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const w of waiting) if (now >= w.deadline) w.expire();
  }, 20);
  const client = (n: number) =>
    new Promise<void>((resolve) => {
      const s = createSocket("udp4");
      const buf = Buffer.from(query);
      let id = (n * 1000) & 0xffff;
      let sentAt = 0;
      const pendingQuery = { deadline: 0, expire: () => undefined as void };
      const send = () => {
        if (performance.now() - start >= o.durationMs) {
          waiting.delete(pendingQuery);
          s.close();
          return resolve();
        }
        id = (id + 1) & 0xffff;
        buf.writeUInt16BE(id, 0);
        sentAt = performance.now();
        pendingQuery.deadline = sentAt + o.timeoutMs;
        waiting.add(pendingQuery);
        s.send(buf, port, server);
      };
      pendingQuery.expire = () => {
        waiting.delete(pendingQuery);
        outcomes.push({ sentAt: sentAt - start, ms: o.timeoutMs, ok: false, timeout: true });
        send();
      };
      s.on("message", (m) => {
        if (m.length < 12 || m.readUInt16BE(0) !== id) return;
        waiting.delete(pendingQuery);
        const rcode = m[3]! & 0xf;
        outcomes.push({ sentAt: sentAt - start, ms: performance.now() - sentAt, ok: rcode === 0 && m.readUInt16BE(6) > 0, timeout: false });
        send();
      });
      s.on("error", () => undefined);
      s.bind(0, "127.0.0.1", send);
    });
  await Promise.all(Array.from({ length: o.clients }, (_, i) => client(i)));
  clearInterval(sweep);
  return outcomes;
}

/**
 * An open-loop DNS load: `ratePerSec` A queries in all, due at fixed times whatever the answers,
 * taken in turn by `clients` UDP sockets (many outstanding per socket, matched by id). Each
 * latency runs from the query's due time, so a late send or a queue in the server shows up: the
 * figure for "this many queries a second with p99 ≤ x", which a closed loop cannot give (there
 * the latency at saturation is clients / rate).
 */
export async function dnsOpenLoad(server: string, port: number, name: string, o: { clients: number; ratePerSec: number; durationMs: number; timeoutMs: number }): Promise<{ outcomes: DnsOutcome[]; sendLagMs: number[]; fromSendMs: number[] }> {
  const query = dnsPacket.encode({ type: "query", id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: "A" }] });
  const outcomes: DnsOutcome[] = [];
  const sockets = await Promise.all(
    Array.from({ length: o.clients }, () => {
      const s = createSocket("udp4");
      s.on("error", () => undefined);
      return new Promise<typeof s>((resolve) => s.bind(0, "127.0.0.1", () => resolve(s)));
    }),
  );
  // Outstanding queries by socket and id: their due times.
  const pending = sockets.map(() => new Map<number, number>());
  const sentAt = sockets.map(() => new Map<number, number>());
  const fromSendMs: number[] = [];
  const start = performance.now();
  sockets.forEach((s, i) =>
    s.on("message", (m) => {
      if (m.length < 12) return;
      const due = pending[i]!.get(m.readUInt16BE(0));
      if (due === undefined) return;
      pending[i]!.delete(m.readUInt16BE(0));
      fromSendMs.push(performance.now() - sentAt[i]!.get(m.readUInt16BE(0))!);
      const rcode = m[3]! & 0xf;
      outcomes.push({ sentAt: due - start, ms: performance.now() - due, ok: rcode === 0 && m.readUInt16BE(6) > 0, timeout: false });
    }),
  );
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const p of pending)
      for (const [id, due] of p)
        if (now - due >= o.timeoutMs) {
          p.delete(id);
          outcomes.push({ sentAt: due - start, ms: o.timeoutMs, ok: false, timeout: true });
        }
  }, 20);
  const interval = 1000 / o.ratePerSec;
  const total = Math.round((o.ratePerSec * o.durationMs) / 1000);
  let sent = 0;
  const sendLagMs: number[] = [];
  while (sent < total) {
    const now = performance.now();
    while (sent < total && start + sent * interval <= now) {
      sendLagMs.push(now - (start + sent * interval));
      const i = sent % sockets.length;
      const id = (Math.floor(sent / sockets.length) + 1) & 0xffff;
      const buf = Buffer.from(query);
      buf.writeUInt16BE(id, 0);
      pending[i]!.set(id, start + sent * interval);
      sentAt[i]!.set(id, performance.now());
      sockets[i]!.send(buf, port, server);
      sent++;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, start + sent * interval - performance.now() - 1)));
  }
  while (pending.some((p) => p.size > 0)) await new Promise((r) => setTimeout(r, 20));
  clearInterval(sweep);
  for (const s of sockets) s.close();
  return { outcomes, sendLagMs, fromSendMs };
}
