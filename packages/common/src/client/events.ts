/**
 * EventRecorder: core/v1 Events about objects, written in the background, with client-go's
 * correlator so `kubectl get events` and `describe` read as on a real cluster:
 * - an identical event (same object, type, reason, message, source) within the cache's life
 *   updates the first one's `count` and `lastTimestamp` instead of making a new object;
 * - from the 10th distinct message with the same reason (no gap of more than 10 minutes
 *   between two of them) on, they are folded into one event "(combined from similar events):
 *   <latest message>";
 * - a per-source-and-object token bucket (burst 25, one more every 5 minutes) drops floods;
 *   a dropped event still counts, so the next one written carries the full `count`.
 * Recording never blocks or throws: a write that fails is retried a few times, then logged.
 */
import type { Logger } from "pino";
import type { KubeObject } from "../api/object.js";
import { realClock, type Clock } from "../clock.js";
import { silentLogger } from "../logger.js";
import { isAlreadyExists, isNotFound } from "../status.js";
import type { ApiClient } from "./api-client.js";
import { Resources } from "./resources.js";

export type EventType = "Normal" | "Warning";

/** core/v1 ObjectReference: what an event is about. */
export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

/** A core/v1 Event as written. */
export interface CoreEvent extends KubeObject {
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  source: { component: string; host?: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  type: EventType;
  eventTime: null;
  reportingComponent: string;
  reportingInstance: string;
}

export interface EventRecorderOptions {
  client: Pick<ApiClient, "create" | "patch">;
  /** source.component, e.g. "default-scheduler", "kubelet", "deployment-controller". */
  component: string;
  /** source.host (kubelets set their node name). */
  host?: string;
  /** reportingComponent; defaults to component. */
  reportingController?: string;
  /** reportingInstance, e.g. "scheduler-0_x7k2"; defaults to host or "". */
  reportingInstance?: string;
  clock?: Clock;
  logger?: Logger;
  /** Writes waiting at most (older ones are dropped, logged); default 1000 as client-go. */
  maxQueued?: number;
}

const MAX_SIMILAR = 10;
const SIMILAR_WINDOW_MS = 600_000;
const SPAM_BURST = 25;
const SPAM_REFILL_MS = 300_000;
const CACHE_LIMIT = 4096;
const WRITE_ATTEMPTS = 3;
const WRITE_CONCURRENCY = 8;

/** RFC 3339 to the second, as metav1.Time serialises. */
export function rfc3339Seconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** The reference an event names for an object. */
export function referenceTo(obj: KubeObject, fieldPath?: string): ObjectReference {
  const m = obj.metadata ?? {};
  const ref: ObjectReference = { kind: obj.kind, apiVersion: obj.apiVersion, name: m.name, uid: m.uid, resourceVersion: m.resourceVersion };
  if (m.namespace) ref.namespace = m.namespace;
  if (fieldPath) ref.fieldPath = fieldPath;
  return ref;
}

interface Observed {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

/** A small LRU of string → value (insertion order of a Map, refreshed on use). */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly limit: number) {}
  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value!);
  }
  delete(k: string): void {
    this.map.delete(k);
  }
}

type Write = { kind: "create"; event: CoreEvent; key: string } | { kind: "patch"; event: CoreEvent; key: string };

export class EventRecorder {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly maxQueued: number;
  private readonly similar = new Lru<{ messages: Set<string>; last: number }>(CACHE_LIMIT);
  private readonly observed = new Lru<Observed>(CACHE_LIMIT);
  private readonly buckets = new Lru<{ tokens: number; at: number }>(CACHE_LIMIT);
  private readonly queue: Write[] = [];
  /** Writer loops running (at most WRITE_CONCURRENCY), the event names being written, flush() waiters. */
  private writers = 0;
  private readonly busy = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  private lastNameMs = 0;
  private nameSeq = 0;

  constructor(private readonly opts: EventRecorderOptions) {
    this.clock = opts.clock ?? realClock;
    this.log = (opts.logger ?? silentLogger).child({ recorder: opts.component });
    this.maxQueued = opts.maxQueued ?? 1000;
  }

