/**
 * Who is asking, as kube-apiserver's x509 authenticator decides it: over TLS a client
 * certificate signed by --client-ca-file names the user (CN) and groups (O); a certificate that
 * does not verify is 401; no credential is `system:anonymous`. The plain-HTTP port is trusted as
 * the old --insecure-port was (loopback only, used by the launcher and in-cluster components).
 *
 * Until RBAC is enforced, authorization is the part of upstream's default policy that matters
 * for a credential-less client: anonymous may read the health and version endpoints
 * (system:public-info-viewer) and nothing else; every authenticated user may do everything.
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { newStatus, StatusError } from "@kubemu/common";
import type { RequestInfo } from "./request-info.js";

/** The authenticated identity of a request (upstream's user.Info). */
export interface UserInfo {
  name: string;
  groups: string[];
}

export const ANONYMOUS: UserInfo = { name: "system:anonymous", groups: ["system:unauthenticated"] };
/** The identity of the trusted plain-HTTP port (upstream's insecure-port user). */
export const INSECURE_USER: UserInfo = { name: "system:unsecured", groups: ["system:masters", "system:authenticated"] };

/** The user behind req, or a 401 StatusError for a credential that does not verify. */
export function authenticate(req: IncomingMessage): UserInfo {
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.encrypted !== true || typeof socket.getPeerCertificate !== "function") return INSECURE_USER;
  if (/^bearer\s/i.test(req.headers.authorization ?? "")) throw unauthorized(); // no token authenticator yet
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0 || !cert.subject) return ANONYMOUS;
  if (socket.authorized !== true) throw unauthorized();
  const asList = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const name = asList(cert.subject.CN)[0];
  if (!name) throw unauthorized();
  return { name, groups: [...asList(cert.subject.O), "system:authenticated"] };
}

/** Paths anonymous users may GET under upstream's default system:public-info-viewer role. */
const PUBLIC_PATH = /^\/(healthz|livez|readyz)(\/.*)?$|^\/version\/?$/;

/** Throws 403 when user may not make this request. */
export function authorize(user: UserInfo, method: string, path: string, info: RequestInfo, query: URLSearchParams): void {
  if (user !== ANONYMOUS && !user.groups.includes("system:unauthenticated")) return;
  if ((method === "GET" || method === "HEAD") && PUBLIC_PATH.test(path)) return;
  if (info.kind !== "resource") throw forbidden(`forbidden: User "${user.name}" cannot ${method.toLowerCase()} path "${path}"`, {});
  const verb = resourceVerb(method, info.name !== undefined, query);
  const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  const what = info.name !== undefined ? `${info.resource} "${info.name}"` : info.resource;
  const scope = info.namespace !== undefined ? `in the namespace "${info.namespace}"` : "at the cluster scope";
  throw forbidden(`${what} is forbidden: User "${user.name}" cannot ${verb} resource "${resource}" in API group "${info.group}" ${scope}`, {
    ...(info.name !== undefined ? { name: info.name } : {}),
    group: info.group,
    kind: info.resource,
  });
}

/** The RBAC verb of a resource request (upstream's RequestInfo.Verb). */
function resourceVerb(method: string, named: boolean, query: URLSearchParams): string {
  const watch = query.get("watch") === "true" || query.get("watch") === "1";
  switch (method) {
    case "GET":
    case "HEAD":
      return watch ? "watch" : named ? "get" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return named ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}

function unauthorized(): StatusError {
  return new StatusError(newStatus("Unauthorized", "Unauthorized"));
}

function forbidden(message: string, details: Record<string, string>): StatusError {
  return new StatusError(newStatus("Forbidden", message, details));
}
