/**
 * Retrying a write that lost an optimistic-concurrency race (client-go's retry.RetryOnConflict):
 * fn runs again, after a short backoff, only while it fails with 409 Conflict; any other error,
 * or the last conflict once the steps are used up, is thrown.
 */
import type { Clock } from "@kubemu/common";
import { isConflict } from "@kubemu/common";

/** client-go's wait.Backoff, without jitter (a few milliseconds of spread buys nothing here). */
export interface Backoff {
  /** Attempts in all. */
  steps: number;
  /** Wait before the second attempt. */
  durationMs: number;
  /** Multiplier for each later wait. */
  factor: number;
}

/** retry.DefaultRetry: status and spec writes of controllers (5 tries, 10 ms apart). */
export const DEFAULT_RETRY: Backoff = { steps: 5, durationMs: 10, factor: 1 };

/** retry.DefaultBackoff: 4 tries, 10 ms growing fivefold. */
export const DEFAULT_BACKOFF: Backoff = { steps: 4, durationMs: 10, factor: 5 };

export async function retryOnConflict<T>(clock: Clock, backoff: Backoff, fn: () => Promise<T>): Promise<T> {
  let wait = backoff.durationMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isConflict(e) || attempt >= backoff.steps) throw e;
    }
    await clock.sleep(wait);
    wait *= backoff.factor;
  }
}
