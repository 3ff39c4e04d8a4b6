/** Periodic work of a controller (apimachinery's wait.UntilWithContext): run, wait the period, again, until aborted. */
import type { Clock, Logger } from "@kubemu/common";

/** Runs fn, then waits periodMs after it returns, until the signal aborts; a throwing fn is logged with `what` and the loop goes on. */
export async function every(clock: Clock, log: Logger, periodMs: number, signal: AbortSignal, what: string, fn: () => Promise<void>): Promise<void> {
  while (!signal.aborted) {
    try {
      await fn();
    } catch (e) {
      log.error({ err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, what);
    }
    await clock.sleep(periodMs, signal).catch(() => undefined);
  }
}
