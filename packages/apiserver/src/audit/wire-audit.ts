/**
 * Audits the internal wire API: wraps the wire server's handler registration (outside the
 * authorizing wrapper, so refusals are audited too) and writes one event per request, or per
 * watch stream when it ends.
 */
import { toStatus, type RequestContext, type RequestHandler, type StreamHandler, type WireServer } from "@kubemu/common";
import type { WireUsers } from "../auth/wire-authorization.js";
import type { Auditor } from "./auditor.js";
import { wireFacts } from "./auditor.js";
import { sourceIp } from "./event.js";

type Registrar = Pick<WireServer, "handle" | "handleStream">;

export function auditingWire(wire: WireServer, users: WireUsers, auditor: Auditor): WireServer {
  const around = async <T>(method: string, params: unknown, ctx: RequestContext, run: () => Promise<T>): Promise<T> => {
    const rec = auditor.begin();
    const user = users.of(ctx);
    if (user) rec.user = user;
    const facts = wireFacts(method, params, sourceIp(ctx.request?.socket.remoteAddress), ctx.peer);
    try {
      const out = await run();
      auditor.complete(rec, facts, method === "create" ? 201 : 200);
      return out;
    } catch (e) {
      const status = toStatus(e);
      rec.status = { message: status.message, reason: status.reason };
      auditor.complete(rec, facts, status.code);
      throw e;
    }
  };
  const wrapped: Registrar = {
    handle<P = unknown, R = unknown>(method: string, handler: RequestHandler<P, R>) {
      wire.handle(method, (params: P, ctx: RequestContext) => around(method, params, ctx, async () => handler(params, ctx)));
      return wire;
    },
    handleStream<P = unknown, T = unknown>(method: string, handler: StreamHandler<P, T>) {
      wire.handleStream(method, (params: P, stream, ctx: RequestContext) => around(method, params, ctx, async () => handler(params, stream, ctx)));
      return wire;
    },
  };
  // authorizingWire takes a WireServer but only registers handlers through it.
  return wrapped as unknown as WireServer;
}
