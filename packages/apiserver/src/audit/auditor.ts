/**
 * Turns requests into audit events: HTTP requests (requestURI as sent) and internal wire API
 * requests (requestURI the REST path the same request would have, userAgent the component's
 * process name from the wire handshake), both with the authenticated user, the impersonated one
 * when different, the client's address and how the request ended.
 */
import type { Clock, Rng } from "@kubemu/common";
import type { RequestAttributes, UserInfo } from "../auth/attributes.js";
import { wireAttributes } from "../auth/wire-authorization.js";
import { auditId, auditUser, microTime, responseStatus, type AuditBackend, type AuditEvent, type ObjectReference } from "./event.js";

/** One request being audited: filled in as it goes, written once when it completes. */
export interface AuditRecord {
  readonly id: string;
  user?: UserInfo;
  impersonatedUser?: UserInfo;
  /** The Status a failed request answered (message and reason for responseStatus). */
  status?: { message?: string; reason?: string };
}

export interface RequestFacts {
  requestURI: string;
  attrs: RequestAttributes;
  apiVersion?: string;
  sourceIPs: string[];
  userAgent?: string;
}

export class Auditor {
  constructor(
    private readonly backend: AuditBackend,
    private readonly clock: Clock,
    private readonly rng: Rng,
  ) {}

  begin(): AuditRecord & { received: number } {
    return { id: auditId(() => this.rng.int(256)), received: this.clock.now() };
  }

  /** Writes the ResponseComplete event of a request. A request whose credential was refused (401) has an empty user, as upstream's. */
  complete(rec: AuditRecord & { received: number }, facts: RequestFacts, code: number): void {
    const user = rec.user;
    const impersonated = rec.impersonatedUser && rec.impersonatedUser !== rec.user ? rec.impersonatedUser : undefined;
    const event: AuditEvent = {
      kind: "Event",
      apiVersion: "audit.k8s.io/v1",
      level: "Metadata",
      auditID: rec.id,
      stage: "ResponseComplete",
      requestURI: facts.requestURI,
      verb: facts.attrs.verb,
      user: user ? auditUser(user) : {},
      ...(impersonated ? { impersonatedUser: auditUser(impersonated) } : {}),
      sourceIPs: facts.sourceIPs,
      ...(facts.userAgent ? { userAgent: facts.userAgent } : {}),
      ...(facts.attrs.kind === "resource" ? { objectRef: objectRef(facts.attrs, facts.apiVersion) } : {}),
      responseStatus: responseStatus(code, rec.status),
      requestReceivedTimestamp: microTime(rec.received),
      stageTimestamp: microTime(this.clock.now()),
    };
    this.backend.write(event);
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

function objectRef(a: Extract<RequestAttributes, { kind: "resource" }>, apiVersion: string | undefined): ObjectReference {
  return {
    resource: a.resource,
    ...(a.namespace ? { namespace: a.namespace } : {}),
    ...(a.name ? { name: a.name } : {}),
    ...(a.group ? { apiGroup: a.group } : {}),
    ...(apiVersion ? { apiVersion } : {}),
    ...(a.subresource ? { subresource: a.subresource } : {}),
  };
}

/** The facts of a wire request: its attributes, and the REST path and query it stands for. */
export function wireFacts(method: string, params: unknown, sourceIPs: string[], peer: string): RequestFacts {
  let attrs = wireAttributes(method, params);
  const p = typeof params === "object" && params !== null ? (params as Record<string, unknown>) : {};
  // A create names its object in the body; Metadata-level events carry that name, as upstream's do.
  const body = p.body as { metadata?: { name?: unknown } } | undefined;
  if (method === "create" && attrs.kind === "resource" && !attrs.name && typeof body?.metadata?.name === "string") attrs = { ...attrs, name: body.metadata.name };
  const s = (k: string) => (typeof p[k] === "string" ? (p[k] as string) : "");
  const version = s("version") || "v1";
  const group = s("group");
  let uri = group ? `/apis/${group}/${version}` : `/api/${version}`;
  if (s("namespace")) uri += `/namespaces/${encodeURIComponent(s("namespace"))}`;
  uri += `/${s("resource")}`;
  if (s("name")) uri += `/${encodeURIComponent(s("name"))}`;
  if (s("subresource")) uri += `/${s("subresource")}`;
  const query = new URLSearchParams();
  if (method === "watch") query.set("watch", "true");
  for (const k of ["labelSelector", "fieldSelector", "resourceVersion"]) if (s(k)) query.set(k, s(k));
  const q = query.toString();
  return { requestURI: q ? `${uri}?${q}` : uri, attrs, apiVersion: version, sourceIPs, userAgent: peer };
}
