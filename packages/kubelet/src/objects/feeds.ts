/**
 * The two kinds of feed an ObjectManager uses: a watch of one object (list + watch with
 * fieldSelector metadata.name=<name> in its namespace — what the Node authorizer allows for
 * Secrets and ConfigMaps) and a poll by GET (PersistentVolumeClaims and PersistentVolumes, which
 * the Node authorizer lets a node only get, as upstream's volume manager reads them).
 */
import type { ApiClient, Clock, KubeObject, Logger, ResourceRef, Rng } from "@kubemu/common";
import { isNotFound, listerWatcherFor, SharedInformer, stripManagedFields } from "@kubemu/common";
import type { FeedFactory, ObjectFeed } from "./object-manager.js";

export interface FeedOptions {
  clock: Clock;
  rng: Rng;
  logger: Logger;
}

/**
 * A watch of one object. Failures (a 403 before the API server's graph knows the pod) back off to
 * at most 5 s. An object marked `immutable: true` cannot change again, so its watch stops and the
 * last state is kept (upstream's manager does the same).
 */
export function watchFeed<T extends KubeObject>(client: ApiClient, r: ResourceRef, o: FeedOptions): FeedFactory<T> {
  return (namespace, name, changed) => {
    const informer = new SharedInformer<T>({
      name: `${r.resource} ${namespace ?? ""}/${name}`,
      listerWatcher: listerWatcherFor<T>(client, r, { ...(namespace ? { namespace } : {}), fieldSelector: `metadata.name=${name}` }),
      transform: stripManagedFields,
      clock: o.clock,
      rng: o.rng.fork(),
      logger: o.logger,
      backoffInitialMs: 200,
      backoffMaxMs: 5_000,
    });
    const stopping = new AbortController();
    let frozen: T | undefined;
    const seen = (obj: T) => {
      if ((obj as { immutable?: unknown }).immutable === true) {
        frozen = obj;
        stopping.abort();
      }
      changed(obj);
    };
    informer.addEventHandler({
      onAdd: (obj) => seen(obj),
      onUpdate: (old, obj) => {
        if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) seen(obj);
      },
      onDelete: () => changed(undefined),
    });
    void informer.run(stopping.signal);
    return {
      current: () => frozen ?? informer.lister.get(namespace, name),
      synced: () => informer.hasSynced(),
      waitForSync: (signal) => informer.waitForSync(AbortSignal.any([signal, stopping.signal])),
      stop: () => stopping.abort(),
    };
  };
}

/** A GET of one object every intervalMs (and at once); a failed GET keeps the last state and retries sooner. */
export function pollFeed<T extends KubeObject>(client: ApiClient, r: ResourceRef, intervalMs: number, o: FeedOptions): FeedFactory<T> {
  return (namespace, name, changed) => {
    const stopping = new AbortController();
    let obj: T | undefined;
    let synced = false;
    const waiters: (() => void)[] = [];
    const log = o.logger.child({ [r.resource]: namespace ? `${namespace}/${name}` : name });
    const answer = (next: T | undefined) => {
      const was = obj;
      obj = next;
      const first = !synced;
      synced = true;
      if (first) for (const w of waiters.splice(0)) w();
      if (first ? next !== undefined : was?.metadata.resourceVersion !== next?.metadata.resourceVersion) changed(next);
    };
    void (async () => {
      let failures = 0;
      while (!stopping.signal.aborted) {
        try {
          answer(stripManagedFields(await client.get<T>(r, namespace, name, { signal: stopping.signal })));
          failures = 0;
        } catch (e) {
          if (stopping.signal.aborted) return;
          if (isNotFound(e)) answer(undefined);
          else {
            failures++;
            log.warn({ err: e instanceof Error ? e.message : String(e) }, "get failed");
          }
        }
        const wait = failures > 0 ? Math.min(intervalMs, 200 * 2 ** failures) * (0.5 + o.rng.float() * 0.5) : intervalMs;
        await o.clock.sleep(wait, stopping.signal).catch(() => undefined);
      }
    })();
    const feed: ObjectFeed<T> = {
      current: () => obj,
      synced: () => synced,
      waitForSync: (signal) =>
        synced
          ? Promise.resolve(true)
          : new Promise<boolean>((resolve) => {
              const s = AbortSignal.any([signal, stopping.signal]);
              if (s.aborted) return resolve(false);
              s.addEventListener("abort", () => resolve(false), { once: true });
              waiters.push(() => resolve(true));
            }),
      stop: () => stopping.abort(),
    };
    return feed;
  };
}
