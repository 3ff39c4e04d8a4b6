/**
 * Watch recording for the chaos test: a watcher that records every event of a prefix watch from
 * revision 1 (EtcdWatch resumes it across reconnects and member deaths), a history replay from
 * one member, and the checks that compare them.
 */
import { performance } from "node:perf_hooks";
import type { EtcdClient, EtcdWatch } from "../../src/index.js";

/** One change as a watcher saw it. */
export interface SeenEvent {
  /** Revision of the watch response that carried it. */
  revision: number;
  type: "PUT" | "DELETE";
  key: string;
  value: string;
  modRevision: number;
}

/** The rangeEnd selecting every key with this prefix (prefixes here are ASCII). */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** Records every event of a prefix watch from revision 1 until stopped. */
export class RecordingWatcher {
  readonly events: SeenEvent[] = [];
  /** Revisions of the responses, in delivery order. */
  readonly responseRevisions: number[] = [];
  /** Set if the watch ended with an error (it should never). */
  error: unknown;
  private readonly watch: EtcdWatch;
  private done: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    client: EtcdClient,
    prefix: string,
  ) {
    this.watch = client.watch(prefix, { rangeEnd: prefixEnd(prefix), startRevision: 1, progressNotifyMs: 500 });
  }

  /** The highest revision delivered so far (0 before any). */
  get lastRevision(): number {
    return this.watch.lastRevision;
  }

  /** How many times the watch was re-established. */
  get reconnects(): number {
    return this.watch.reconnects;
  }

  start(): void {
    this.done = this.consume();
  }

  private async consume(): Promise<void> {
    try {
      for await (const resp of this.watch) {
        this.responseRevisions.push(resp.revision);
        for (const ev of resp.events) this.events.push(toSeen(resp.revision, ev));
      }
    } catch (e) {
      this.error = e;
    }
  }

  /** Waits until the watcher has delivered everything up to revision (or throws after timeoutMs). */
  async waitFor(revision: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.watch.lastRevision < revision) {
      if (this.error !== undefined) throw new Error(`watcher ${this.name} failed: ${String(this.error)}`);
      if (performance.now() > deadline) throw new Error(`watcher ${this.name} reached only revision ${this.watch.lastRevision} of ${revision} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.watch.cancel();
    await this.done;
  }
}

function toSeen(revision: number, ev: { type: "PUT" | "DELETE"; kv: { key: Uint8Array; value: Uint8Array; modRevision: number } }): SeenEvent {
  return {
    revision,
    type: ev.type,
    key: Buffer.from(ev.kv.key).toString(),
    value: Buffer.from(ev.kv.value).toString(),
    modRevision: ev.kv.modRevision,
  };
}

/** Reads the full change history of a prefix (revisions 1..untilRevision) from a client's member. */
export async function replayHistory(name: string, client: EtcdClient, prefix: string, untilRevision: number, timeoutMs: number): Promise<SeenEvent[]> {
  const w = new RecordingWatcher(name, client, prefix);
  w.start();
  try {
    await w.waitFor(untilRevision, timeoutMs);
  } finally {
    await w.stop();
  }
  return w.events.filter((e) => e.revision <= untilRevision);
}

/**
 * Problems with one watcher's stream: responses not strictly increasing, an event whose
 * modRevision is not its response's revision, or the same change delivered twice.
 */
export function streamProblems(w: { name: string; events: SeenEvent[]; responseRevisions: number[] }): string[] {
  const problems: string[] = [];
  for (let i = 1; i < w.responseRevisions.length; i++) {
    const prev = w.responseRevisions[i - 1]!;
    const cur = w.responseRevisions[i]!;
    if (cur <= prev) problems.push(`${w.name}: response revision ${cur} after ${prev}`);
  }
  const seen = new Set<string>();
  for (const e of w.events) {
    if (e.modRevision !== e.revision) problems.push(`${w.name}: event ${e.key} modRevision ${e.modRevision} in response ${e.revision}`);
    const id = `${e.key}@${e.modRevision}`;
    if (seen.has(id)) problems.push(`${w.name}: ${id} delivered twice`);
    seen.add(id);
  }
  return problems.slice(0, 20);
}

/** A canonical line per event, for comparing streams. */
export function eventLine(e: SeenEvent): string {
  return `${e.revision} ${e.type} ${e.key}=${e.value}`;
}

/** The first difference between two event streams, or undefined if they are equal. */
export function firstDifference(a: SeenEvent[], b: SeenEvent[]): string | undefined {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ? eventLine(a[i]!) : "(end)";
    const y = b[i] ? eventLine(b[i]!) : "(end)";
    if (x !== y) return `event #${i}: ${x} vs ${y} (lengths ${a.length} and ${b.length})`;
  }
  return undefined;
}
