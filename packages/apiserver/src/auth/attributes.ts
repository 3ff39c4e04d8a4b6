/**
 * What a request asks to do, in authorization terms (upstream's authorizer.Attributes, built as
 * its RequestInfoFactory builds them): a resource request names a verb, API group, resource,
 * subresource, namespace and name; anything else is a non-resource request on a path.
 */
import { parseFieldSelector } from "@kubemu/common";
import type { RequestInfo } from "../http/request-info.js";

/** The authenticated identity of a request (upstream's user.Info). */
export interface UserInfo {
  name: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

export interface ResourceAttributes {
  kind: "resource";
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** A list's, watch's or deletecollection's fieldSelector (the Node authorizer reads spec.nodeName). */
  fieldSelector?: string;
}

export interface NonResourceAttributes {
  kind: "nonResource";
  verb: string;
  path: string;
}

export type RequestAttributes = ResourceAttributes | NonResourceAttributes;

/** The attributes of an HTTP request. */
export function requestAttributes(method: string, path: string, info: RequestInfo, query: URLSearchParams): RequestAttributes {
  if (info.kind !== "resource") return { kind: "nonResource", verb: method.toLowerCase(), path };
  let verb = httpVerb(method);
  let name = info.name;
  if (name === undefined && verb === "get") {
    verb = isTrue(query.get("watch")) ? "watch" : "list";
    name = exactName(query.get("fieldSelector"));
  }
  if (name === undefined && verb === "delete") verb = "deletecollection";
  const fieldSelector = verb === "list" || verb === "watch" || verb === "deletecollection" ? query.get("fieldSelector") ?? undefined : undefined;
  return resourceAttributes({ verb, group: info.group, resource: info.resource, subresource: info.subresource, namespace: info.namespace, name, fieldSelector });
}

/**
 * Resource attributes from their parts, with upstream's two adjustments: a request for a
 * namespace by name is also "in" that namespace (so a RoleBinding there may grant reading it),
 * and empty strings mean unset.
 */
export function resourceAttributes(p: { verb: string; group: string; resource: string; subresource?: string; namespace?: string; name?: string; fieldSelector?: string }): ResourceAttributes {
  const namespace = p.namespace || (p.group === "" && p.resource === "namespaces" && p.name ? p.name : undefined);
  return {
    kind: "resource",
    verb: p.verb,
    group: p.group,
    resource: p.resource,
    ...(p.subresource ? { subresource: p.subresource } : {}),
    ...(namespace ? { namespace } : {}),
    ...(p.name ? { name: p.name } : {}),
    ...(p.fieldSelector ? { fieldSelector: p.fieldSelector } : {}),
  };
}

/** A list or watch limited to one name by `metadata.name=` is authorized for that name, as upstream (informers on one object). */
export function exactName(fieldSelector: string | null | undefined): string | undefined {
  if (!fieldSelector) return undefined;
  try {
    const req = parseFieldSelector(fieldSelector).requirements.find((r) => r.field === "metadata.name" && r.op === "=");
    return req && req.value !== "" && !req.value.includes("/") && req.value !== "." && req.value !== ".." ? req.value : undefined;
  } catch {
    return undefined; // malformed: the handler answers 400 once authorized as a plain list
  }
}

function httpVerb(method: string): string {
  switch (method.toUpperCase()) {
    case "GET":
    case "HEAD":
      return "get";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return "delete";
    default:
      return method.toLowerCase();
  }
}

const isTrue = (v: string | null) => v === "true" || v === "1";
