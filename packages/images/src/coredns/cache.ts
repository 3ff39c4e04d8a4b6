/**
 * The cache plugin: replies kept per (name, type, DO bit) for at most the configured TTL (success:
 * the smallest record TTL; denial: the SOA's minimum; SERVFAIL: 5 s), served with the TTLs counted
 * down. Truncated replies are not kept. The clock is injected (seconds).
 */
import type { Answer } from "dns-packet";
import type { Rcode, Reply } from "./kubernetes.js";

interface Entry {
  reply: Reply;
  recursionAvailable: boolean;
  stored: number;
  expires: number;
  /** The reply as last served, for the age (whole seconds) it was counted down to. */
  served?: { age: number; reply: Reply };
}

export interface CacheSettings {
  ttl: number;
  denialTtl: number;
  capacity: number;
}

export interface Cached {
  reply: Reply;
  recursionAvailable: boolean;
}

const MIN_TTL = 5;
const SERVFAIL_TTL = 5;

function minTtl(rrs: Answer[]): number | undefined {
  let m: number | undefined;
  for (const r of rrs) if (r.type !== "OPT") m = Math.min(m ?? Infinity, (r as { ttl?: number }).ttl ?? 0);
  return m;
}

export class ResponseCache {
  private readonly success = new Map<string, Entry>();
  private readonly denial = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly s: CacheSettings,
    private readonly now: () => number,
  ) {}

  static key(name: string, type: string, dnssecOk: boolean): string {
    return `${name.toLowerCase().replace(/\.$/, "")}|${type}|${dnssecOk ? 1 : 0}`;
  }

  get size(): { success: number; denial: number } {
    return { success: this.success.size, denial: this.denial.size };
  }

  get(key: string): Cached | undefined {
    const now = this.now();
    for (const m of [this.success, this.denial]) {
      const e = m.get(key);
      if (!e) continue;
      if (now >= e.expires) {
        m.delete(key);
        continue;
      }
      this.hits++;
      const age = Math.floor(now - e.stored);
      // Within a second every hit serves the same TTLs: count down once, not per query.
      if (e.served?.age !== age) {
        const down = (rrs: Answer[]) => rrs.map((r) => (r.type === "OPT" ? r : { ...r, ttl: Math.max(0, ((r as { ttl?: number }).ttl ?? 0) - age) }) as Answer);
        e.served = { age, reply: { ...e.reply, answers: down(e.reply.answers), authorities: down(e.reply.authorities), additionals: down(e.reply.additionals), authoritative: true } };
      }
      return { reply: e.served.reply, recursionAvailable: e.recursionAvailable };
    }
    this.misses++;
    return undefined;
  }

  put(key: string, reply: Reply, recursionAvailable: boolean): void {
    if (reply.truncated) return;
    const kind = classify(reply.rcode, reply.answers.length);
    if (kind === undefined) return;
    let ttl: number;
    if (kind === "success") ttl = Math.min(this.s.ttl, Math.max(MIN_TTL, minTtl(reply.answers) ?? this.s.ttl));
    else if (kind === "servfail") ttl = SERVFAIL_TTL;
    else {
      const soa = reply.authorities.find((r) => r.type === "SOA") as { data?: { minimum?: number }; ttl?: number } | undefined;
      ttl = Math.min(this.s.denialTtl, Math.max(MIN_TTL, Math.min(soa?.data?.minimum ?? this.s.denialTtl, soa?.ttl ?? this.s.denialTtl)));
    }
    if (ttl <= 0) return;
    const m = kind === "success" ? this.success : this.denial;
    if (!m.has(key) && m.size >= this.s.capacity) m.delete(m.keys().next().value!);
    const now = this.now();
    m.set(key, { reply, recursionAvailable, stored: now, expires: now + ttl });
  }
}

function classify(rcode: Rcode, answers: number): "success" | "denial" | "servfail" | undefined {
  if (rcode === "NOERROR") return answers > 0 ? "success" : "denial";
  if (rcode === "NXDOMAIN") return "denial";
  if (rcode === "SERVFAIL") return "servfail";
  return undefined;
}
