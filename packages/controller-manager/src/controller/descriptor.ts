/**
 * The descriptor shape most controllers share: name it, say which informers it reads, and build
 * its QueueController over them — this file does the rest (the informers are created once for
 * the standby's warm caches and again, the same shared ones, when the controller runs; the run
 * is runQueueController's loop).
 */
import type { RateLimiter, WorkQueue } from "@kubemu/common";
import type { ControllerContext, ControllerDescriptor } from "./context.js";
import { idleUntilAborted } from "./idle.js";
import { runQueueController, type QueueController } from "./run.js";

export interface QueueControllerSpec<I> {
  /** Upstream's name ("deployment-controller"). */
  name: string;
  /** Older names `--controllers` also accepts ("deployment"). */
  aliases: readonly string[];
  disabledByDefault?: boolean;
  /** Creates and returns every informer the controller reads (from ctx.informers, so they are shared). */
  informers(ctx: ControllerContext): I;
  /**
   * The controller over those informers. Undefined: it cannot run here (it has logged why, as
   * upstream's "Controller is disabled because…") and holds until the term ends.
   */
  controller(ctx: ControllerContext, informers: I): QueueController | undefined;
}

export function queueControllerDescriptor<I>(spec: QueueControllerSpec<I>): ControllerDescriptor {
  return {
    name: spec.name,
    aliases: spec.aliases,
    ...(spec.disabledByDefault ? { disabledByDefault: true } : {}),
    informers: (ctx) => void spec.informers(ctx),
    run(ctx, signal) {
      const controller = spec.controller(ctx, spec.informers(ctx));
      return controller ? runQueueController(ctx, controller, signal) : idleUntilAborted(signal);
    },
  };
}

/** What a controller that needs its queue (to requeue keys later) builds once the queue exists. */
export interface QueueWork {
  reconcile(key: string): Promise<void>;
  /** The event handlers it added; removed when the run ends. */
  handlers: { remove(): void }[];
  /** Extra work while running (periodic scans); must stop on the signal. */
  background?(signal: AbortSignal): Promise<void>;
}

/**
 * A QueueController whose parts are made by `start(queue)`, called once the caches have synced
 * and the queue exists (before any worker takes a key).
 */
export function withQueue(settings: { name: string; workers: number; rateLimiter?: RateLimiter<string> }, start: (queue: WorkQueue<string>) => QueueWork): QueueController {
  let work: QueueWork | undefined;
  const started = () => {
    if (!work) throw new Error(`controller ${settings.name}: used before its queue was registered`);
    return work;
  };
  return {
    name: settings.name,
    workers: settings.workers,
    ...(settings.rateLimiter ? { rateLimiter: settings.rateLimiter } : {}),
    register(queue) {
      work = start(queue);
      return work.handlers;
    },
    reconcile: async (key) => started().reconcile(key),
    background: async (_queue, signal) => started().background?.(signal),
  };
}
