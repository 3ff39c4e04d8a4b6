/**
 * DNS messages on the wire (dns-packet): decoding a query (anything malformed is dropped, as
 * CoreDNS's server does), encoding a reply with the query's id, opcode, RD bit and EDNS0 OPT
 * (names compressed, compress.ts), and
 * fitting a UDP reply into the client's size (512 bytes, or its EDNS0 buffer): additional records
 * go first, then authority; once answers must go too, TC is set so the client retries over TCP
 * (miekg/dns Msg.Truncate).
 */
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from "dns-packet";
import { compressMessage } from "./compress.js";
import type { Rcode, Reply } from "./kubernetes.js";

export interface Query {
  id: number;
  name: string;
  type: string;
  class: string;
  flags: number;
  /** The client's EDNS0 UDP size, or undefined without OPT. */
  edns: number | undefined;
  dnssecOk: boolean;
  opcode: string;
  packet: DecodedPacket;
  /** Size of the query on the wire. */
  size: number;
}

const RCODES: Record<Rcode, number> = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 };
export const RCODE_NAMES: Record<number, string> = { 0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED" };

/** A query, or undefined for anything that is not one well-formed question. */
export function decodeQuery(buf: Buffer): Query | undefined {
  let p: DecodedPacket;
  try {
    p = dnsPacket.decode(buf);
  } catch {
    return undefined;
  }
  if (p.type !== "query" || p.questions?.length !== 1) return undefined;
  const q = p.questions[0]!;
  if (typeof q.name !== "string" || !q.type) return undefined;
  const opt = (p.additionals ?? []).find((a) => a.type === "OPT") as { udpPayloadSize?: number; flags?: number } | undefined;
  return {
    id: p.id ?? 0,
    name: q.name,
    type: String(q.type),
    class: String(q.class ?? "IN"),
    flags: p.flags ?? 0,
    edns: opt ? (opt.udpPayloadSize ?? 512) : undefined,
    dnssecOk: opt ? ((opt.flags ?? 0) & dnsPacket.DNSSEC_OK) !== 0 : false,
    opcode: (p as unknown as { opcode?: string }).opcode ?? "QUERY",
    packet: p,
    size: buf.length,
  };
}

const OPCODE_BITS: Record<string, number> = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 };

/** The header flags of a reply (QR is added by the encoder). */
export function replyFlags(q: Query, r: { rcode: number; authoritative: boolean; truncated?: boolean; recursionAvailable?: boolean }): number {
  let f = ((OPCODE_BITS[q.opcode] ?? 0) << 11) | (q.flags & dnsPacket.RECURSION_DESIRED) | (q.flags & dnsPacket.CHECKING_DISABLED) | (r.rcode & 0xf);
  if (r.authoritative) f |= dnsPacket.AUTHORITATIVE_ANSWER;
  if (r.truncated) f |= dnsPacket.TRUNCATED_RESPONSE;
  if (r.recursionAvailable) f |= dnsPacket.RECURSION_AVAILABLE;
  return f;
}

export interface Encoded {
  buf: Buffer;
  truncated: boolean;
  rcode: number;
  flags: number;
  answers: number;
}

function opt(q: Query): Answer[] {
  if (q.edns === undefined) return [];
  return [{ name: ".", type: "OPT", udpPayloadSize: Math.max(512, Math.min(q.edns, 4096)), flags: q.dnssecOk ? dnsPacket.DNSSEC_OK : 0, options: [] } as unknown as Answer];
}

/** Encodes `packet` for the client, cut to maxSize (undefined = no limit, TCP). */
export function encodeFitted(q: Query, packet: Packet & { rcode: number; authoritative: boolean; truncated?: boolean; recursionAvailable?: boolean }, maxSize: number | undefined): Encoded {
  let answers = packet.answers ?? [];
  let authorities = packet.authorities ?? [];
  let additionals = (packet.additionals ?? []).filter((a) => a.type !== "OPT");
  let truncated = packet.truncated ?? false;
  const build = (): Packet => ({
    type: "response",
    id: q.id,
    flags: replyFlags(q, { ...packet, truncated }),
    questions: [{ name: q.name, type: q.type as never, class: q.class as never }],
    answers,
    authorities,
    additionals: [...additionals, ...opt(q)],
  });
  const encode = (p: Packet) => compressMessage(dnsPacket.encode(p));
  let p = build();
  let buf = encode(p);
  if (maxSize !== undefined && buf.length > maxSize) {
    const size = () => encode(build()).length;
    while (additionals.length > 0 && size() > maxSize) additionals = additionals.slice(0, -1);
    while (authorities.length > 0 && size() > maxSize) authorities = authorities.slice(0, -1);
    if (size() > maxSize) {
      truncated = true;
      while (answers.length > 0 && size() > maxSize) answers = answers.slice(0, -1);
    }
    p = build();
    buf = encode(p);
  }
  return { buf, truncated, rcode: packet.rcode, flags: p.flags ?? 0, answers: answers.length };
}

/** The UDP size limit for a reply to q: 512, or the client's EDNS0 buffer. */
export function udpLimit(q: Query): number {
  return q.edns === undefined ? 512 : Math.max(512, Math.min(q.edns, 65535));
}

export function replyPacket(r: Reply): Packet & { rcode: number; authoritative: boolean; truncated?: boolean } {
  return { answers: r.answers, authorities: r.authorities, additionals: r.additionals, rcode: RCODES[r.rcode], authoritative: r.authoritative, truncated: r.truncated ?? false };
}

/** "qr,aa,rd" — the flags as CoreDNS's log prints them. */
export function flagString(flags: number): string {
  const out = ["qr"];
  if (flags & dnsPacket.AUTHORITATIVE_ANSWER) out.push("aa");
  if (flags & dnsPacket.TRUNCATED_RESPONSE) out.push("tc");
  if (flags & dnsPacket.RECURSION_DESIRED) out.push("rd");
  if (flags & dnsPacket.RECURSION_AVAILABLE) out.push("ra");
  if (flags & dnsPacket.AUTHENTIC_DATA) out.push("ad");
  if (flags & dnsPacket.CHECKING_DISABLED) out.push("cd");
  return out.join(",");
}
