/** Test helpers for storage tests: reading watch events with a deadline. */
import type { Status } from "@kubemu/common";
import type { KubeObject, Watch, WatchEvent } from "../../src/storage/index.js";

/** Reads a Watch with deadlines; one reader per watch. */
export class WatchReader {
  private readonly it: AsyncIterator<WatchEvent>;
  private pending: Promise<IteratorResult<WatchEvent>> | undefined;

  constructor(readonly watch: Watch) {
    this.it = watch[Symbol.asyncIterator]();
  }

  /** The next event, or "timeout" / "end". */
  async next(timeoutMs = 3000): Promise<WatchEvent | "timeout" | "end"> {
    this.pending ??= this.it.next();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
    const r = await Promise.race([this.pending, timeout]);
    clearTimeout(timer);
    if (r === "timeout") return r;
    this.pending = undefined;
    return r.done ? "end" : r.value;
  }

  /** The next n events that are not BOOKMARKs; fails on timeout or end. */
  async take(n: number, timeoutMs = 3000): Promise<WatchEvent[]> {
    const out: WatchEvent[] = [];
    while (out.length < n) {
      const ev = await this.next(timeoutMs);
      if (ev === "timeout" || ev === "end") throw new Error(`watch: wanted ${n} events, got ${out.length} then ${ev}: ${JSON.stringify(out.map(summary))}`);
      if (ev.type !== "BOOKMARK") out.push(ev);
    }
    return out;
  }

  /** Asserts no non-BOOKMARK event arrives within ms. */
  async expectQuiet(ms = 200): Promise<void> {
    for (;;) {
      const ev = await this.next(ms);
      if (ev === "timeout") return;
      if (ev === "end") throw new Error("watch ended unexpectedly");
      if (ev.type !== "BOOKMARK") throw new Error(`unexpected event ${JSON.stringify(summary(ev))}`);
    }
  }
}

/** A compact description of an event: type, name, resourceVersion (or the Status code). */
export function summary(ev: WatchEvent): string {
  if (ev.type === "ERROR") return `ERROR ${(ev.object as Status).code}`;
  const o = ev.object as KubeObject;
  return `${ev.type} ${o.metadata.name ?? ""}@${o.metadata.resourceVersion ?? ""}`;
}

export function pod(ns: string, name: string, extra: Record<string, unknown> = {}, labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, uid: `uid-${ns}-${name}`, ...(labels ? { labels } : {}) },
    spec: { containers: [{ name: "c", image: "nginx" }] },
    ...extra,
  };
}
