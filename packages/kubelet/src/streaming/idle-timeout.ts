/**
 * Upstream's --streaming-connection-idle-timeout (default 4h, 0 = none): an exec, attach or
 * port-forward connection on which nothing is read or written for that long is closed (spdystream
 * and wsstream move a deadline on every frame either way). A stalled client counts as idle too:
 * while its transport is full the kubelet stops reading the container's output, so nothing is
 * written and the deadline passes, as a Go write blocked past its deadline fails.
 *
 * `touch()` is only an assignment (it runs for every frame of a fast port-forward); the one timer
 * checks, when it fires, whether the connection has been idle the whole time and otherwise waits
 * for the rest.
 */
import type { Clock, Timer } from "@kubemu/common";

export interface IdleTimeoutOptions {
  /** Milliseconds without traffic before the connection is closed; 0 = never. */
  timeoutMs: number;
  clock: Clock;
}

export class IdleTimeout {
  private last: number;
  private timer: Timer | undefined;

  constructor(
    private readonly o: IdleTimeoutOptions,
    private readonly onIdle: () => void,
  ) {
    this.last = o.clock.monotonic();
    if (o.timeoutMs > 0) this.arm(o.timeoutMs);
  }

  /** Traffic happened now. */
  touch(): void {
    this.last = this.o.clock.monotonic();
  }

  /** The connection ended: no more checks. */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = this.o.clock.setTimeout(() => {
      const idleFor = this.o.clock.monotonic() - this.last;
      if (idleFor >= this.o.timeoutMs) {
        this.timer = undefined;
        this.onIdle();
      } else this.arm(this.o.timeoutMs - idleFor);
    }, ms);
  }
}
