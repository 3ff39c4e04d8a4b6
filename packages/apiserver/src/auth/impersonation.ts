/**
 * Impersonation (upstream's WithImpersonation filter): a request carrying `Impersonate-User`
 * (and optionally `Impersonate-Group`, `Impersonate-Uid`, `Impersonate-Extra-<key>`) is served as
 * that user, once the requester is allowed the `impersonate` verb on each thing asked for:
 * users, groups or serviceaccounts (core group), uids and userextras/<key>
 * (authentication.k8s.io). `kubectl --as=jane --as-group=dev` sends these headers.
 */
import type { IncomingHttpHeaders } from "node:http";
import { newInternalError } from "@kubemu/common";
import { resourceAttributes, type ResourceAttributes, type UserInfo } from "./attributes.js";
import { ANONYMOUS_USER, AUTHENTICATED, authorizeOrThrow, UNAUTHENTICATED, type Authorizer } from "./authorizer.js";
import { serviceAccountUser, splitServiceAccountUser } from "./rbac.js";

const USER = "impersonate-user";
const GROUP = "impersonate-group";
const UID = "impersonate-uid";
const EXTRA_PREFIX = "impersonate-extra-";

type Headers = Record<string, string[] | undefined>;

/** One thing impersonated (upstream builds ObjectReferences). */
interface Request {
  kind: "User" | "ServiceAccount" | "Group" | "UserExtra" | "UID";
  name: string;
  namespace?: string;
  /** UserExtra: the extra's key. */
  key?: string;
}

/** Header values as lists, from IncomingMessage.headersDistinct (or plain headers). */
export function distinctHeaders(h: IncomingHttpHeaders | Record<string, string[]>): Headers {
  const out: Headers = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v : [v];
  return out;
}

export function hasImpersonation(headers: Headers): boolean {
  return Object.keys(headers).some((k) => k === USER || k === GROUP || k === UID || k.startsWith(EXTRA_PREFIX));
}

function requestsOf(headers: Headers): Request[] {
  const out: Request[] = [];
  const user = headers[USER]?.[0] ?? "";
  if (user) {
    const sa = splitServiceAccountUser(user);
    out.push(sa ? { kind: "ServiceAccount", name: sa.name, namespace: sa.namespace } : { kind: "User", name: user });
  }
  for (const g of headers[GROUP] ?? []) out.push({ kind: "Group", name: g });
  for (const [h, values] of Object.entries(headers)) {
    if (!h.startsWith(EXTRA_PREFIX)) continue;
    const key = unescapeKey(h.slice(EXTRA_PREFIX.length).toLowerCase());
    for (const v of values ?? []) out.push({ kind: "UserExtra", name: v, key });
  }
  const uid = headers[UID]?.[0] ?? "";
  if (uid) out.push({ kind: "UID", name: uid });
  if (!user && out.length > 0) throw newInternalError(`requested ${goList(out)} without impersonating a user`);
  return out;
}

/** Extra keys travel percent-encoded in header names (upstream's unescapeExtraKey). */
function unescapeKey(k: string): string {
  try {
    return decodeURIComponent(k);
  } catch {
    return k;
  }
}

/** Go's %v of the ObjectReferences upstream builds: `[{Group  system:masters    }]`. */
function goList(reqs: Request[]): string {
  const ref = (r: Request) => {
    const apiVersion = r.kind === "UserExtra" || r.kind === "UID" ? "authentication.k8s.io/v1" : "";
    return `{${[r.kind, r.namespace ?? "", r.name, "", apiVersion, "", r.key ?? ""].join(" ")}}`;
  };
  return `[${reqs.map(ref).join(" ")}]`;
}

function actingAs(r: Request): ResourceAttributes {
  switch (r.kind) {
    case "User":
      return resourceAttributes({ verb: "impersonate", group: "", resource: "users", name: r.name });
    case "ServiceAccount":
      return resourceAttributes({ verb: "impersonate", group: "", resource: "serviceaccounts", namespace: r.namespace!, name: r.name });
    case "Group":
      return resourceAttributes({ verb: "impersonate", group: "", resource: "groups", name: r.name });
    case "UserExtra":
      return resourceAttributes({ verb: "impersonate", group: "authentication.k8s.io", resource: "userextras", subresource: r.key!, name: r.name });
    case "UID":
      return resourceAttributes({ verb: "impersonate", group: "authentication.k8s.io", resource: "uids", name: r.name });
  }
}

/**
 * The user a request acts as: requester itself without impersonation headers, otherwise the
 * impersonated user once every part is authorized (403 worded as upstream names the first part
 * refused). Groups given replace the impersonated user's; system:authenticated (or, for
 * system:anonymous, system:unauthenticated) is added as upstream adds it.
 */
export function impersonate(headers: Headers, requester: UserInfo, authorizer: Authorizer): UserInfo {
  const requests = requestsOf(headers);
  if (requests.length === 0) return requester;
  const groupsGiven = (headers[GROUP] ?? []).length > 0;
  let name = "";
  let uid: string | undefined;
  let groups: string[] = [];
  const extra: Record<string, string[]> = {};
  for (const r of requests) {
    authorizeOrThrow(authorizer, requester, actingAs(r));
    switch (r.kind) {
      case "ServiceAccount":
        name = serviceAccountUser(r.namespace!, r.name);
        if (!groupsGiven) groups = ["system:serviceaccounts", `system:serviceaccounts:${r.namespace}`];
        break;
      case "User":
        name = r.name;
        break;
      case "Group":
        groups.push(r.name);
        break;
      case "UserExtra":
        (extra[r.key!] ??= []).push(r.name);
        break;
      case "UID":
        uid = r.name;
        break;
    }
  }
  if (name !== ANONYMOUS_USER) {
    if (!groups.includes(AUTHENTICATED) && !groups.includes(UNAUTHENTICATED)) groups.push(AUTHENTICATED);
  } else if (!groups.includes(UNAUTHENTICATED)) groups.push(UNAUTHENTICATED);
  return { name, groups, ...(uid !== undefined ? { uid } : {}), ...(Object.keys(extra).length ? { extra } : {}) };
}