  /** Records an event about obj (asynchronously). */
  event(obj: KubeObject, type: EventType, reason: string, message: string, fieldPath?: string): void {
    if (this.stopped) return;
    const ref = referenceTo(obj, fieldPath);
    const now = this.clock.now();
    const source = this.opts.component + "\0" + (this.opts.host ?? "");
    // client-go's keys: the spam filter's and the aggregator's leave out fieldPath, the identical-event key has it.
    const objectId = [ref.kind, ref.namespace, ref.name, ref.uid, ref.apiVersion].join("\0");
    // Aggregation: many distinct messages with the same reason become one combined event. The
    // group lapses after 10 minutes without a similar event (client-go's aggregator).
    const aggregateKey = [source, objectId, type, reason, this.reportingController, this.reportingInstance].join("\0");
    let rec = this.similar.get(aggregateKey);
    if (!rec || now - rec.last > SIMILAR_WINDOW_MS) rec = { messages: new Set(), last: now };
    rec.messages.add(message);
    rec.last = now;
    this.similar.set(aggregateKey, rec);
    let key = [aggregateKey, ref.fieldPath ?? "", message].join("\0");
    if (rec.messages.size >= MAX_SIMILAR) {
      // Keep the set below the threshold (client-go's PopAny; here the oldest), so it stays bounded.
      rec.messages.delete(rec.messages.values().next().value!);
      key = aggregateKey;
      message = `(combined from similar events): ${message}`;
    }
    const ts = rfc3339Seconds(now);
    const namespace = ref.namespace || "default";
    const prev = this.observed.get(key);
    const event: CoreEvent = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: prev?.name ?? this.eventName(ref.name ?? "", now), namespace },
      involvedObject: ref,
      reason,
      message,
      source: { component: this.opts.component, ...(this.opts.host ? { host: this.opts.host } : {}) },
      firstTimestamp: prev?.firstTimestamp ?? ts,
      lastTimestamp: ts,
      count: (prev?.count ?? 0) + 1,
      type,
      eventTime: null,
      reportingComponent: this.reportingController,
      reportingInstance: this.reportingInstance,
    };
    this.observed.set(key, { name: event.metadata.name!, namespace, count: event.count, firstTimestamp: event.firstTimestamp });
    // The spam filter runs last, as client-go's correlator does: a dropped event is still counted above.
    if (!this.allow(source + "\0" + objectId, now)) {
      this.log.debug({ object: `${ref.namespace ?? ""}/${ref.name ?? ""}`, reason }, "event dropped by the spam filter");
      return;
    }
    this.enqueue({ kind: prev ? "patch" : "create", event, key });
  }

  /** Resolves once every queued write has been tried. */
  async flush(): Promise<void> {
    // A queued write always has a writer loop that will take it (see enqueue), so idle = done.
    if (this.writers > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  /** Stops recording; queued writes are still tried (await flush() to wait for them). */
  stop(): void {
    this.stopped = true;
  }

  private get reportingController(): string {
    return this.opts.reportingController ?? this.opts.component;
  }

  private get reportingInstance(): string {
    return this.opts.reportingInstance ?? this.opts.host ?? "";
  }

  /** client-go names events `<object>.<unix nanos in hex>`; a sequence keeps names unique within one ms. */
  private eventName(objectName: string, now: number): string {
    if (now === this.lastNameMs) this.nameSeq++;
    else {
      this.lastNameMs = now;
      this.nameSeq = 0;
    }
    const nanos = BigInt(Math.floor(now)) * 1_000_000n + BigInt(this.nameSeq);
    return `${objectName}.${nanos.toString(16)}`;
  }

  private allow(key: string, now: number): boolean {
    let b = this.buckets.get(key);
    if (!b) b = { tokens: SPAM_BURST, at: now };
    b.tokens = Math.min(SPAM_BURST, b.tokens + (now - b.at) / SPAM_REFILL_MS);
    b.at = now;
    const ok = b.tokens >= 1;
    if (ok) b.tokens -= 1;
    this.buckets.set(key, b);
    return ok;
  }

  private enqueue(w: Write): void {
    this.queue.push(w);
    if (this.queue.length > this.maxQueued) {
      const dropped = this.queue.shift()!;
      this.log.warn({ reason: dropped.event.reason }, "event queue full; dropping the oldest event");
    }
    // One more writer loop per queued write, up to the limit: events recorded one after another
    // (the usual case) are written concurrently too, not only a backlog present when writing began.
    if (this.writers < WRITE_CONCURRENCY) {
      this.writers++;
      void this.writeLoop();
    }
  }

  /**
   * Writes up to WRITE_CONCURRENCY events at once (one at a time, as client-go's broadcaster
   * does, cannot keep up with a scheduler binding hundreds of pods a second), but never two of
   * the same event: a repeat's patch must follow its create.
   */
  private async writeLoop(): Promise<void> {
    try {
      for (;;) {
        const i = this.queue.findIndex((q) => !this.busy.has(q.event.metadata.name!));
        // Nothing, or only writes of names being written: their writers take those next.
        if (i === -1) return;
        const [w] = this.queue.splice(i, 1);
        const name = w!.event.metadata.name!;
        this.busy.add(name);
        try {
          await this.write(w!);
        } finally {
          this.busy.delete(name);
        }
      }
    } finally {
      // Counted down in the same turn as the decision to stop, so enqueue never sees a stale count.
      if (--this.writers === 0) for (const r of this.idleWaiters.splice(0)) r();
    }
  }

  private async write(w: Write): Promise<void> {
    const e = w.event;
    for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
      try {
        if (w.kind === "patch") {
          try {
            await this.opts.client.patch(Resources.events, e.metadata.namespace, e.metadata.name!, "strategic", { count: e.count, lastTimestamp: e.lastTimestamp, message: e.message });
            return;
          } catch (err) {
            if (!isNotFound(err)) throw err;
            // Deleted (or expired) meanwhile: start a fresh one, as client-go does.
            w = { kind: "create", event: { ...e, count: 1, firstTimestamp: e.lastTimestamp }, key: w.key };
            this.observed.set(w.key, { name: e.metadata.name!, namespace: e.metadata.namespace!, count: 1, firstTimestamp: e.lastTimestamp });
          }
        }
        try {
          await this.opts.client.create(Resources.events, w.event);
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
        }
        return;
      } catch (err) {
        if (attempt === WRITE_ATTEMPTS) {
          this.log.warn({ reason: e.reason, object: e.involvedObject.name, err: err instanceof Error ? err.message : String(err) }, "could not write event; dropped");
          // Forget it so the next identical event starts over instead of patching a missing object.
          this.observed.delete(w.key);
          return;
        }
        await this.clock.sleep(200 * attempt).catch(() => {});
      }
    }
  }
}
