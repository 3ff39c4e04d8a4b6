/**
 * Who may use the kubelet's HTTPS port (:10250): only the API servers, by the client certificate
 * `up` makes for them (kubeadm's apiserver-kubelet-client: CN kube-apiserver-kubelet-client,
 * O system:masters). As upstream's kubelet with --anonymous-auth=false: no certificate (or one
 * not from --client-ca-file) → 401 `Unauthorized`; another user → 403 in the kubelet's words,
 * `Forbidden (user=…, verb=…, resource=nodes, subresource=…)`. Upstream asks the API server
 * (SubjectAccessReview) whether the user may use nodes/<subresource>; kubemu allows the API
 * servers' identity only, which is what that review answers in a cluster `up` makes.
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";

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

export function decide(user: CertUser | undefined, method: string, path: string): { code: number; body: string } | undefined {
  if (!user) return { code: 401, body: "Unauthorized" };
  if (user.name === APISERVER_KUBELET_CLIENT || user.groups.includes(MASTERS)) return undefined;
  const verb = VERBS[method.toUpperCase()] ?? method.toLowerCase();
  return { code: 403, body: `Forbidden (user=${user.name}, verb=${verb}, resource=nodes, subresource=${kubeletSubresource(path)})` };
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

export function kubeletGuard(req: IncomingMessage): { code: number; body: string } | undefined {
  return decide(certUser(req), req.method ?? "GET", new URL(req.url ?? "/", "https://kubelet").pathname);
}
