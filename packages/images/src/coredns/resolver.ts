/**
 * One server block's plugin chain for a question, in CoreDNS's plugin order: cache → hosts →
 * kubernetes → forward (loadbalance shuffles the answer's address records last). Returns the reply
 * and the plugin that wrote it; I/O (the forwarder, the clock, randomness) comes in through deps.
 */
import type { Answer, DecodedPacket, RecordType } from "dns-packet";
import { ResponseCache } from "./cache.js";
import type { ServerConfig } from "./config.js";
import { ForwardError, LimitExceeded, type Forwarder } from "./forward.js";
import type { HostsTable } from "./hosts.js";
import { answerKubernetes, matchZone, type KubernetesContext, type Rcode, type Reply } from "./kubernetes.js";
import type { ClusterModel } from "./model.js";

export interface Question {
  name: string;
  type: string;
  dnssecOk: boolean;
}

export interface Resolved {
  reply: Reply;
  recursionAvailable: boolean;
  plugin: string;
  /** An error for the errors plugin to log. */
  error?: string;
}

export interface ResolverDeps {
  model: ClusterModel;
  synced: () => boolean;
  localIPs: string[];
  forwarder: Forwarder | undefined;
  hosts: HostsTable | undefined;
  /** Seconds (the cache's clock). */
  now: () => number;
  rng: () => number;
}

const RCODE_OF: Record<string, Rcode> = { NOERROR: "NOERROR", NXDOMAIN: "NXDOMAIN", SERVFAIL: "SERVFAIL", REFUSED: "REFUSED" };

function fromUpstream(p: DecodedPacket): { reply: Reply; ra: boolean } {
  return {
    reply: {
      rcode: RCODE_OF[String((p as unknown as { rcode?: string }).rcode ?? "NOERROR")] ?? "SERVFAIL",
      answers: p.answers ?? [],
      authorities: p.authorities ?? [],
      additionals: (p.additionals ?? []).filter((a) => a.type !== "OPT"),
      authoritative: p.flag_aa,
      truncated: p.flag_tc,
    },
    ra: p.flag_ra,
  };
}

const empty = (rcode: Rcode, authoritative = false): Reply => ({ rcode, answers: [], authorities: [], additionals: [], authoritative });

export class Resolver {
  readonly cache: ResponseCache | undefined;
  /** The cache plugin's zones as its metrics label them. */
  readonly cacheZones: string;
  private readonly kube: KubernetesContext | undefined;

  constructor(
    readonly cfg: ServerConfig,
    private readonly deps: ResolverDeps,
  ) {
    this.cacheZones = cfg.cache ? cfg.cache.zones.join(" ") : "";
    this.cache = cfg.cache ? new ResponseCache({ ttl: cfg.cache.ttl, denialTtl: cfg.cache.denialTtl, capacity: cfg.cache.capacity }, deps.now) : undefined;
    if (cfg.kubernetes) {
      this.kube = {
        model: deps.model,
        config: cfg.kubernetes,
        synced: deps.synced,
        localIPs: deps.localIPs,
        lookup: async (name, type) => {
          const r = await this.chain({ name, type, dnssecOk: false }, false);
          return r.reply.rcode === "NOERROR" ? r.reply.answers : undefined;
        },
      };
    }
  }

  /** Whether this block serves the name (its zones). */
  serves(name: string): string | undefined {
    return matchZone(name, this.cfg.zones);
  }

  /** A cache hit is answered synchronously (no promise, no microtask): it is nearly every query. */
  resolve(q: Question, tcp: boolean): Resolved | Promise<Resolved> {
    const cacheable = this.cache && this.cfg.cache && matchZone(q.name, this.cfg.cache.zones) !== undefined;
    const key = cacheable ? ResponseCache.key(q.name, q.type, q.dnssecOk) : "";
    if (cacheable) {
      const hit = this.cache!.get(key);
      if (hit) return this.balanced({ reply: hit.reply, recursionAvailable: hit.recursionAvailable, plugin: "cache" });
    }
    return this.chain(q, tcp).then((r) => {
      if (cacheable && !r.error) this.cache!.put(key, r.reply, r.recursionAvailable);
      return this.balanced(r);
    });
  }

  private balanced(r: Resolved): Resolved {
    return this.cfg.loadbalance ? { ...r, reply: { ...r.reply, answers: this.shuffle(r.reply.answers) } } : r;
  }

  /** loadbalance's round_robin: the A/AAAA/MX records shuffled, the others kept in place. */
  private shuffle(answers: Answer[]): Answer[] {
    const idx: number[] = [];
    answers.forEach((a, i) => {
      if (a.type === "A" || a.type === "AAAA" || a.type === "MX") idx.push(i);
    });
    if (idx.length < 2) return answers;
    const picked = idx.map((i) => answers[i]!);
    for (let i = picked.length - 1; i > 0; i--) {
      const j = Math.floor(this.deps.rng() * (i + 1));
      [picked[i], picked[j]] = [picked[j]!, picked[i]!];
    }
    const out = [...answers];
    idx.forEach((i, n) => (out[i] = picked[n]!));
    return out;
  }

  private async chain(q: Question, tcp: boolean): Promise<Resolved> {
    if (this.deps.hosts) {
      const h = this.deps.hosts.answer(q.name, q.type);
      if (h) return { reply: h, recursionAvailable: false, plugin: "hosts" };
    }
    if (this.kube) {
      const k = await answerKubernetes(this.kube, q.name, q.type);
      if (k) return { reply: k, recursionAvailable: false, plugin: "kubernetes" };
    }
    const f = this.deps.forwarder;
    if (f && f.matches(q.name)) {
      try {
        const p = await f.query({ type: "query", id: Math.floor(this.deps.rng() * 65536), flags: 0x0100, questions: [{ name: q.name, type: q.type as RecordType }], ...(q.dnssecOk ? { additionals: [{ name: ".", type: "OPT", udpPayloadSize: 1232, flags: 0x8000 } as unknown as Answer] } : {}) }, tcp);
        const u = fromUpstream(p);
        return { reply: u.reply, recursionAvailable: u.ra, plugin: "forward" };
      } catch (e) {
        const rcode: Rcode = e instanceof LimitExceeded ? "REFUSED" : "SERVFAIL";
        return { reply: empty(rcode), recursionAvailable: false, plugin: "", error: e instanceof ForwardError ? e.message : String(e) };
      }
    }
    return { reply: empty("SERVFAIL"), recursionAvailable: false, plugin: "", error: `plugin/${this.cfg.plugins.at(-1) ?? "kubernetes"}: no next plugin found` };
  }
}
