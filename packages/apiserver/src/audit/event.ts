/**
 * Audit events as upstream writes them at the Metadata level (audit.k8s.io/v1 Event, one JSON
 * object per line): who (user, the impersonated user, source IPs, user agent) did what (verb,
 * requestURI, objectRef) and how it ended (responseStatus), one event per request at the
 * ResponseComplete stage. No request or response bodies (that would be the Request level).
 */
import type { UserInfo } from "../auth/attributes.js";

export interface ObjectReference {
  resource?: string;
  namespace?: string;
  name?: string;
  apiGroup?: string;
  apiVersion?: string;
  subresource?: string;
}

/** Empty for a request whose credential was refused (401): no one was authenticated. */
export interface AuditUser {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** audit.k8s.io/v1 Event, the fields the Metadata level carries. */
export interface AuditEvent {
  kind: "Event";
  apiVersion: "audit.k8s.io/v1";
  level: "Metadata";
  auditID: string;
  stage: "ResponseComplete";
  requestURI: string;
  verb: string;
  user: AuditUser;
  impersonatedUser?: AuditUser;
  sourceIPs: string[];
  userAgent?: string;
  objectRef?: ObjectReference;
  responseStatus: { metadata: Record<string, never>; code: number; status?: "Failure"; message?: string; reason?: string };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

/** Where events go. */
export interface AuditBackend {
  write(event: AuditEvent): void;
  close(): Promise<void>;
}

export function auditUser(u: UserInfo): AuditUser {
  return { username: u.name, ...(u.uid ? { uid: u.uid } : {}), groups: [...u.groups], ...(u.extra && Object.keys(u.extra).length ? { extra: u.extra } : {}) };
}

/** RFC 3339 with microseconds, as upstream's MicroTime prints. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000Z");
}

/** The client's address without the IPv4-mapped prefix. */
export function sourceIp(address: string | undefined): string[] {
  if (!address) return [];
  return [address.startsWith("::ffff:") ? address.slice(7) : address];
}

/**
 * The built-in policy: everything at Metadata except the health probes and /version (as
 * upstream's default policies drop them: every load balancer probe would be a line).
 */
export function audited(path: string): boolean {
  return !/^\/(healthz|livez|readyz)(\/|$)/.test(path) && path !== "/version" && path !== "/version/";
}

/** A random version-4 UUID from rng bytes (upstream's audit IDs are UUIDs). */
export function auditId(byte: () => number): string {
  const b = Array.from({ length: 16 }, byte);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** responseStatus for a code and, on failure, the Status the client got. */
export function responseStatus(code: number, status?: { message?: string; reason?: string }): AuditEvent["responseStatus"] {
  if (code < 400 || !status) return { metadata: {}, code };
  return { metadata: {}, status: "Failure", ...(status.message ? { message: status.message } : {}), ...(status.reason ? { reason: status.reason } : {}), code };
}
