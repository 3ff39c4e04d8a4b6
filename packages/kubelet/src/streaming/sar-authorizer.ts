/**
 * The kubelet's webhook authorization (upstream's --authorization-mode=Webhook): whether a user may
 * use nodes/<subresource> on this node is asked of the API server with a SubjectAccessReview, sent
 * as the kubelet's own identity, and the answer is kept as upstream's kubelet keeps it
 * (--authorization-webhook-cache-authorized-ttl 5 min, -unauthorized-ttl 30 s). A review that
 * fails (no API server answered) is not kept, so the next request asks again.
 */
import type { CertUser } from "./authn.js";

export const AUTHORIZED_TTL_MS = 5 * 60_000;
export const UNAUTHORIZED_TTL_MS = 30_000;
/** Answers kept at most; past it the oldest is dropped (one per distinct user and request kind). */
const MAX_ENTRIES = 10_000;

/** What the kubelet asks about: upstream's GetRequestAttributes for a kubelet path. */
export interface KubeletRequestAttributes {
  user: CertUser;
  verb: string;
  subresource: string;
}

export interface ReviewAnswer {
  allowed: boolean;
  reason?: string;
}

/** Sends one SubjectAccessReview (authorization.k8s.io/v1) and returns its status; rejects when no API server answered. */
export type SubjectAccessReviewer = (review: Record<string, unknown>) => Promise<ReviewAnswer>;

export interface SarAuthorizerOptions {
  nodeName: string;
  review: SubjectAccessReviewer;
  /** Monotonic milliseconds (the cache's clock). */
  now: () => number;
  authorizedTtlMs?: number;
  unauthorizedTtlMs?: number;
  /** Called with each answer the API server gave (not cached ones). */
  onAnswer?: (attrs: KubeletRequestAttributes, answer: ReviewAnswer) => void;
}

/** The SubjectAccessReview upstream's kubelet sends: resource nodes/<subresource>, named for this node, group "" version v1. */
export function subjectAccessReviewFor(nodeName: string, a: KubeletRequestAttributes): Record<string, unknown> {
  return {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    spec: {
      user: a.user.name,
      groups: a.user.groups,
      resourceAttributes: { verb: a.verb, group: "", version: "v1", resource: "nodes", subresource: a.subresource, name: nodeName },
    },
  };
}

export class SarAuthorizer {
  private readonly cache = new Map<string, { answer: ReviewAnswer; expires: number }>();
  /** Reviews in flight, so a burst of connections from one user asks once. */
  private readonly pending = new Map<string, Promise<ReviewAnswer>>();

  constructor(private readonly o: SarAuthorizerOptions) {}

  async authorize(a: KubeletRequestAttributes): Promise<ReviewAnswer> {
    const key = JSON.stringify([a.user.name, [...a.user.groups].sort(), a.verb, a.subresource]);
    const hit = this.cache.get(key);
    if (hit && hit.expires > this.o.now()) return hit.answer;
    if (hit) this.cache.delete(key);
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const p = this.o.review(subjectAccessReviewFor(this.o.nodeName, a)).then((answer) => {
      const ttl = answer.allowed ? (this.o.authorizedTtlMs ?? AUTHORIZED_TTL_MS) : (this.o.unauthorizedTtlMs ?? UNAUTHORIZED_TTL_MS);
      if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, { answer, expires: this.o.now() + ttl });
      this.o.onAnswer?.(a, answer);
      return answer;
    });
    this.pending.set(key, p);
    try {
      return await p;
    } finally {
      this.pending.delete(key);
    }
  }
}
