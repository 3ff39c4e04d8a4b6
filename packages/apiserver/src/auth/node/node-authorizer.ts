/**
 * The Node authorizer (upstream's plugin/pkg/auth/authorizer/node, with AuthorizeNodeWithSelectors
 * on as in 1.32+): a kubelet — user `system:node:<name>` in `system:nodes` — may read a secret,
 * configMap, claim or volume, and create a token for a service account, only when a pod bound to
 * its node refers to it (the graph); it may read only its own Node and Lease, list and watch pods
 * only with `spec.nodeName=<itself>`; everything else it may do follows the static `system:node`
 * rules. It never denies: no opinion lets RBAC judge next, with the reason kept for the 403.
 * NodeRestriction admission checks what a request changes (which node, which pod).
 */
import { parseFieldSelector } from "@kubemu/common";
import type { RequestAttributes, ResourceAttributes, UserInfo } from "../attributes.js";
import type { Authorizer, AuthorizerResult, RuleResolver, SubjectRules } from "../authorizer.js";
import { ruleAllows, type PolicyRule } from "../rules.js";
import type { NodeGraph, VertexType } from "./graph.js";

export const NODES_GROUP = "system:nodes";
const NODE_USER_PREFIX = "system:node:";
export const NODE_LEASE_NAMESPACE = "kube-node-lease";

/** The node a user is (upstream's nodeidentifier): `system:node:<name>` in system:nodes; name "" when it cannot be told. */
export function nodeIdentity(user: UserInfo | undefined): { isNode: false } | { isNode: true; nodeName: string } {
  if (!user || !user.name.startsWith(NODE_USER_PREFIX) || !user.groups.includes(NODES_GROUP)) return { isNode: false };
  return { isNode: true, nodeName: user.name.slice(NODE_USER_PREFIX.length) };
}

const allow: AuthorizerResult = { decision: "allow", reason: "" };
const noOpinion = (reason: string): AuthorizerResult => ({ decision: "noOpinion", reason });

export class NodeAuthorizer implements Authorizer, RuleResolver {
  constructor(
    private readonly graph: NodeGraph,
    /** The static rules: bootstrap system:node's. */
    private readonly nodeRules: () => readonly PolicyRule[],
  ) {}

  authorize(user: UserInfo, attrs: RequestAttributes): AuthorizerResult {
    const id = nodeIdentity(user);
    if (!id.isNode) return noOpinion("");
    if (id.nodeName === "") return noOpinion(`unknown node for user ${JSON.stringify(user.name)}`);
    const node = id.nodeName;
    if (attrs.kind === "resource") {
      const gr = `${attrs.resource}.${attrs.group}`;
      switch (gr) {
        case "secrets.":
          return this.readNamespacedObject(node, "secret", attrs);
        case "configmaps.":
          return this.readNamespacedObject(node, "configmap", attrs);
        case "persistentvolumeclaims.":
          if (attrs.subresource === "status") return this.statusUpdate(node, "pvc", attrs);
          return this.get(node, "pvc", attrs);
        case "persistentvolumes.":
          return this.get(node, "pv", attrs);
        case "serviceaccounts.":
          return this.createToken(node, attrs);
        case "leases.coordination.k8s.io":
          return lease(node, attrs);
        case "nodes.":
          return ownNode(node, attrs);
        case "pods.":
          return this.pod(node, attrs);
      }
    }
    return this.nodeRules().some((r) => ruleAllows(attrs, r)) ? allow : noOpinion("");
  }

  /** Nodes' permissions are not enumerable (upstream: incomplete, with an error). */
  rulesFor(user: UserInfo): SubjectRules {
    if (!nodeIdentity(user).isNode) return { rules: [], incomplete: false, errors: [] };
    return { rules: [], incomplete: true, errors: ["node authorizer does not support user rule resolution"] };
  }

