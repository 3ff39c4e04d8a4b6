/**
 * Who may use the kubelet's HTTPS port (:10250), as upstream's kubelet with --anonymous-auth=false
 * and --authorization-mode=Webhook: no certificate (or one not from --client-ca-file) → 401
 * `Unauthorized`; otherwise the certificate's user is authorized for nodes/<subresource> by a
 * SubjectAccessReview to the API server (sar-authorizer.ts): denied → 403 in the kubelet's words,
 * `Forbidden (user=…, verb=…, resource=nodes, subresource=…)`; no answer → 500 `Authorization
 * error (…)`. The API servers' own certificate (kubeadm's apiserver-kubelet-client: CN
 * kube-apiserver-kubelet-client, O system:masters) passes without a review: system:masters is
 * allowed everything, so the review could only say yes, and every `kubectl logs` would pay a
 * round trip for it.
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { KubeletRequestAttributes, ReviewAnswer } from "./sar-authorizer.js";

export const APISERVER_KUBELET_CLIENT = "kube-apiserver-kubelet-client";
const MASTERS = "system:masters";

/** Upstream's mapping of a kubelet path to the nodes subresource it is authorized as. */
export function kubeletSubresource(path: string): string {
  const under = (p: string) => path === p || path.startsWith(`${p}/`);
  if (under("/stats")) return "stats";
  if (under("/metrics")) return "metrics";
  if (under("/logs")) return "log";
  if (under("/checkpoint")) return "checkpoint";
  if (under("/pods")) return "pods";
  if (under("/healthz")) return "healthz";
  if (under("/configz")) return "configz";
  return "proxy";
}

const VERBS: Record<string, string> = { GET: "get", HEAD: "get", POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" };

/** The certificate's user (CN) and groups (O), as the API server reads them. */
export interface CertUser {
  name: string;
  groups: string[];
}

export type Refusal = { code: number; body: string };

/** Asks whether a user may make a kubelet request (the SubjectAccessReview authorizer). */
export interface KubeletAuthorizer {
  authorize(a: KubeletRequestAttributes): Promise<ReviewAnswer>;
}

export function requestAttributes(user: CertUser, method: string, path: string): KubeletRequestAttributes {
  return { user, verb: VERBS[method.toUpperCase()] ?? method.toLowerCase(), subresource: kubeletSubresource(path) };
}

const describe = (a: KubeletRequestAttributes) => `(user=${a.user.name}, verb=${a.verb}, resource=nodes, subresource=${a.subresource})`;

/** The refusal for a request, or undefined to serve it. Without an authorizer only the API servers' identity passes. */
export async function decide(user: CertUser | undefined, method: string, path: string, authorizer?: KubeletAuthorizer): Promise<Refusal | undefined> {
  if (!user) return { code: 401, body: "Unauthorized" };
  if (user.name === APISERVER_KUBELET_CLIENT || user.groups.includes(MASTERS)) return undefined;
  const attrs = requestAttributes(user, method, path);
  if (!authorizer) return { code: 403, body: `Forbidden ${describe(attrs)}` };
  let answer: ReviewAnswer;
  try {
    answer = await authorizer.authorize(attrs);
  } catch {
    return { code: 500, body: `Authorization error ${describe(attrs)}` };
  }
  return answer.allowed ? undefined : { code: 403, body: `Forbidden ${describe(attrs)}` };
}

/** The verified client certificate's user, or undefined (none, or not from the client CA). */
export function certUser(req: IncomingMessage): CertUser | undefined {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== "function" || !socket.authorized) return undefined;
  const subject = socket.getPeerCertificate().subject as unknown as Record<string, string | string[] | undefined> | undefined;
  if (!subject?.CN) return undefined;
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  return { name: list(subject.CN)[0]!, groups: list(subject.O) };
}

/** The guard of :10250: authenticates by client certificate, authorizes with `authorizer`. */
export function kubeletGuard(authorizer?: KubeletAuthorizer): (req: IncomingMessage) => Promise<Refusal | undefined> {
  return (req) => decide(certUser(req), req.method ?? "GET", new URL(req.url ?? "/", "https://kubelet").pathname, authorizer);
}
