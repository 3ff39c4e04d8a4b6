/**
 * Long volume operations in the background, one at a time per name (upstream's goroutinemap with
 * exponential backoff on error): a recycle waits minutes for its pod, and the volume worker must
 * not wait with it. Asking for an operation that is running is a no-op; one that failed is not
 * started again before its backoff (500 ms, doubling up to 2 m 2 s) has passed.
 */
import type { Clock, Logger } from "@kubemu/common";

const INITIAL_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 2 * 60_000 + 2_000;

export class OperationRunner {
  private readonly running = new Map<string, Promise<void>>();
  private readonly backoff = new Map<string, { until: number; delayMs: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Starts `op` under `name` unless it is running or backing off; returns whether it started. */
  run(name: string, op: () => Promise<void>): boolean {
    if (this.running.has(name)) {
      this.logger.debug({ operation: name }, "Operation is already running, skipping");
      return false;
    }
    const b = this.backoff.get(name);
    if (b && this.clock.now() < b.until) {
      this.logger.debug({ operation: name }, "Operation postponed due to exponential backoff");
      return false;
    }
    const p = (async () => {
      try {
        await op();
        this.backoff.delete(name);
      } catch (e) {
        const delayMs = b ? Math.min(b.delayMs * 2, MAX_BACKOFF_MS) : INITIAL_BACKOFF_MS;
        this.backoff.set(name, { until: this.clock.now() + delayMs, delayMs });
        this.logger.info({ operation: name, err: e instanceof Error ? e.message : String(e), retryInMs: delayMs }, "operation failed");
      } finally {
        this.running.delete(name);
      }
    })();
    this.running.set(name, p);
    return true;
  }

  /** Resolves once every operation started so far has ended (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.running.values()]);
  }
}
