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

/** The certificate identity of each TLS connection: fixed at the handshake, so read once per connection. */
const certificateUsers = new WeakMap<TLSSocket, UserInfo | null>();

/** The user a verified client certificate names; null without one; 401 for one that does not verify. */
function certificateUser(socket: TLSSocket): UserInfo | null {
  const known = certificateUsers.get(socket);
  if (known !== undefined) return known;
  const cert = socket.getPeerCertificate();
  let user: UserInfo | null = null;
  if (cert && Object.keys(cert).length > 0 && cert.subject) {
    if (socket.authorized !== true) throw unauthorized();
    const asList = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    const name = asList(cert.subject.CN)[0];
    if (!name) throw unauthorized();
    user = { name, groups: [...asList(cert.subject.O), "system:authenticated"] };
  }
  certificateUsers.set(socket, user);
  return user;
}

/** Authenticates bearer tokens (service account tokens). Rejects with any error; 401 follows. */
export interface TokenAuthenticator {
  authenticate(token: string): Promise<UserInfo>;
}

/**
 * The user behind req, or a 401 StatusError for a credential that does not verify. A bearer
 * token is checked by tokens (none configured: every token is 401).
 */
export async function authenticate(req: IncomingMessage, tokens?: TokenAuthenticator): Promise<UserInfo> {
  const socket = req.socket as Partial<TLSSocket>;
  if (socket.encrypted !== true || typeof socket.getPeerCertificate !== "function") return INSECURE_USER;
  const bearer = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
  const certUser = certificateUser(socket as TLSSocket);
  if (certUser) return certUser;
  if (bearer !== undefined) {
    if (!tokens) throw unauthorized();
    try {
      return await tokens.authenticate(bearer);
    } catch (e) {
      if (e instanceof StatusError && e.status.code >= 500) throw e; // the store is unavailable: not the client's fault
      throw unauthorized();
    }
  }
  if (req.headers.authorization !== undefined) throw unauthorized(); // basic auth and other schemes are not served
  return ANONYMOUS;
}

/** What a request asks to do, in RBAC terms (upstream's authorizer.Attributes). */
export type RequestAttributes =
  | { kind: "resource"; verb: string; group: string; resource: string; subresource?: string; namespace?: string; name?: string }
  | { kind: "nonResource"; verb: string; path: string };

/** The attributes of an HTTP request. */
export function requestAttributes(method: string, path: string, info: RequestInfo, query: URLSearchParams): RequestAttributes {
  if (info.kind !== "resource") return { kind: "nonResource", verb: method.toLowerCase(), path };
  return {
    kind: "resource",
    verb: resourceVerb(method, info.name !== undefined, query),
    group: info.group,
    resource: info.resource,
    ...(info.subresource !== undefined ? { subresource: info.subresource } : {}),
    ...(info.namespace !== undefined ? { namespace: info.namespace } : {}),
    ...(info.name !== undefined ? { name: info.name } : {}),
  };
}

/** Paths anonymous users may GET under upstream's default system:public-info-viewer role. */
const PUBLIC_PATH = /^\/(healthz|livez|readyz)(\/.*)?$|^\/version\/?$/;

/** Whether user may do what attrs say (see the file comment for the policy). */
export function isAllowed(user: UserInfo, attrs: RequestAttributes): boolean {
  if (user.groups.includes("system:authenticated")) return true;
  return attrs.kind === "nonResource" && (attrs.verb === "get" || attrs.verb === "head") && PUBLIC_PATH.test(attrs.path);
}

/** Throws 403 Forbidden, worded as kube-apiserver words it, when user may not do attrs. */
export function authorize(user: UserInfo, attrs: RequestAttributes): void {
  if (isAllowed(user, attrs)) return;
  if (attrs.kind === "nonResource") throw forbidden(`forbidden: User "${user.name}" cannot ${attrs.verb} path "${attrs.path}"`, {});
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const what = attrs.name !== undefined ? `${attrs.resource} "${attrs.name}"` : attrs.resource;
  const scope = attrs.namespace !== undefined ? `in the namespace "${attrs.namespace}"` : "at the cluster scope";
  throw forbidden(`${what} is forbidden: User "${user.name}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.group}" ${scope}`, {
    ...(attrs.name !== undefined ? { name: attrs.name } : {}),
    group: attrs.group,
    kind: attrs.resource,
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
