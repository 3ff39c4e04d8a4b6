/**
 * events.k8s.io/v1 Events are stored as core/v1 Events (one /registry/events/ prefix, as
 * upstream), so `kubectl get events` and `describe` see events whichever API wrote them.
 * This converts between the two shapes and wraps a Storage to do it on every read and write.
 */
import type { KubeObject, ListOptions, ListResult, Storage, Watch, WatchEvent, WatchOptions, DeleteOptions, UpdateOptions } from "../storage/index.js";

type Obj = Record<string, unknown>;

/** [events.k8s.io field, core field] */
const FIELDS: [string, string][] = [
  ["regarding", "involvedObject"],
  ["related", "related"],
  ["note", "message"],
  ["reason", "reason"],
  ["type", "type"],
  ["action", "action"],
  ["eventTime", "eventTime"],
  ["series", "series"],
  ["reportingController", "reportingComponent"],
  ["reportingInstance", "reportingInstance"],
  ["deprecatedSource", "source"],
  ["deprecatedFirstTimestamp", "firstTimestamp"],
  ["deprecatedLastTimestamp", "lastTimestamp"],
  ["deprecatedCount", "count"],
];

function move(o: KubeObject, pairs: [string, string][], apiVersion: string): KubeObject {
  const out: KubeObject = { apiVersion, kind: "Event", metadata: o.metadata };
  const known = new Set(["apiVersion", "kind", "metadata", ...pairs.map((p) => p[0])]);
  for (const [from, to] of pairs) if ((o as Obj)[from] !== undefined) (out as Obj)[to] = (o as Obj)[from];
  // Anything else (unknown to the mapping) is kept as is.
  for (const [k, v] of Object.entries(o)) if (!known.has(k) && (out as Obj)[k] === undefined) (out as Obj)[k] = v;
  return out;
}

export const eventsV1ToCore = (o: KubeObject): KubeObject => move(o, FIELDS, "v1");
export const coreToEventsV1 = (o: KubeObject): KubeObject =>
  move(
    o,
    FIELDS.map(([a, b]) => [b, a]),
    "events.k8s.io/v1",
  );

const isObject = (v: unknown): v is KubeObject => typeof v === "object" && v !== null && (v as Obj).kind !== "Status";

/** A Storage whose objects are events.k8s.io/v1 on the outside and core/v1 inside. */
export class EventsV1Storage implements Storage {
  constructor(private readonly core: Storage) {}

  private out = (o: KubeObject): KubeObject => coreToEventsV1(o);

  async create(key: string, obj: KubeObject, opts?: { dryRun?: boolean }): Promise<KubeObject> {
    return this.out(await this.core.create(key, eventsV1ToCore(obj), opts));
  }
  async get(key: string, opts?: { ignoreNotFound?: boolean; resourceVersion?: string }): Promise<KubeObject | undefined> {
    const o = await this.core.get(key, opts);
    return o ? this.out(o) : undefined;
  }
  async list(prefix: string, opts: ListOptions): Promise<ListResult> {
    const pred = opts.predicate;
    const res = await this.core.list(prefix, { ...opts, ...(pred ? { predicate: (o: KubeObject) => pred(this.out(o)) } : {}) });
    return { ...res, items: res.items.map(this.out) };
  }
  watch(keyOrPrefix: string, opts: WatchOptions): Watch {
    const pred = opts.predicate;
    const inner = this.core.watch(keyOrPrefix, { ...opts, ...(pred ? { predicate: (o: KubeObject) => pred(this.out(o)) } : {}) });
    const out = this.out;
    return {
      stop: () => inner.stop(),
      async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
        for await (const ev of inner) {
          if (ev.type === "BOOKMARK") yield { type: ev.type, object: { ...(ev.object as KubeObject), apiVersion: "events.k8s.io/v1", kind: "Event" } };
          else yield isObject(ev.object) ? { type: ev.type, object: out(ev.object) } : ev;
        }
      },
    };
  }
  async delete(key: string, opts?: DeleteOptions): Promise<KubeObject> {
    const v = opts?.validateDeletion;
    return this.out(await this.core.delete(key, { ...opts, ...(v ? { validateDeletion: (c: KubeObject) => v(this.out(c)) } : {}) }));
  }
  async guaranteedUpdate(key: string, tryUpdate: (cur: KubeObject | undefined) => KubeObject | Promise<KubeObject>, opts?: UpdateOptions): Promise<KubeObject> {
    return this.out(await this.core.guaranteedUpdate(key, async (cur) => eventsV1ToCore(await tryUpdate(cur ? this.out(cur) : undefined)), opts));
  }
  currentResourceVersion(): Promise<string> {
    return this.core.currentResourceVersion();
  }
}
