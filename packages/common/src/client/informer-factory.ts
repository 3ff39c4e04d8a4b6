/**
 * One informer per resource (and namespace/selector), shared by every controller of a process:
 * one list and one watch however many handlers read it (client-go's SharedInformerFactory).
 * Build everything, then start() once, then waitForCacheSync().
 */
import type { Logger } from "pino";
import type { KubeObject } from "../api/object.js";
import type { Clock } from "../clock.js";
import { silentLogger } from "../logger.js";
import type { Rng } from "../rng.js";
import type { ApiClient } from "./api-client.js";
import { standardIndexers, type IndexFunc } from "./indexer.js";
import { SharedInformer, type ListerWatcher } from "./informer.js";
import { qualifiedName, type ResourceRef } from "./resources.js";

export interface InformerScope {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** A list + watch of one resource through an ApiClient. */
export function listerWatcherFor<T extends KubeObject>(client: ApiClient, r: ResourceRef, scope: InformerScope = {}, pageSize = 500): ListerWatcher<T> {
  return {
    list: ({ resourceVersion }) => client.listAll<T>(r, { ...scope, pageSize, ...(resourceVersion ? { resourceVersion } : {}) }),
    watch: ({ resourceVersion, signal }) => client.watch<T>(r, { ...scope, resourceVersion, allowBookmarks: true, signal }),
  };
}

/** Drops metadata.managedFields: nothing in a component reads it, and it is most of an object's bytes. */
export function stripManagedFields<T extends KubeObject>(obj: T): T {
  if (obj.metadata?.managedFields === undefined) return obj;
  const { managedFields: _mf, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

export interface InformerFactoryOptions {
  /** Resync period of every informer (0 = none, the default). */
  defaultResyncMs?: number;
  clock?: Clock;
  rng?: Rng;
  logger?: Logger;
  /** Deep-freeze cached objects (tests). */
  freeze?: boolean;
}

export class InformerFactory {
  private readonly informers = new Map<string, SharedInformer<any>>();
  private readonly running = new Map<string, Promise<void>>();
  private signal: AbortSignal | undefined;
  private readonly log: Logger;

  constructor(
    readonly client: ApiClient,
    private readonly opts: InformerFactoryOptions = {},
  ) {
    this.log = opts.logger ?? silentLogger;
  }

  /** The shared informer of a resource (made on first use), with the standard indexes. */
  informerFor<T extends KubeObject = KubeObject>(r: ResourceRef, scope: InformerScope = {}, extraIndexers: Record<string, IndexFunc<T>> = {}): SharedInformer<T> {
    const id = `${qualifiedName(r)}|${scope.namespace ?? ""}|${scope.labelSelector ?? ""}|${scope.fieldSelector ?? ""}`;
    let inf = this.informers.get(id) as SharedInformer<T> | undefined;
    if (!inf) {
      inf = new SharedInformer<T>({
        name: qualifiedName(r),
        listerWatcher: listerWatcherFor<T>(this.client, r, scope),
        indexers: standardIndexers as Record<string, IndexFunc<T>>,
        transform: stripManagedFields,
        ...(this.opts.defaultResyncMs ? { resyncMs: this.opts.defaultResyncMs } : {}),
        ...(this.opts.clock ? { clock: this.opts.clock } : {}),
        ...(this.opts.rng ? { rng: this.opts.rng.fork() } : {}),
        ...(this.opts.freeze ? { freeze: true } : {}),
        logger: this.log,
      });
      this.informers.set(id, inf);
      // Informers asked for after start() start at once.
      if (this.signal) this.running.set(id, inf.run(this.signal));
    }
    if (Object.keys(extraIndexers).length > 0) inf.addIndexers(extraIndexers);
    return inf;
  }

  /** Starts every informer made so far (and any made later) until the signal aborts. */
  start(signal: AbortSignal): void {
    this.signal = signal;
    for (const [id, inf] of this.informers) if (!this.running.has(id)) this.running.set(id, inf.run(signal));
  }

  /** Resolves true once every informer has synced; false if the signal aborted first. */
  async waitForCacheSync(signal?: AbortSignal): Promise<boolean> {
    const results = await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
    return results.every(Boolean);
  }

  /** Resolves once every started informer has stopped (abort the start signal first). */
  async stopped(): Promise<void> {
    await Promise.all(this.running.values());
  }

  /** Whether every informer has synced. */
  hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }
}