  private statusUpdate(node: string, type: VertexType, a: ResourceAttributes): AuthorizerResult {
    if (a.verb !== "update" && a.verb !== "patch") return noOpinion("can only get/update/patch this type");
    if (a.subresource !== "status") return noOpinion("can only update status subresource");
    return this.related(node, type, a);
  }

  private get(node: string, type: VertexType, a: ResourceAttributes): AuthorizerResult {
    if (a.verb !== "get") return noOpinion("can only get individual resources of this type");
    if (a.subresource) return noOpinion("cannot get subresource");
    return this.related(node, type, a);
  }

  private readNamespacedObject(node: string, type: VertexType, a: ResourceAttributes): AuthorizerResult {
    if (a.verb !== "get" && a.verb !== "list" && a.verb !== "watch") return noOpinion("can only read resources of this type");
    if (a.subresource) return noOpinion("cannot read subresource");
    if (!a.namespace) return noOpinion("can only read namespaced object of this type");
    return this.related(node, type, a);
  }

  private related(node: string, type: VertexType, a: ResourceAttributes): AuthorizerResult {
    if (!a.name) return noOpinion("No Object name found");
    return this.graph.hasPathFrom(node, type, a.namespace ?? "", a.name) ? allow : noOpinion(`no relationship found between node '${node}' and this object`);
  }

  private createToken(node: string, a: ResourceAttributes): AuthorizerResult {
    if (a.verb !== "create" || !a.name) return noOpinion("can only create tokens for individual service accounts");
    if (a.subresource !== "token") return noOpinion("can only create token subresource of serviceaccount");
    return this.graph.hasPathFrom(node, "serviceaccount", a.namespace ?? "", a.name) ? allow : noOpinion(`no relationship found between node '${node}' and this object`);
  }

  private pod(node: string, a: ResourceAttributes): AuthorizerResult {
    if (!a.subresource) {
      switch (a.verb) {
        case "get":
          return this.get(node, "pod", a);
        case "list":
        case "watch":
          if (selectsNode(a.fieldSelector, "spec.nodeName", node)) return allow;
          if (a.name) return this.related(node, "pod", a);
          return noOpinion("can only list/watch pods with spec.nodeName field selector");
        case "create":
        case "delete":
          // Mirror pods; NodeRestriction holds a node to its own.
          return allow;
      }
    } else if (a.subresource === "status" && (a.verb === "update" || a.verb === "patch")) return allow;
    else if (a.subresource === "eviction" && a.verb === "create") return allow;
    return noOpinion("");
  }
}

function ownNode(node: string, a: ResourceAttributes): AuthorizerResult {
  if (!a.subresource) {
    switch (a.verb) {
      case "create":
      case "update":
      case "patch":
        // NodeRestriction holds a node to its own Node object.
        return allow;
      case "get":
      case "list":
      case "watch":
        // By name, not the graph: a kubelet reads its Node before it exists.
        if (a.name === node) return allow;
        if (!a.name) return noOpinion(`node '${node}' cannot read all nodes, only its own Node object`);
        return noOpinion(`node '${node}' cannot read '${a.name}', only its own Node object`);
    }
  } else if (a.subresource === "status" && (a.verb === "update" || a.verb === "patch")) return allow;
  return noOpinion("");
}

function lease(node: string, a: ResourceAttributes): AuthorizerResult {
  if (!["get", "create", "update", "patch", "delete"].includes(a.verb)) return noOpinion("can only get, create, update, patch, or delete a node lease");
  if (a.namespace !== NODE_LEASE_NAMESPACE) return noOpinion(`can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`);
  // A create's name is in its body: NodeRestriction checks it.
  if (a.verb !== "create" && a.name !== node) return noOpinion("can only access node lease with the same name as the requesting node");
  return allow;
}

function selectsNode(fieldSelector: string | undefined, field: string, node: string): boolean {
  if (!fieldSelector) return false;
  try {
    return parseFieldSelector(fieldSelector).requirements.some((r) => r.field === field && r.op === "=" && r.value === node);
  } catch {
    return false;
  }
}
