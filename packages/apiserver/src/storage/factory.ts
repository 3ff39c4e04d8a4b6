/**
 * The StorageFactory the apiserver uses: one KvBackend shared by every resource, one
 * KvStorage per resource, wrapped in a watch Cacher unless the cache is disabled, and
 * compaction of the store's history.
 */
import { type Clock, type Logger, realClock, silentLogger } from "@kubemu/common";
import { Cacher, type CacherOptions, type CacherStats } from "./cacher.js";
import type { Storage, StorageFactory } from "./interface.js";
import type { KvBackend } from "./kv.js";
import { KvStorage, type ResourceInfo } from "./kv-storage.js";

export interface KvStorageFactoryOptions {
  backend: KvBackend;
  clock?: Clock;
  logger?: Logger;
  /** Serve reads and watches through a per-resource watch cache (default true). */
  watchCache?: boolean;
  /** Options of every Cacher. */
  cacher?: CacherOptions;
  /** Revisions of history compact() keeps (default 1000). */
  compactionWindow?: number;
  /** Events buffered per store-backed watch (default 1024). */
  watchBufferEvents?: number;
  /** BOOKMARK period for store-backed watches (default 60 s). */
  bookmarkIntervalMs?: number;
}

/** What forResource accepts: the resource, and optionally its key prefix and kind (for BOOKMARKs). */
export interface ResourceSpec extends ResourceInfo {
  /** Key prefix of the resource; default `/registry/<resource>/`. */
  prefix?: string;
}

export class KvStorageFactory implements StorageFactory {
  readonly backend: KvBackend;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly opts: KvStorageFactoryOptions;
  private readonly storages = new Map<string, Storage>();
  private readonly cachers: Cacher[] = [];
  private closed = false;

  constructor(opts: KvStorageFactoryOptions) {
    this.opts = opts;
    this.backend = opts.backend;
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger ?? silentLogger;
    const w = opts.compactionWindow ?? 1000;
    if (!Number.isSafeInteger(w) || w < 0) throw new RangeError(`compactionWindow must be a non-negative integer, got ${w}`);
  }

  /** The Storage of a resource; the same instance for the same resource and prefix. */
  forResource(r: ResourceSpec): Storage {
    if (this.closed) throw new Error("storage factory is closed");
    const prefix = r.prefix ?? `/registry/${r.resource}/`;
    if (!prefix.startsWith("/") || !prefix.endsWith("/")) throw new RangeError(`resource prefix must start and end with "/", got ${prefix}`);
    const id = `${r.group ?? ""}|${r.resource}|${prefix}`;
    const existing = this.storages.get(id);
    if (existing) return existing;
    const resource: ResourceInfo = { resource: r.resource };
    if (r.group) resource.group = r.group;
    if (r.kind) resource.kind = r.kind;
    if (r.apiVersion) resource.apiVersion = r.apiVersion;
    const kv = new KvStorage({
      resource,
      backend: this.backend,
      clock: this.clock,
      ...(this.opts.watchBufferEvents ? { watchBufferEvents: this.opts.watchBufferEvents } : {}),
      ...(this.opts.bookmarkIntervalMs ? { bookmarkIntervalMs: this.opts.bookmarkIntervalMs } : {}),
    });
    let s: Storage = kv;
    if (this.opts.watchCache !== false) {
      const c = new Cacher(kv, this.backend, resource, prefix, { clock: this.clock, logger: this.log, ...this.opts.cacher });
      this.cachers.push(c);
      s = c;
    }
    this.storages.set(id, s);
    return s;
  }

  /** The state of every watch cache (for /metrics). */
  cacheStats(): CacherStats[] {
    return this.cachers.map((c) => c.stats());
  }

  /** Resolves once every cache created so far holds its resource's state. */
  async waitForCaches(timeoutMs = 10_000): Promise<void> {
    const deadline = this.clock.now() + timeoutMs;
    while (!this.cachers.every((c) => c.ready)) {
      if (this.clock.now() > deadline) throw new Error("watch caches did not become ready in time");
      await this.clock.sleep(5);
    }
  }

  /**
   * Compacts the store to (current revision − compactionWindow), as kube-apiserver's periodic
   * compactor does. Errors are thrown (the caller logs and tries again next period).
   * @returns the revision compacted to, or 0 when there was nothing to compact.
   */
  async compact(): Promise<number> {
    const window = this.opts.compactionWindow ?? 1000;
    const current = await this.backend.currentRevision();
    const target = current - window;
    if (target <= 1) return 0;
    await this.backend.compact(target);
    return target;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.cachers) c.stop();
    await this.backend.close();
  }
}

/** Compaction period per timing profile: kube-apiserver's default 5 min, and a faster one for demos. */
export const COMPACTION_INTERVAL_MS = { fast: 60_000, realistic: 300_000 } as const;

/**
 * Runs factory.compact() every intervalMs until signal aborts, like kube-apiserver's
 * compactor. A failed round is logged and retried next period (e.g. while etcd has no leader).
 */
export function startCompactor(opts: { factory: StorageFactory; intervalMs: number; clock?: Clock; logger?: Logger; signal?: AbortSignal }): { stop(): void } {
  const clock = opts.clock ?? realClock;
  const log = opts.logger ?? silentLogger;
  let running = false;
  const timer = clock.setInterval(() => {
    if (running) return;
    running = true;
    opts.factory
      .compact()
      .then((rev) => {
        if (rev > 0) log.debug({ revision: rev }, "storage compacted");
      })
      .catch((e: unknown) => log.warn({ err: e instanceof Error ? e.message : String(e) }, "storage compaction failed; retrying next period"))
      .finally(() => (running = false));
  }, opts.intervalMs);
  const stop = () => timer.cancel();
  opts.signal?.addEventListener("abort", stop, { once: true });
  return { stop };
}
