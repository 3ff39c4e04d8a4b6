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
