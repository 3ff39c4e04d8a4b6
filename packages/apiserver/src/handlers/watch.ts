/**
 * Watch over HTTP: a chunked response of newline-separated JSON events, ended at timeoutSeconds,
 * when the client goes away, or after an ERROR event (410 Expired on a compacted start).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock, Rng } from "@kubemu/common";
import type { KubeObject, Watch, WatchEvent } from "../storage/index.js";
import { groupVersion, type ResourceDef } from "../registry/types.js";
import { toTable, type IncludeObject } from "../http/table.js";

export interface WatchStreamOptions {
  def: ResourceDef;
  watch: Watch;
  timeoutMs: number;
  clock: Clock;
  table?: { version: "v1" | "v1beta1"; include: IncludeObject };
  /** Called with the number of events sent when the stream ends. */
  onEnd?: (events: number) => void;
}

/** Upstream's default watch timeout: a random duration in [minRequestTimeout, 2×minRequestTimeout]. */
export function defaultWatchTimeoutMs(rng: Rng, minRequestTimeoutS = 1800): number {
  return Math.floor(minRequestTimeoutS * (1 + rng.float())) * 1000;
}

function write(res: ServerResponse, line: string): Promise<void> {
  if (res.write(line)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** Streams the watch to res; resolves when the stream has ended. */
export async function serveWatch(req: IncomingMessage, res: ServerResponse, o: WatchStreamOptions): Promise<void> {
  res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked", "cache-control": "no-cache, private" });
  res.flushHeaders();
  let closed = false;
  const stop = () => {
    closed = true;
    o.watch.stop();
  };
  req.socket.on("close", stop);
  res.on("close", stop);
  const timer = o.clock.setTimeout(stop, o.timeoutMs);
  let sent = 0;
  let headersSent = false;
  try {
    for await (const ev of o.watch) {
      if (closed) break;
      await write(res, JSON.stringify(encodeEvent(o, ev, !headersSent)) + "\n");
      if (o.table && (ev.type !== "BOOKMARK" && ev.type !== "ERROR")) headersSent = true;
      sent++;
      if (ev.type === "ERROR") break;
    }
  } finally {
    timer.cancel();
    o.watch.stop();
    req.socket.off("close", stop);
    if (!res.writableEnded && !res.destroyed) res.end();
    o.onEnd?.(sent);
  }
}

function encodeEvent(o: WatchStreamOptions, ev: WatchEvent, withHeaders: boolean): { type: string; object: unknown } {
  if (ev.type === "ERROR" || ev.type === "BOOKMARK") return { type: ev.type, object: ev.object };
  // Custom resource versions share one storage: objects leave in the version watched (a copy: watchers share events).
  if (o.def.storagePrefix && (ev.object as KubeObject).apiVersion !== groupVersion(o.def)) ev = { type: ev.type, object: { ...(ev.object as KubeObject), apiVersion: groupVersion(o.def) } };
  if (!o.table) return { type: ev.type, object: ev.object };
  const obj = ev.object as KubeObject;
  obj.apiVersion ??= o.def.group ? `${o.def.group}/${o.def.version}` : o.def.version;
  obj.kind ??= o.def.kind;
  const table = toTable(o.def, [obj], { resourceVersion: obj.metadata.resourceVersion ?? "" }, {
    include: o.table.include,
    version: o.table.version,
    now: new Date(o.clock.now()),
    noHeaders: !withHeaders,
  });
  return { type: ev.type, object: table };
}
