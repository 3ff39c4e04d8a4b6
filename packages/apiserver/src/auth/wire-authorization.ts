/**
 * Authorization on the internal wire API: every request on a connection is judged on its own,
 * as the user the connection authenticated as at its upgrade (an HTTP request is judged once per
 * request; a wire connection carries many). The method is the verb; the params name the resource
 * as a URL would (see internal/wire-api.ts).
 */
import type { IncomingMessage } from "node:http";
import { newStatus, StatusError, type RequestContext, type RequestHandler, type StreamHandler, type WireServer } from "@kubemu/common";
import { exactName, resourceAttributes, type RequestAttributes, type UserInfo } from "./attributes.js";

/** The users wire connections authenticated as, by their upgrade request. */
export class WireUsers {
  private readonly users = new WeakMap<IncomingMessage, UserInfo>();
  set(req: IncomingMessage, user: UserInfo): void {
    this.users.set(req, user);
  }
  of(ctx: RequestContext): UserInfo | undefined {
    return ctx.request ? this.users.get(ctx.request) : undefined;
  }
}

const str = (p: Record<string, unknown>, k: string): string => (typeof p[k] === "string" ? (p[k] as string) : "");

/** The attributes of one wire request (malformed params still get attributes; the handler then answers 400). */
export function wireAttributes(method: string, params: unknown): RequestAttributes {
  const p = typeof params === "object" && params !== null ? (params as Record<string, unknown>) : {};
  const name = str(p, "name") || ((method === "list" || method === "watch") && str(p, "fieldSelector") ? exactName(str(p, "fieldSelector")) : undefined);
  const fieldSelector = method === "list" || method === "watch" || method === "deletecollection" ? str(p, "fieldSelector") : "";
  return resourceAttributes({ verb: method, group: str(p, "group"), resource: str(p, "resource"), subresource: str(p, "subresource"), namespace: str(p, "namespace"), name, fieldSelector });
}

/** Checks a request's attributes for its user (throws a Status to refuse), and runs a handler as that user. */
export interface WireCheck {
  check(user: UserInfo, attrs: RequestAttributes): void | Promise<void>;
  runAs<T>(user: UserInfo, fn: () => T): T;
}

/**
 * A stand-in for the wire server that registers each handler behind the check, so the API's
 * handlers (internal/wire-api.ts) stay unaware of authorization.
 */
export function authorizingWire(wire: WireServer, users: WireUsers, authz: WireCheck): Pick<WireServer, "handle" | "handleStream"> {
  const userOf = (ctx: RequestContext): UserInfo => {
    const user = users.of(ctx);
    if (!user) throw new StatusError(newStatus("Unauthorized", "Unauthorized"));
    return user;
  };
  const guarded = {
    handle<P = unknown, R = unknown>(method: string, handler: RequestHandler<P, R>) {
      wire.handle(method, async (params: P, ctx: RequestContext) => {
        const user = userOf(ctx);
        await authz.check(user, wireAttributes(method, params));
        return authz.runAs(user, () => handler(params, ctx));
      });
      return wire;
    },
    handleStream<P = unknown, T = unknown>(method: string, handler: StreamHandler<P, T>) {
      wire.handleStream(method, async (params: P, stream, ctx: RequestContext) => {
        const user = userOf(ctx);
        await authz.check(user, wireAttributes(method, params));
        return authz.runAs(user, () => handler(params, stream, ctx));
      });
      return wire;
    },
  };
  return guarded;
}
