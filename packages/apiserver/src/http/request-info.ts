/**
 * Parses a request path into what it addresses, as upstream's RequestInfoFactory:
 * /api/v1/namespaces/ns/pods/name/status → {group:"", version:"v1", namespace:"ns", resource:"pods", name, subresource}.
 */

export interface ResourceRequest {
  kind: "resource";
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
}

export type RequestInfo =
  | ResourceRequest
  | { kind: "apiVersions" } // /api
  | { kind: "apiGroups" } // /apis
  | { kind: "resourceList"; group: string; version: string } // /api/v1, /apis/g/v
  | { kind: "apiGroup"; group: string } // /apis/g
  | { kind: "other"; path: string };

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function parseRequestPath(path: string): RequestInfo {
  const segs = path.split("/").filter((s) => s !== "").map(decodeSegment);
  let rest: string[];
  let group: string;
  let version: string;
  if (segs[0] === "api") {
    if (segs.length === 1) return { kind: "apiVersions" };
    group = "";
    version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === "apis") {
    if (segs.length === 1) return { kind: "apiGroups" };
    if (segs.length === 2) return { kind: "apiGroup", group: segs[1]! };
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else return { kind: "other", path };
  if (rest.length === 0) return { kind: "resourceList", group, version };
  // /namespaces/{ns}/{resource}... ; but /namespaces/{name} and /namespaces/{name}/status|finalize address the namespace itself.
  if (rest[0] === "namespaces" && rest.length >= 3 && !(rest.length === 3 && (rest[2] === "status" || rest[2] === "finalize") && group === "")) {
    const [, namespace, resource, name, subresource, ...extra] = rest;
    if (extra.length) return { kind: "other", path };
    return { kind: "resource", group, version, namespace, resource: resource!, ...(name !== undefined ? { name } : {}), ...(subresource !== undefined ? { subresource } : {}) };
  }
  const [resource, name, subresource, ...extra] = rest;
  if (extra.length) return { kind: "other", path };
  return { kind: "resource", group, version, resource: resource!, ...(name !== undefined ? { name } : {}), ...(subresource !== undefined ? { subresource } : {}) };
}
