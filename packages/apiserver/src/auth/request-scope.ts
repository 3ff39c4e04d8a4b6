/**
 * Who the current request is, for code deep in a write that must know (RBAC escalation checks in
 * the RBAC kinds' admission), as upstream carries the user in the request's context. Set by the
 * HTTP front and the wire API around each authorized request; unset for the API server's own
 * writes (bootstrap policy, aggregation), which act with full authority as upstream's loopback
 * client does.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { UserInfo } from "./attributes.js";
import type { Authorizer, RuleResolver } from "./authorizer.js";
import type { PolicyRule } from "./rules.js";
import type { RoleRef } from "./rbac.js";

export interface RequestScope {
  user: UserInfo;
  authorizer: Authorizer;
  rules: RuleResolver;
  /** The rules of the role a binding refers to, or why there are none. */
  roleRefRules(ref: RoleRef, bindingNamespace: string | undefined): PolicyRule[] | string;
}

const scope = new AsyncLocalStorage<RequestScope>();

/** Runs fn as a request of s.user. */
export function runInScope<T>(s: RequestScope, fn: () => T): T {
  return scope.run(s, fn);
}

/** The current request's scope; undefined inside the API server's own work. */
export function currentScope(): RequestScope | undefined {
  return scope.getStore();
}
